# Cai et al. band: the next-hardest 5 % ([5, 10) %).
OBJECTIVE     = moco
SAMPLER       = band
SAMPLER_EXTRA = --band-lo 5 --band-hi 10
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
