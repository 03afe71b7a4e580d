# Subset control for the hardest band: MoCo v2 with a uniformly random 5 % of the queue (as many as
# band-hardest5 keeps) — band-hardest5 − subset-hardest5 separates "harder" from "fewer".
OBJECTIVE     = moco
SAMPLER       = subset
SAMPLER_EXTRA = --subset-of band --band-lo 0 --band-hi 5
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
