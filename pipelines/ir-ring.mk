# IR + Ring: k−1 negatives drawn with replacement from each query's ring of the bank, annealed.
OBJECTIVE     = ir
SAMPLER       = ring
TAU           = 0.07
EPOCHS        = 50
ANNEAL_EPOCHS = 25
PRETRAIN_IMAGES = 0   # all 60 000 training images
