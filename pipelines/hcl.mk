# Hard negative reweighting with debiasing (Robinson et al. 2021): β = 1, τ⁺ = 0.1.
OBJECTIVE     = moco
SAMPLER       = hcl
SAMPLER_EXTRA = --hcl-beta 1 --tau-plus 0.1
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
