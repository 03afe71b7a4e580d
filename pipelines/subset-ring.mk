# Subset control for the Ring: MoCo v2 with a uniformly random subset of the queue exactly as large as
# moco-ring's ring at every step (ranks [1 %, 10 %) of K at the end, annealed from all of it) — the same
# number of negatives with no preference for hardness, so moco-ring − subset-ring isolates "harder".
OBJECTIVE     = moco
SAMPLER       = subset
SAMPLER_EXTRA = --subset-of ring
RING_OUTER    = 0.1
RING_INNER    = 0.1
EPOCHS        = 50
PRETRAIN_IMAGES = 0   # all 60 000 training images
