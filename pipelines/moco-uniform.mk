# MoCo v2 with plain NCE negatives: every queue entry enters the denominator.
OBJECTIVE = moco
SAMPLER   = uniform
EPOCHS    = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
