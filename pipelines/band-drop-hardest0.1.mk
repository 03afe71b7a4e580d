# Cai et al. band: all but the hardest 0.1 % ([0.1, 100) %).
OBJECTIVE     = moco
SAMPLER       = band
SAMPLER_EXTRA = --band-lo 0.1 --band-hi 100
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
