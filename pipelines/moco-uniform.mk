# MoCo v2 with plain NCE negatives: every queue entry enters the denominator.
OBJECTIVE = moco
SAMPLER   = uniform
EPOCHS    = 50
