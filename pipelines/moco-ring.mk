# MoCo v2 + Ring (CNCE): ranks [inner·outer·K, outer·K) of each query's queue,
# outer annealed linearly from 1.0 to 0.1 over the first half of training (Wu et al. 2021;
# ANNEAL_EPOCHS defaults to half of EPOCHS).
OBJECTIVE     = moco
SAMPLER       = ring
RING_OUTER    = 0.1
RING_INNER    = 0.1
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
