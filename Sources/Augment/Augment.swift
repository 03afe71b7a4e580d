// Augment: see README "Architecture".
