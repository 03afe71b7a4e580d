# IR + Ring: k−1 negatives drawn with replacement from each query's ring of the bank, annealed.
# (outer anneals over the first half of EPOCHS: ANNEAL_EPOCHS defaults to half of EPOCHS)
OBJECTIVE     = ir
SAMPLER       = ring
TAU           = 0.07
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
