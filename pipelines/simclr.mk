# SimCLR: in-batch negatives (2B−2 per view), SimCLR augmentation.
OBJECTIVE = simclr
SAMPLER   = uniform
RECIPE    = simclr
TAU       = 0.2
EPOCHS    = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
