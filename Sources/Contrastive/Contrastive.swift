// Contrastive: see README "Architecture".
