# MoCHi (Kalantidis et al. 2020): 16 + 16 synthetic hard negatives from the 1024 hardest, from epoch 1 on.
OBJECTIVE     = moco
SAMPLER       = mochi
SAMPLER_EXTRA = --mochi-n 1024 --mochi-s 16 --mochi-s-prime 16
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
