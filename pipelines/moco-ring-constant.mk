# MoCo v2 + Ring without annealing: the narrow ring from the first step (the paper reports this can hurt).
OBJECTIVE      = moco
SAMPLER        = ring
RING_OUTER     = 0.1
RING_INNER     = 0.1
EPOCHS         = 50
SAMPLER_EXTRA  = --no-anneal
PRETRAIN_IMAGES = 0   # all 60 000 training images
