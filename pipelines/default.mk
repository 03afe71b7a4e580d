# The default job (`make`): SimCLR — ShuffleBN over 8 split-BN groups, uniform in-batch negatives
# (the other 2B−2 views), τ 0.2, SimCLR augmentation — with batch 128 and lr 0.12 on all 60 000
# training images for 3 epochs (1 404 steps), sized for the 15-minute budget on 2 cores. Why this
# recipe, and the rows it was chosen from: docs/learning.md and RESULTS.md ("The budget study").
OBJECTIVE = simclr
SAMPLER   = uniform
RECIPE    = simclr
TAU       = 0.2
BATCH     = 128
LR        = 0.12
EPOCHS    = 3
PRETRAIN_IMAGES = 0   # all 60 000 training images
