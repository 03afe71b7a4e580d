# Instance discrimination with a memory bank (Wu 2018): k = 4096 negatives drawn uniformly from the bank.
OBJECTIVE = ir
SAMPLER   = uniform
TAU       = 0.07
EPOCHS    = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
