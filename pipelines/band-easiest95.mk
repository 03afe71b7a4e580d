# Cai et al. band: the easiest 95 % ([5, 100) %), i.e. everything but the hardest 5 %.
OBJECTIVE     = moco
SAMPLER       = band
SAMPLER_EXTRA = --band-lo 5 --band-hi 100
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
