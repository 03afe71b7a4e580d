# Cai et al. band: only the hardest 5 % of the queue ([0, 5) % by similarity rank).
OBJECTIVE     = moco
SAMPLER       = band
SAMPLER_EXTRA = --band-lo 0 --band-hi 5
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
