# The pipeline's diagram: ingest → augment → pretrain → embed → probe/knn → hardness → report.
# Every target is a file; each depends on its inputs, its binary and its parameters (a params/*.args
# file rewritten only when the values change). Override any variable on the command line
# (`make EPOCHS=8`) or pick an experiment (`make EXP=moco-uniform` reads pipelines/moco-uniform.mk).
.DELETE_ON_ERROR:
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-builtin-rules

EXP ?= default
ifneq ($(wildcard pipelines/$(EXP).mk),)
include pipelines/$(EXP).mk
else ifneq ($(EXP),default)
$(error no experiment 'pipelines/$(EXP).mk' (have: $(basename $(notdir $(wildcard pipelines/*.mk)))))
endif

# ---- the data: a training and a test split, shared by every run and baseline of one DATASET -------
# TRAIN_FORMAT / TEST_FORMAT say how to read TRAIN_SOURCE / TEST_SOURCE:
#   idx        MNIST-style IDX images (raw or .gz), labels in TRAIN_LABELS / TEST_LABELS (default: Fashion-MNIST)
#   cifar      CIFAR binary batches (a list of files); CIFAR_KIND = cifar10 | cifar100
#   folder     an ImageFolder tree (one sub-folder per class, JPEGs); IMAGE_SIZE = S scales the shorter
#              side to S and crops the centre S×S (empty: every image must already share one size);
#              COLOR = rgb | gray
#   unlabeled  a flat folder of JPEGs (labels −1: for PRETRAIN_SOURCE only — probe and kNN need labels)
#   dataset    an existing .safetensors.zst dataset, used where it is: make never writes it
# Ingested splits go to data/DATASET (DATA), a folder make owns: it refuses to write over datasets it did
# not make. PRETRAIN_SOURCE (format PRETRAIN_FORMAT, labels PRETRAIN_LABELS for idx) pretrains on other
# images than the training split, e.g. an unlabeled folder. HIERARCHY: the classes' tree for the hardness analysis (empty: none).
FASHION  ?= /usr/share/datasets/fashion-mnist
DATASET  ?= fashion-mnist
DATA     ?= data/$(DATASET)
TRAIN_FORMAT ?= idx
TEST_FORMAT  ?= $(TRAIN_FORMAT)
TRAIN_SOURCE ?= $(FASHION)/train-images-idx3-ubyte.gz
TRAIN_LABELS ?= $(FASHION)/train-labels-idx1-ubyte.gz
TEST_SOURCE  ?= $(FASHION)/t10k-images-idx3-ubyte.gz
TEST_LABELS  ?= $(FASHION)/t10k-labels-idx1-ubyte.gz
CIFAR_KIND   ?= cifar10
IMAGE_SIZE   ?=
COLOR        ?= rgb
PRETRAIN_SOURCE ?=
PRETRAIN_FORMAT ?=
PRETRAIN_LABELS ?=
HIERARCHY ?= $(if $(filter fashion-mnist,$(DATASET)),resources/hierarchy/fashion-mnist.json)
FORMATS := idx cifar folder unlabeled dataset
$(foreach v,TRAIN_FORMAT TEST_FORMAT,$(if $(filter $($(v)),$(FORMATS)),,$(error $(v)=$($(v)) is not a format (one of: $(FORMATS)))))
$(foreach v,TRAIN_FORMAT TEST_FORMAT,$(if $(filter unlabeled,$($(v))),$(error $(v)=unlabeled: probe and kNN need labelled splits; pretrain on unlabeled images with PRETRAIN_SOURCE=DIR PRETRAIN_FORMAT=unlabeled)))
ifneq ($(strip $(PRETRAIN_SOURCE)),)
$(if $(filter $(PRETRAIN_FORMAT),$(FORMATS)),,$(error PRETRAIN_SOURCE needs PRETRAIN_FORMAT (one of: $(FORMATS))))
$(if $(and $(filter idx,$(PRETRAIN_FORMAT)),$(if $(strip $(PRETRAIN_LABELS)),,x)),$(error PRETRAIN_FORMAT=idx needs PRETRAIN_LABELS (the IDX label file)))
endif
# Own data must be named, and none of Fashion-MNIST's files may stay in it unnoticed.
ifeq ($(filter $(FASHION)/%,$(TRAIN_SOURCE)),)
ifeq ($(DATASET),fashion-mnist)
$(error TRAIN_SOURCE is not Fashion-MNIST: name the data with DATASET=NAME (its splits go to data/NAME))
endif
$(foreach v,$(if $(filter idx,$(TRAIN_FORMAT)),TRAIN_LABELS) TEST_SOURCE $(if $(filter idx,$(TEST_FORMAT)),TEST_LABELS),$(if $(filter $(FASHION)/%,$($(v))),$(error TRAIN_SOURCE is your own but $(v) is still Fashion-MNIST's ($($(v))): set $(v) too)))
endif
# Runs live under RUNS (e.g. `make experiments RUNS=runs/short EPOCHS=3` keeps a shorter study apart).
RUNS     ?= runs
BASE     ?= runs/baselines$(if $(filter-out fashion-mnist,$(DATASET)),/$(DATASET))
# PREBUILT=DIR runs stage binaries built elsewhere (the test suite's own build): nothing is built or installed.
PREBUILT ?=
BIN      ?= $(or $(PREBUILT),.build/release)
DEPS     := $(if $(PREBUILT),,.deps.stamp)
THREADS  ?= $(shell nproc)
SEED     ?= 0
# The datasets, baselines and CNCE study (under BASE) use DATA_SEED: runs of several seeds share them.
DATA_SEED ?= 0
export NS_THREADS := $(THREADS)
# OpenBLAS kernel: auto = the best this CPU supports; or a name such as Haswell / SkylakeX.
BLAS_CORE ?= auto
export NS_BLAS_CORE := $(BLAS_CORE)
# Scale-out (docs/scale.md). RANKS=N pretrains data-parallel with N MPI processes sharing THREADS
# (THREADS/RANKS threads each; results equal one process's within rounding, not bit for bit); MPIRUN is
# its launcher, in LAUNCH's place (e.g. MPIRUN="srun -n $(RANKS) --mpi=pmix -K" under Slurm). LAUNCH
# prefixes every compute stage (e.g. LAUNCH="srun -n 1 -c 2 --exclusive": each stage a Slurm job step).
RANKS    ?= 1
LAUNCH   ?=
# require_count(VAR, what it counts): VAR must be a whole number ≥ 1, else make stops naming it.
require_count = $(if $(shell echo '$($(1))' | grep -qxE '[1-9][0-9]*' && echo ok),,$(error $(1)=$($(1)): $(2), a whole number ≥ 1))
$(call require_count,RANKS,the number of MPI processes)
MPIRUN   ?= mpirun -np $(RANKS) --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none$(if $(filter 0,$(shell id -u)), --allow-run-as-root)
RANK_THREADS = $(shell t=$$(( $(THREADS) / $(RANKS) )); echo $$(( t > 0 ? t : 1 )))
PRETRAIN_LAUNCH = $(if $(filter-out 1,$(RANKS)),$(MPIRUN),$(LAUNCH))

# ---- parameters: the base every experiment starts from (MoCo v2 + annealed Ring); the default job's
# own settings (SimCLR, sized for ~15 minutes on 2 cores) are in pipelines/default.mk ---------------
INGEST_LIMIT  ?= 0
# Pretrain on the first N training images (0 = all of them); embed/probe/kNN always use the full splits.
PRETRAIN_IMAGES ?= 30000
PRETRAIN_N := $(strip $(PRETRAIN_IMAGES))
KNN_MONITOR_LIMIT ?= 10000
# A training-log row every LOG_EVERY steps (the report's loss and learning-rate curves) besides each epoch's.
LOG_EVERY ?= 50
AUGMENT       ?= $(BIN)/augment
RECIPE        ?= mocov2
AUGMENT_EXTRA ?=
KEEP_VIEWS    ?=
# Checkpoints kept: the last and every KEEP_CHECKPOINTS-th epoch's (1 keeps all); the others are deleted
# once the next epoch's exists (a 50-epoch run keeps 5 × 10 MB — epochs 10, 20, …, 50 — instead of 50).
KEEP_CHECKPOINTS ?= 10
$(call require_count,KEEP_CHECKPOINTS,every how many epochs a checkpoint is kept (1 keeps every checkpoint))
EPOCHS        ?= 4
OBJECTIVE     ?= moco
SAMPLER       ?= ring
WIDTH         ?= 16
BATCH         ?= 256
LR            ?= 0.06
WD            ?= 5e-4
SCHEDULE      ?= cosine
TAU           ?= 0.1
QUEUE         ?= 4096
KEY_MOMENTUM  ?= 0.99
RING_OUTER    ?= 0.1
RING_INNER    ?= 0.1
# Ring anneal epochs: empty = pretrain's own default, half of EPOCHS (the one place that default lives).
ANNEAL_EPOCHS ?=
SAMPLER_EXTRA ?=
PRETRAIN_EXTRA ?=
KNN_K         ?= 200
KNN_TAU       ?= 0.1
PROBE_EXTRA   ?=
$(if $(shell [ $$(( $(BATCH) % $(RANKS) )) -eq 0 ] 2>/dev/null && echo ok),,$(error RANKS=$(RANKS) does not divide BATCH=$(BATCH): every rank trains on an equal share of the batch))

# The stages' arguments; the ones that take the seed are functions of it (the run folder's hash leaves it out).
folder_args    = $(if $(IMAGE_SIZE),--size $(IMAGE_SIZE)) --color $(COLOR)
ingest_idx       = idx --images $(1) --labels $(2)
ingest_cifar     = cifar --kind $(CIFAR_KIND) $(1)
ingest_folder    = folder $(1) $(folder_args)
ingest_unlabeled = folder --unlabeled $(1) $(folder_args)
INGEST_ARGS = --seed $(DATA_SEED) --limit $(INGEST_LIMIT)
INGEST_TRAIN = $(call ingest_$(TRAIN_FORMAT),$(TRAIN_SOURCE),$(TRAIN_LABELS)) $(INGEST_ARGS)
INGEST_TEST  = $(call ingest_$(TEST_FORMAT),$(TEST_SOURCE),$(TEST_LABELS)) $(INGEST_ARGS)
INGEST_PRETRAIN = $(call ingest_$(PRETRAIN_FORMAT),$(PRETRAIN_SOURCE),$(PRETRAIN_LABELS)) --seed $(DATA_SEED) --limit $(PRETRAIN_N)
augment_args  = --recipe $(RECIPE) --seed $(1) $(AUGMENT_EXTRA)
pretrain_args = --seed $(1) --objective $(OBJECTIVE) --sampler $(SAMPLER) --width $(WIDTH) --batch $(BATCH) \
  --lr $(LR) --wd $(WD) --schedule $(SCHEDULE) --tau $(TAU) --queue $(QUEUE) --key-momentum $(KEY_MOMENTUM) \
  --ring-outer $(RING_OUTER) --ring-inner $(RING_INNER) $(if $(strip $(ANNEAL_EPOCHS)),--anneal-epochs $(ANNEAL_EPOCHS)) --epochs $(EPOCHS) \
  --log-every $(LOG_EVERY) $(SAMPLER_EXTRA) $(PRETRAIN_EXTRA)
AUGMENT_ARGS  = $(call augment_args,$(SEED))
PRETRAIN_ARGS = $(call pretrain_args,$(SEED))

SOURCES := Package.swift $(shell find Sources -name '*.swift' -o -name '*.h' -o -name '*.modulemap' 2>/dev/null)
STAGES  := ingest inspect augment pretrain embed probe knn hardness report bench
EPOCH_IDS := $(shell seq -f '%03g' 1 $(EPOCHS))
LAST      := $(lastword $(EPOCH_IDS))
# A split in the `dataset` format is the user's own file; the others are ingested into DATA.
split_file = $(if $(filter dataset,$(1)),$(2),$(DATA)/$(3).safetensors.zst)
TRAIN     := $(call split_file,$(TRAIN_FORMAT),$(TRAIN_SOURCE),train)
TEST      := $(call split_file,$(TEST_FORMAT),$(TEST_SOURCE),test)
ifeq ($(strip $(PRETRAIN_SOURCE)),)
PRETRAIN_SET := $(if $(filter 0,$(PRETRAIN_N)),$(TRAIN),$(DATA)/train-first$(PRETRAIN_N).safetensors.zst)
else ifeq ($(PRETRAIN_FORMAT)$(PRETRAIN_N),dataset0)
PRETRAIN_SET := $(PRETRAIN_SOURCE)
else
PRETRAIN_SET := $(DATA)/pretrain-first$(PRETRAIN_N).safetensors.zst
endif

# ---- the run folder: one per setting --------------------------------------------------------------
# A run is named after its experiment and a short hash of what it trains with (data, augmentation,
# pretraining; not the seed), then the seed: runs/moco-ring-3fa91c2e, runs/moco-ring-3fa91c2e-seed1.
# runs/moco-ring (-seed1) links to the latest of them, and runs/latest to the latest run of all. A changed training setting trains in a new folder
# (nothing is replaced); a changed evaluation setting (KNN_K, PROBE_EXTRA, …) re-evaluates the run in
# place. RUN=DIR names the folder yourself (no hash, no link).
SEED_SUFFIX = $(if $(filter-out 0,$(SEED)),-seed$(SEED))
AUGMENT_NAME = $(if $(filter $(BIN)/augment,$(AUGMENT)),augment,$(AUGMENT))
RUN_SETTINGS = $(TRAIN) $(TEST) $(PRETRAIN_SET) $(INGEST_TRAIN) $(INGEST_TEST) $(if $(PRETRAIN_SOURCE),$(INGEST_PRETRAIN)) \
  $(AUGMENT_NAME) $(call augment_args,S) $(call pretrain_args,S) --knn-limit $(KNN_MONITOR_LIMIT)
RUN_HASH := $(shell printf '%s' '$(strip $(RUN_SETTINGS))' | sha256sum | cut -c1-8)
RUN_LINK := $(RUNS)/$(EXP)$(SEED_SUFFIX)
RUN      ?= $(RUNS)/$(EXP)-$(RUN_HASH)$(SEED_SUFFIX)
# link_run: point RUN_LINK at this run (only for the hashed folders, and never over a real folder).
link_run = $(if $(filter file,$(origin RUN)),@for l in $(RUN_LINK) $(RUNS)/latest; do if [ -L $$l ] || [ ! -e $$l ]; then ln -sfn $(notdir $(RUN)) $$l; fi; done)
CKPT      := $(RUN)/ckpt/epoch-$(LAST).safetensors.zst

.PHONY: all deps build test bench fuzz calibrate clean distclean ingest augment pretrain embed probe knn evaluate hardness report baselines experiments shared print-experiments results study tta FORCE
all: $(RUN)/report/index.html
	@awk '/^## Results/{p=1; print; next} /^## /{p=0} p' $(RUN)/report/summary.md
	@awk -F' *[|] *' '/^[|] run [|]/{t=1; next} t && /^[|]---/{next} t && /^[|]/{ if (!r) { r=$$2; k=$$3; p=$$6 } \
	  else if ($$3+0 > k+0 || $$6+0 > p+0) printf "make: note: %s is below the %s baseline (kNN backbone top-1 %s vs %s, probe top-1 %s vs %s)\n", r, $$2, k, $$3, p, $$6; next } \
	  t {exit}' $(RUN)/report/summary.md
	@echo "make: done in $$(( $$(date +%s) - $(START) )) s"
	@echo "report: $(RUN)/report/index.html"

# ---- set-up -------------------------------------------------------------------------------------
deps: .deps.stamp
.deps.stamp: scripts/deps.sh
	bash scripts/deps.sh
	@touch $@

ifeq ($(PREBUILT),)
build: $(BIN)/.built
$(BIN)/.built: $(SOURCES) | .deps.stamp
	swift build -c release
	bash scripts/build_info.sh > $(BIN)/build-info
	@touch $@
$(addprefix $(BIN)/,$(STAGES)): $(BIN)/.built
endif

# progress(k, stage[, epoch]): make's "[k/8] stage" line before each stage (scripts/progress.sh; with the
# epoch, the time left of pretraining from RUN/epoch-times, which the pretrain rule writes).
progress = @bash scripts/progress.sh $(1) 8 '$(strip $(2))' $(if $(3),$(RUN) $(3) $(EPOCHS))
START := $(shell date +%s)

# params(file, args): rewrite the file only when the arguments differ, so dependants rebuild exactly then.
define params
	@mkdir -p $(@D); printf '%s\n' '$(strip $(1))' | cmp -s - $@ || printf '%s\n' '$(strip $(1))' > $@
endef
FORCE:

# ---- ingest: a source → images/labels/index ------------------------------------------------------
# DATA is make's own folder: one that holds datasets but no params/ (make writes params/ with its first
# ingest) holds someone else's, and make stops before writing anything there.
DATA_FOREIGN := $(if $(wildcard $(DATA)/params),,$(wildcard $(DATA)/*.safetensors.zst))
FOREIGN_DATA_ERROR = @echo "make: $(DATA) holds datasets make did not write ($(notdir $(DATA_FOREIGN))); not writing there. Use them in place (TRAIN_FORMAT=dataset TRAIN_SOURCE=FILE and TEST_FORMAT=dataset TEST_SOURCE=FILE) or pick another DATASET" >&2; exit 1
# ingest_rule(name, ingest arguments): $(DATA)/name.safetensors.zst and its params file.
define ingest_rule
$(DATA)/params/ingest-$(1).args: FORCE
	$$(if $$(DATA_FOREIGN),$$(FOREIGN_DATA_ERROR))
	$$(call params,$(2))
$(DATA)/$(1).safetensors.zst: $(BIN)/ingest $(DATA)/params/ingest-$(1).args | $(DEPS)
	$$(call progress,1,ingest)
	$(LAUNCH) $(BIN)/ingest $(2) --out $$@
endef
ifneq ($(TRAIN_FORMAT),dataset)
$(eval $(call ingest_rule,train,$(INGEST_TRAIN)))
endif
ifneq ($(TEST_FORMAT),dataset)
$(eval $(call ingest_rule,test,$(INGEST_TEST)))
endif
ifneq ($(strip $(PRETRAIN_SOURCE)),)
ifneq ($(PRETRAIN_FORMAT),dataset)
$(eval $(call ingest_rule,pretrain-first$(PRETRAIN_N),$(INGEST_PRETRAIN)))
else
$(eval $(call ingest_rule,pretrain-first$(PRETRAIN_N),dataset $(PRETRAIN_SOURCE) --seed $(DATA_SEED) --limit $(PRETRAIN_N)))
$(DATA)/pretrain-first$(PRETRAIN_N).safetensors.zst: $(PRETRAIN_SOURCE)
endif
endif
ingest: $(TRAIN) $(TEST)
# The first N training images (PRETRAIN_IMAGES), keeping their labels and source positions.
$(DATA)/train-first%.safetensors.zst: $(TRAIN) $(BIN)/ingest | $(DEPS)
	$(if $(DATA_FOREIGN),$(FOREIGN_DATA_ERROR))
	$(call progress,1,ingest)
	@mkdir -p $(DATA)/params
	$(LAUNCH) $(BIN)/ingest dataset $(TRAIN) --seed $(DATA_SEED) --limit $* --out $@

# ---- augment: two views of every training image, one file per epoch ---------------------------
# AUGMENT may name any executable that honours the same arguments and file contract (docs/augment.md).
$(RUN)/params/augment.args: FORCE
	$(call params,$(AUGMENT) $(AUGMENT_ARGS))
VIEWS := $(foreach e,$(EPOCH_IDS),$(RUN)/views/epoch-$(e).safetensors.zst)
# make neither deletes these nor remakes them only because they are missing (the pretrain rule removes views itself).
.SECONDARY: $(VIEWS) $(filter-out $(TRAIN),$(PRETRAIN_SET))
augment: $(firstword $(VIEWS))
# Depend on the stage's program: our binary, or whichever words of AUGMENT are files (`python3 x.py` → x.py).
AUGMENT_PROGRAM = $(if $(filter $(BIN)/augment,$(AUGMENT)),$(BIN)/augment,$(wildcard $(AUGMENT)))
$(RUN)/views/epoch-%.safetensors.zst: $(PRETRAIN_SET) $(AUGMENT_PROGRAM) $(RUN)/params/augment.args
	@mkdir -p $(@D)
	$(call progress,2,augment,$*)
	$(LAUNCH) $(AUGMENT) --dataset $(PRETRAIN_SET) --epoch $$((10#$*)) $(AUGMENT_ARGS) --out $@

# ---- pretrain: epoch e continues from epoch e−1's checkpoint -----------------------------------
$(RUN)/params/pretrain.args: FORCE
	$(call params,$(PRETRAIN_ARGS))
	$(link_run)
define pretrain_epoch
$(RUN)/ckpt/epoch-$(1).safetensors.zst: $(2) $(RUN)/views/epoch-$(1).safetensors.zst $(TRAIN) $(TEST) $(BIN)/pretrain $(RUN)/params/pretrain.args
	$$(call progress,3,pretrain,$(1))
	$(PRETRAIN_LAUNCH) $(BIN)/pretrain --views $(RUN)/views/epoch-$(1).safetensors.zst $(if $(2),--resume $(2)) $(PRETRAIN_ARGS) \
	  $(if $(filter-out 1,$(RANKS)),--threads $(RANK_THREADS)) --knn-train $(TRAIN) --knn-test $(TEST) --knn-limit $(KNN_MONITOR_LIMIT) --log $(RUN)/log.csv --out $$@
	@echo "$(1) $$$$(date +%s)" $(if $(2),>>,>) $(RUN)/epoch-times
	$(if $(KEEP_VIEWS),,rm -f $(RUN)/views/epoch-$(1).safetensors.zst)
	$(if $(3),rm -f $(2))
endef
# pretrain_epoch(epoch, previous checkpoint or empty, drop the previous one once this one exists?)
previous_checkpoint = $(RUN)/ckpt/epoch-$(shell printf '%03d' $$((10#$(1) - 1))).safetensors.zst
drop_previous = $(shell e=$$((10#$(1) - 1)); [ $$e -ge 1 ] && [ $$((e % $(KEEP_CHECKPOINTS))) -ne 0 ] && echo yes)
$(foreach e,$(EPOCH_IDS),$(eval $(call pretrain_epoch,$(e),$(if $(filter 001,$(e)),,$(call previous_checkpoint,$(e))),$(call drop_previous,$(e)))))
# Checkpoints before the last are kept only as KEEP_CHECKPOINTS says: make neither remakes a deleted one
# nor reruns what follows it (as with the views).
.SECONDARY: $(filter-out $(CKPT),$(foreach e,$(EPOCH_IDS),$(RUN)/ckpt/epoch-$(e).safetensors.zst))
# pretrain writes each checkpoint atomically: one is never half-written, so an interrupted recipe (after the
# previous checkpoint was pruned) must not make .DELETE_ON_ERROR remove it.
.PRECIOUS: $(foreach e,$(EPOCH_IDS),$(RUN)/ckpt/epoch-$(e).safetensors.zst)
pretrain: $(CKPT)

# ---- embed: frozen encoder → features (backbone + projection) ----------------------------------
embed: $(RUN)/features/train.safetensors.zst $(RUN)/features/test.safetensors.zst
# SPLIT_train / SPLIT_test: the two splits' files (ingested into DATA, or the user's own).
SPLIT_train := $(TRAIN)
SPLIT_test  := $(TEST)
.SECONDEXPANSION:
# EMBED_PARTS=N embeds each split as N parts of whole batches (run side by side by make -j or LAUNCH's
# scheduler), then joins them with `embed merge`: the same tensors as one embed, bit for bit.
EMBED_PARTS ?= 1
$(call require_count,EMBED_PARTS,the number of parts)
embed_split = $(LAUNCH) $(BIN)/embed --encoder checkpoint --checkpoint $(CKPT) --dataset $(SPLIT_$(1)) --seed $(SEED)
ifeq ($(EMBED_PARTS),1)
$(RUN)/features/%.safetensors.zst: $(CKPT) $$(SPLIT_$$*) $(BIN)/embed
	$(call progress,4,embed $*)
	$(call embed_split,$*) --out $@
else
PART_IDS := $(shell seq 0 $$(( $(EMBED_PARTS) - 1 )))
part_file = $(RUN)/features/$(1).part-$(2)-of-$(EMBED_PARTS).safetensors.zst
define embed_part
$(call part_file,%,$(1)): $(CKPT) $$$$(SPLIT_$$$$*) $(BIN)/embed
	$$(call progress,4,embed $$* part $(1)/$(EMBED_PARTS))
	$$(call embed_split,$$*) --part $(1)/$(EMBED_PARTS) --out $$@
endef
$(foreach k,$(PART_IDS),$(eval $(call embed_part,$(k))))
$(RUN)/features/%.safetensors.zst: $(foreach k,$(PART_IDS),$(call part_file,%,$(k))) $(BIN)/embed
	$(LAUNCH) $(BIN)/embed merge $(filter-out $(BIN)/embed,$^) --out $@
.INTERMEDIATE: $(foreach s,train test,$(foreach k,$(PART_IDS),$(call part_file,$(s),$(k))))
endif

# Baselines every results table carries: raw pixels, and a randomly initialised encoder of the same width.
RAW    := $(BASE)/raw
RANDOM := $(BASE)/random-w$(WIDTH)
$(RAW)/features/%.safetensors.zst: $$(SPLIT_$$*) $(BIN)/embed
	$(LAUNCH) $(BIN)/embed --encoder raw --dataset $< --seed $(DATA_SEED) --out $@
$(RANDOM)/features/%.safetensors.zst: $$(SPLIT_$$*) $(BIN)/embed
	$(LAUNCH) $(BIN)/embed --encoder random --width $(WIDTH) --dataset $< --seed $(DATA_SEED) --out $@

# ---- probe and kNN on a folder's features (a run or a baseline) ---------------------------------
# probe.json: the tuned probe (standardised, L2 chosen on a 10 % hold-out); probe-moco.json: MoCo's
# lr-30 protocol beside it. kNN on both the backbone and the projection (the same k and τ for every row).
PROBE_PROTOCOL ?= tuned
PROBE_ARGS = --protocol $(PROBE_PROTOCOL) $(PROBE_EXTRA)
KNN_ARGS   = --k $(KNN_K) --tau $(KNN_TAU)
EVALUATIONS := probe probe-moco knn-backbone knn-projection
# evaluate(folder, checkpoint or empty, seed)
define evaluate_rules
$(1)/params/probe.args: FORCE
	$$(call params,--seed $(3) $$(PROBE_ARGS))
$(1)/params/knn.args: FORCE
	$$(call params,$$(KNN_ARGS))
$(1)/results/probe.json: $(1)/features/train.safetensors.zst $(1)/features/test.safetensors.zst $(BIN)/probe $(1)/params/probe.args
	$$(call progress,5,probe $(notdir $(1)) (tuned))
	$(LAUNCH) $(BIN)/probe --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst $(if $(2),--checkpoint $(2)) --seed $(3) $$(PROBE_ARGS) --out $$@
$(1)/results/probe-moco.json: $(1)/features/train.safetensors.zst $(1)/features/test.safetensors.zst $(BIN)/probe
	$$(call progress,5,probe $(notdir $(1)) (MoCo protocol))
	$(LAUNCH) $(BIN)/probe --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst $(if $(2),--checkpoint $(2)) --seed $(3) --protocol moco --out $$@
$(1)/results/knn-%.json: $(1)/features/train.safetensors.zst $(1)/features/test.safetensors.zst $(BIN)/knn $(1)/params/knn.args
	$$(call progress,6,knn $(notdir $(1)) $$*)
	$(LAUNCH) $(BIN)/knn --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst --feature $$* $$(KNN_ARGS) --out $$@
endef
$(eval $(call evaluate_rules,$(RUN),$(CKPT),$(SEED)))
$(eval $(call evaluate_rules,$(RAW),,$(DATA_SEED)))
$(eval $(call evaluate_rules,$(RANDOM),,$(DATA_SEED)))
probe: $(RUN)/results/probe.json $(RUN)/results/probe-moco.json
knn: $(RUN)/results/knn-backbone.json $(RUN)/results/knn-projection.json
evaluate: probe knn
RESULTS_OF = $(foreach e,$(EVALUATIONS),$(1)/results/$(e).json)
BASELINES := $(foreach b,$(RAW) $(RANDOM),$(call RESULTS_OF,$(b)))
baselines: $(BASELINES)

# ---- hardness: which negatives are hard, and how often they share the query's class --------------
# Candidates: the final queue (MoCo) or bank (IR) from the checkpoint; SimCLR keeps neither (its
# negatives are the batch), so its candidates are the training set's projections.
CANDIDATES = $(if $(filter simclr,$(OBJECTIVE)),$(RUN)/features/train.safetensors.zst,$(CKPT))
hardness: $(RUN)/hardness/stats.safetensors.zst
$(RUN)/hardness/stats.safetensors.zst: $(CANDIDATES) $(RUN)/features/test.safetensors.zst $(BIN)/hardness $(HIERARCHY)
	$(call progress,7,hardness)
	$(LAUNCH) $(BIN)/hardness analyse --queries $(RUN)/features/test.safetensors.zst --candidates $(CANDIDATES) \
	  $(if $(HIERARCHY),--hierarchy $(HIERARCHY)) --seed $(SEED) --out $@ --summary $(RUN)/hardness/summary.json

# The CNCE estimator study (first seed paper): bias and variance of NCE vs CNCE on Gaussians.
CNCE_REPETITIONS ?= 200
CNCE_EXTRA ?=
CNCE_ARGS = --repetitions $(CNCE_REPETITIONS) $(CNCE_EXTRA) --seed $(DATA_SEED)
$(BASE)/params/cnce.args: FORCE
	$(call params,$(CNCE_ARGS))
cnce: $(BASE)/cnce/cnce.json
$(BASE)/cnce/cnce.json: $(BIN)/hardness $(BASE)/params/cnce.args
	$(LAUNCH) $(BIN)/hardness cnce-study $(CNCE_ARGS) --out $(BASE)/cnce

# ---- provenance: run.json, written with the run's training settings (again when they or the binaries change) ----
RUN_VARIABLES := EXP RUN RUN_HASH DATASET DATA TRAIN TEST PRETRAIN_SET TRAIN_FORMAT TEST_FORMAT TRAIN_SOURCE TRAIN_LABELS \
  TEST_SOURCE TEST_LABELS CIFAR_KIND IMAGE_SIZE COLOR PRETRAIN_SOURCE PRETRAIN_FORMAT PRETRAIN_LABELS HIERARCHY FASHION PREBUILT RUNS BASE BIN THREADS SEED \
  DATA_SEED BLAS_CORE INGEST_LIMIT PRETRAIN_IMAGES KNN_MONITOR_LIMIT LOG_EVERY AUGMENT RECIPE AUGMENT_EXTRA KEEP_VIEWS KEEP_CHECKPOINTS EPOCHS OBJECTIVE \
  SAMPLER WIDTH BATCH LR WD SCHEDULE TAU QUEUE KEY_MOMENTUM RING_OUTER RING_INNER ANNEAL_EPOCHS SAMPLER_EXTRA PRETRAIN_EXTRA \
  KNN_K KNN_TAU PROBE_PROTOCOL PROBE_EXTRA CNCE_REPETITIONS CNCE_EXTRA RANKS LAUNCH EMBED_PARTS
$(RUN)/run.json: $(BIN)/bench $(BIN)/pretrain $(RUN)/params/augment.args $(RUN)/params/pretrain.args
	@python3 scripts/run_json.py --out $@ --machine "$$($(BIN)/bench machine --threads $(THREADS))" \
	  $(foreach v,$(RUN_VARIABLES),'$(v)=$(strip $($(v)))')

# ---- report ---------------------------------------------------------------------------------------
report: $(RUN)/report/index.html
$(RUN)/report/index.html: $(call RESULTS_OF,$(RUN)) $(RUN)/hardness/stats.safetensors.zst $(CANDIDATES) $(TRAIN) $(TEST) $(PRETRAIN_SET) \
                          $(BASELINES) $(BASE)/cnce/cnce.json $(BIN)/report | $(RUN)/run.json
	$(call progress,8,report)
	$(LAUNCH) $(BIN)/report --run $(RUN) --baseline "raw pixels=$(RAW)" --baseline "random encoder (width $(WIDTH))=$(RANDOM)" \
	  --cnce $(BASE)/cnce/cnce.json --title "$(EXP): $(OBJECTIVE) + $(SAMPLER)" \
	  --grid-candidates $(CANDIDATES) --grid-candidate-images $(if $(filter simclr,$(OBJECTIVE)),$(TRAIN),$(PRETRAIN_SET)) \
	  --grid-train-images $(TRAIN) --grid-test-images $(TEST) $(if $(HIERARCHY),--class-names $(HIERARCHY)) \
	  --out $(RUN)/report

# ---- experiments (pipelines/*.mk) --------------------------------------------------------------
# `make -j N experiments` runs N at once: first, one after another, what the runs share (datasets,
# baselines, the CNCE study: each experiment's own, since a pipeline may change WIDTH or the data), then
# every experiment's run in its own folder — so no two processes ever write the same file.
EXPERIMENTS ?= $(filter-out default,$(basename $(notdir $(wildcard pipelines/*.mk))))
experiments: $(if $(PREBUILT),,$(BIN)/.built)
	@for e in $(EXPERIMENTS); do $(MAKE) --no-print-directory EXP=$$e shared || exit 1; done
	@$(MAKE) --no-print-directory $(addprefix experiment-,$(EXPERIMENTS))
experiment-%:
	@$(MAKE) --no-print-directory EXP=$* report
shared: $(TRAIN) $(TEST) $(PRETRAIN_SET) $(BASELINES) $(BASE)/cnce/cnce.json
print-experiments:
	@echo $(EXPERIMENTS)
ifeq ($(STUDY),)
# Every run folder with results (not the latest-run links, so no run counts twice; not the baselines).
FINISHED = $(sort $(patsubst %/results/probe.json,%,$(filter-out $(BASE)/% $(RUNS)/baselines/%,$(shell find $(RUNS) -mindepth 3 -maxdepth 3 -path '*/results/probe.json' 2>/dev/null))))
results: $(BIN)/report $(BASELINES) $(BASE)/cnce/cnce.json
	$(LAUNCH) $(BIN)/report $(foreach r,$(FINISHED),--run $(r)) --baseline "raw pixels=$(RAW)" --baseline "random encoder (width $(WIDTH))=$(RANDOM)" \
	  --cnce $(BASE)/cnce/cnce.json $(if $(HIERARCHY),--class-names $(HIERARCHY)) --title "All finished runs in $(RUNS)" --out $(RUNS)/report
	@echo "report: $(RUNS)/report/index.html"
else
# ---- studies (studies/*.rows): rows run in shifts, each committed to results/STUDY/ROW-seedK/ ---------
# `make study STUDY=ten-epoch` runs the next unfinished rows (scripts/study.sh: --rows N, --list);
# `make results STUDY=ten-epoch` rebuilds results/STUDY/report and RESULTS.md's block for the study
# from the committed small files alone (no checkpoint, no feature file).
STUDY_DIR  = results/$(STUDY)
STUDY_ROWS = $(sort $(patsubst %/run.json,%,$(wildcard $(STUDY_DIR)/*-seed*/run.json)))
# Where the report and the spliced file go (the tests point these elsewhere to compare byte for byte).
STUDY_REPORT  ?= $(STUDY_DIR)/report
STUDY_RESULTS ?= RESULTS.md
study:
	bash scripts/study.sh $(STUDY) $(STUDY_FLAGS)
results: $(BIN)/report
	@test -f studies/$(STUDY).rows || { echo "make: no study studies/$(STUDY).rows" >&2; exit 64; }
	$(LAUNCH) $(BIN)/report $(foreach r,$(STUDY_ROWS),--run $(r)) --baseline "raw pixels=$(STUDY_DIR)/baselines/raw" \
	  --baseline "random encoder (width $(WIDTH))=$(STUDY_DIR)/baselines/random-w$(WIDTH)" \
	  $(if $(wildcard studies/$(STUDY).claims),--claims studies/$(STUDY).claims) \
	  --title "Study $(STUDY): $(words $(STUDY_ROWS)) finished rows" --out $(STUDY_REPORT)
	bash scripts/splice_results.sh $(STUDY_RESULTS) $(STUDY) $(STUDY_REPORT)/summary.md $(STUDY_DIR)/report/charts/
endif

# ---- calibration: the same recipe in PyTorch (needs torch; never a test or CI dependency) ------------
# `make calibrate` (with a venv's bin first on PATH: python3 -m venv DIR; DIR/bin/pip install torch
# numpy safetensors zstandard) trains the run's recipe in PyTorch on the very same views (our augment stage,
# same seed) and scores it with our own knn and probe stages, beside the run: $(RUN)-torch.
CALIBRATION := $(RUN)-torch
CALIBRATE_ARGS = --objective $(OBJECTIVE) --recipe $(RECIPE) --epochs $(EPOCHS) --batch $(BATCH) --lr $(LR) --wd $(WD) \
  --tau $(TAU) --queue $(QUEUE) --key-momentum $(KEY_MOMENTUM) --width $(WIDTH) --seed $(SEED) --threads $(THREADS) $(CALIBRATE_EXTRA)
CALIBRATE_EXTRA ?=
$(CALIBRATION)/params/calibrate.args: FORCE
	$(call params,$(CALIBRATE_ARGS) $(AUGMENT_EXTRA))
$(CALIBRATION)/features/train.safetensors.zst: $(PRETRAIN_SET) $(TRAIN) $(TEST) $(BIN)/augment scripts/torch_calibrate.py $(CALIBRATION)/params/calibrate.args
	python3 scripts/torch_calibrate.py --augment $(BIN)/augment --pretrain-set $(PRETRAIN_SET) --train $(TRAIN) --test $(TEST) \
	  $(CALIBRATE_ARGS) --augment-extra "$(AUGMENT_EXTRA)" --out $(CALIBRATION)
$(CALIBRATION)/features/test.safetensors.zst: $(CALIBRATION)/features/train.safetensors.zst
$(eval $(call evaluate_rules,$(CALIBRATION),,$(SEED)))
calibrate: $(call RESULTS_OF,$(RUN)) $(call RESULTS_OF,$(CALIBRATION))
	@for f in $(call RESULTS_OF,$(RUN)) $(call RESULTS_OF,$(CALIBRATION)); do printf '%-50s top-1 %s\n' $$f "$$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"]["top1"])' $$f)"; done

# ---- time to accuracy: the recipe here and in PyTorch on the same views, in the same run -----------
# `make tta` (torch importable: a venv's bin first on PATH) trains EXP's recipe with both engines at
# THREADS threads and prints the training seconds each needs to reach the raw-pixel kNN level and its kNN
# within each budget (TTA_BUDGETS seconds); scripts/tta.py, RUNS/tta-EXP/tta.json. Never a test.
TTA_BUDGETS ?= 60,120,300,600,1200
tta: $(PRETRAIN_SET) $(TRAIN) $(TEST) $(addprefix $(BIN)/,ingest augment pretrain embed knn bench) scripts/tta.py scripts/torch_calibrate.py
	python3 scripts/tta.py --bin $(BIN) --pretrain-set $(PRETRAIN_SET) --train $(TRAIN) --test $(TEST) --out $(RUNS)/tta-$(EXP) \
	  --pretrain-args "$(PRETRAIN_ARGS)" --objective $(OBJECTIVE) --sampler $(SAMPLER) --recipe $(RECIPE) --augment-extra "$(AUGMENT_EXTRA)" \
	  --epochs $(EPOCHS) --batch $(BATCH) --lr $(LR) --wd $(WD) --tau $(TAU) --queue $(QUEUE) --key-momentum $(KEY_MOMENTUM) \
	  --width $(WIDTH) --seed $(SEED) --threads $(THREADS) --monitor-limit $(KNN_MONITOR_LIMIT) --budgets $(TTA_BUDGETS)

# ---- checks -------------------------------------------------------------------------------------
# Tests build in their own folder: a test build relinks the executables with testing enabled, which
# would otherwise make every pipeline output look out of date.
test: | .deps.stamp
	swift test -c release --scratch-path .build-test --disable-swift-testing

# Speed lives here, never in tests: every figure is measured in the same run as its reference.
bench: $(BIN)/bench
	$(BIN)/bench engine --threads $(THREADS)
	$(BIN)/bench engine --threads $(THREADS) --objective simclr --rows 16:1:28
	$(BIN)/bench samplers --threads $(THREADS)
	$(BIN)/bench augment --threads $(THREADS)
	$(BIN)/bench evaluation --threads $(THREADS)

# libFuzzer + AddressSanitizer harnesses for every reader of untrusted bytes (fuzz/Package.swift):
# `make fuzz FUZZ_SECONDS=1800` runs each for half an hour; crashes fail the target.
FUZZ_SECONDS ?= 60
fuzz: | .deps.stamp
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

# clean: the runs (RUNS); distclean: also the datasets make ingested (data/NAME folders with its params/),
# the builds and the study's frozen copy. Neither touches a dataset of yours.
clean:
	rm -rf $(RUNS)
distclean: clean
	@for d in data/*/; do if [ -d "$$d/params" ]; then echo "rm -rf $$d"; rm -rf "$$d"; else echo "make: keeping $$d (not made by make)"; fi; done
	rm -rf .build .build-test .build-fuzz .build-study .deps.stamp
	git worktree prune 2>/dev/null || true
