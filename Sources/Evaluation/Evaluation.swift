// Evaluation: see README "Architecture".
