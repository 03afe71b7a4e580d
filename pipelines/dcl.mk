# Debiased contrastive loss (Chuang et al. 2020): τ⁺ = 0.1.
OBJECTIVE     = moco
SAMPLER       = dcl
SAMPLER_EXTRA = --tau-plus 0.1
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
