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

# ---- where things are -------------------------------------------------------------------------
FASHION  ?= /usr/share/datasets/fashion-mnist
DATA     ?= data/fashion-mnist
# Runs live under RUNS (e.g. `make experiments RUNS=runs/short EPOCHS=3` keeps a shorter study apart).
RUNS     ?= runs
SEED_SUFFIX = $(if $(filter-out 0,$(SEED)),-seed$(SEED))
RUN      ?= $(RUNS)/$(EXP)$(SEED_SUFFIX)
BASE     ?= runs/baselines
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

# ---- parameters: the base every experiment starts from (MoCo v2 + annealed Ring); the default job's
# own settings (SimCLR, sized for ~15 minutes on 2 cores) are in pipelines/default.mk ---------------
INGEST_LIMIT  ?= 0
# Pretrain on the first N training images (0 = all 60 000); embed/probe/kNN always use the full splits.
PRETRAIN_IMAGES ?= 30000
KNN_MONITOR_LIMIT ?= 10000
AUGMENT       ?= $(BIN)/augment
RECIPE        ?= mocov2
AUGMENT_EXTRA ?=
KEEP_VIEWS    ?=
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

SOURCES := Package.swift $(shell find Sources -name '*.swift' -o -name '*.h' -o -name '*.modulemap' 2>/dev/null)
STAGES  := ingest inspect augment pretrain embed probe knn hardness report bench
EPOCH_IDS := $(shell seq -f '%03g' 1 $(EPOCHS))
LAST      := $(lastword $(EPOCH_IDS))
CKPT      := $(RUN)/ckpt/epoch-$(LAST).safetensors.zst
TRAIN     := $(DATA)/train.safetensors.zst
TEST      := $(DATA)/test.safetensors.zst
PRETRAIN_SET := $(if $(filter 0,$(PRETRAIN_IMAGES)),$(TRAIN),$(DATA)/train-first$(PRETRAIN_IMAGES).safetensors.zst)

.PHONY: all deps build test bench fuzz calibrate clean ingest augment pretrain embed probe knn evaluate hardness report baselines experiments results study FORCE
all: $(RUN)/report/index.html
	@awk '/^## Results/{p=1; print; next} /^## /{p=0} p' $(RUN)/report/summary.md
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
	@touch $@
$(addprefix $(BIN)/,$(STAGES)): $(BIN)/.built
endif

# params(file, args): rewrite the file only when the arguments differ, so dependants rebuild exactly then.
define params
	@mkdir -p $(@D); printf '%s\n' '$(strip $(1))' | cmp -s - $@ || printf '%s\n' '$(strip $(1))' > $@
endef
FORCE:

# ---- ingest: IDX → images/labels/index --------------------------------------------------------
INGEST_ARGS = --seed $(DATA_SEED) --limit $(INGEST_LIMIT)
$(DATA)/params/ingest.args: FORCE
	$(call params,$(INGEST_ARGS))
ingest: $(TRAIN) $(TEST)
$(DATA)/train.safetensors.zst $(DATA)/test.safetensors.zst: $(DATA)/%.safetensors.zst: $(BIN)/ingest $(DATA)/params/ingest.args | $(DEPS)
	$(BIN)/ingest idx --images $(FASHION)/$(if $(filter train,$*),train,t10k)-images-idx3-ubyte.gz \
	  --labels $(FASHION)/$(if $(filter train,$*),train,t10k)-labels-idx1-ubyte.gz $(INGEST_ARGS) --out $@
$(DATA)/train-first%.safetensors.zst: $(BIN)/ingest $(DATA)/params/ingest.args | $(DEPS)
	$(BIN)/ingest idx --images $(FASHION)/train-images-idx3-ubyte.gz --labels $(FASHION)/train-labels-idx1-ubyte.gz \
	  --seed $(DATA_SEED) --limit $* --out $@

# ---- augment: two views of every training image, one file per epoch ---------------------------
# AUGMENT may name any executable that honours the same arguments and file contract (docs/augment.md).
AUGMENT_ARGS = --recipe $(RECIPE) --seed $(SEED) $(AUGMENT_EXTRA)
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
	$(AUGMENT) --dataset $(PRETRAIN_SET) --epoch $$((10#$*)) $(AUGMENT_ARGS) --out $@

# ---- pretrain: epoch e continues from epoch e−1's checkpoint -----------------------------------
PRETRAIN_ARGS = --seed $(SEED) --objective $(OBJECTIVE) --sampler $(SAMPLER) --width $(WIDTH) --batch $(BATCH) \
  --lr $(LR) --wd $(WD) --schedule $(SCHEDULE) --tau $(TAU) --queue $(QUEUE) --key-momentum $(KEY_MOMENTUM) \
  --ring-outer $(RING_OUTER) --ring-inner $(RING_INNER) $(if $(strip $(ANNEAL_EPOCHS)),--anneal-epochs $(ANNEAL_EPOCHS)) --epochs $(EPOCHS) \
  $(SAMPLER_EXTRA) $(PRETRAIN_EXTRA)
$(RUN)/params/pretrain.args: FORCE
	$(call params,$(PRETRAIN_ARGS))
define pretrain_epoch
$(RUN)/ckpt/epoch-$(1).safetensors.zst: $(RUN)/views/epoch-$(1).safetensors.zst $(2) $(TRAIN) $(TEST) $(BIN)/pretrain $(RUN)/params/pretrain.args
	$(BIN)/pretrain --views $(RUN)/views/epoch-$(1).safetensors.zst $(if $(2),--resume $(2)) $(PRETRAIN_ARGS) \
	  --knn-train $(TRAIN) --knn-test $(TEST) --knn-limit $(KNN_MONITOR_LIMIT) --log $(RUN)/log.csv --out $$@
	$(if $(KEEP_VIEWS),,rm -f $(RUN)/views/epoch-$(1).safetensors.zst)
endef
$(foreach e,$(EPOCH_IDS),$(eval $(call pretrain_epoch,$(e),$(if $(filter 001,$(e)),,$(RUN)/ckpt/epoch-$(shell printf '%03d' $$((10#$(e) - 1))).safetensors.zst))))
pretrain: $(CKPT)

# ---- embed: frozen encoder → features (backbone + projection) ----------------------------------
embed: $(RUN)/features/train.safetensors.zst $(RUN)/features/test.safetensors.zst
$(RUN)/features/%.safetensors.zst: $(CKPT) $(DATA)/%.safetensors.zst $(BIN)/embed
	$(BIN)/embed --encoder checkpoint --checkpoint $(CKPT) --dataset $(DATA)/$*.safetensors.zst --seed $(SEED) --out $@

# Baselines every results table carries: raw pixels, and a randomly initialised encoder of the same width.
RAW    := $(BASE)/raw
RANDOM := $(BASE)/random-w$(WIDTH)
$(RAW)/features/%.safetensors.zst: $(DATA)/%.safetensors.zst $(BIN)/embed
	$(BIN)/embed --encoder raw --dataset $< --seed $(DATA_SEED) --out $@
$(RANDOM)/features/%.safetensors.zst: $(DATA)/%.safetensors.zst $(BIN)/embed
	$(BIN)/embed --encoder random --width $(WIDTH) --dataset $< --seed $(DATA_SEED) --out $@

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
	$(BIN)/probe --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst $(if $(2),--checkpoint $(2)) --seed $(3) $$(PROBE_ARGS) --out $$@
$(1)/results/probe-moco.json: $(1)/features/train.safetensors.zst $(1)/features/test.safetensors.zst $(BIN)/probe
	$(BIN)/probe --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst $(if $(2),--checkpoint $(2)) --seed $(3) --protocol moco --out $$@
$(1)/results/knn-%.json: $(1)/features/train.safetensors.zst $(1)/features/test.safetensors.zst $(BIN)/knn $(1)/params/knn.args
	$(BIN)/knn --train $(1)/features/train.safetensors.zst --test $(1)/features/test.safetensors.zst --feature $$* $$(KNN_ARGS) --out $$@
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
HIERARCHY ?= resources/hierarchy/fashion-mnist.json
# Candidates: the final queue (MoCo) or bank (IR) from the checkpoint; SimCLR keeps neither (its
# negatives are the batch), so its candidates are the training set's projections.
CANDIDATES = $(if $(filter simclr,$(OBJECTIVE)),$(RUN)/features/train.safetensors.zst,$(CKPT))
hardness: $(RUN)/hardness/stats.safetensors.zst
$(RUN)/hardness/stats.safetensors.zst: $(CANDIDATES) $(RUN)/features/test.safetensors.zst $(BIN)/hardness $(HIERARCHY)
	$(BIN)/hardness analyse --queries $(RUN)/features/test.safetensors.zst --candidates $(CANDIDATES) \
	  --hierarchy $(HIERARCHY) --seed $(SEED) --out $@ --summary $(RUN)/hardness/summary.json

# The CNCE estimator study (first seed paper): bias and variance of NCE vs CNCE on Gaussians.
CNCE_REPETITIONS ?= 200
CNCE_EXTRA ?=
CNCE_ARGS = --repetitions $(CNCE_REPETITIONS) $(CNCE_EXTRA) --seed $(DATA_SEED)
$(BASE)/params/cnce.args: FORCE
	$(call params,$(CNCE_ARGS))
cnce: $(BASE)/cnce/cnce.json
$(BASE)/cnce/cnce.json: $(BIN)/hardness $(BASE)/params/cnce.args
	$(BIN)/hardness cnce-study $(CNCE_ARGS) --out $(BASE)/cnce

# ---- report ---------------------------------------------------------------------------------------
report: $(RUN)/report/index.html
$(RUN)/report/index.html: $(call RESULTS_OF,$(RUN)) $(RUN)/hardness/stats.safetensors.zst \
                          $(BASELINES) $(BASE)/cnce/cnce.json $(BIN)/report
	$(BIN)/report --run $(RUN) --baseline "raw pixels=$(RAW)" --baseline "random encoder (width $(WIDTH))=$(RANDOM)" \
	  --cnce $(BASE)/cnce/cnce.json --title "$(EXP): $(OBJECTIVE) + $(SAMPLER)" --out $(RUN)/report

# ---- experiments (pipelines/*.mk) --------------------------------------------------------------
EXPERIMENTS := $(filter-out default,$(basename $(notdir $(wildcard pipelines/*.mk))))
experiments:
	@for e in $(EXPERIMENTS); do $(MAKE) --no-print-directory EXP=$$e $(MAKEOVERRIDES) $(RUNS)/$$e$(SEED_SUFFIX)/report/index.html || exit 1; done
ifeq ($(STUDY),)
FINISHED = $(patsubst %/results/probe.json,%,$(filter-out $(BASE)/%,$(wildcard $(RUNS)/*/results/probe.json)))
results: $(BIN)/report $(BASELINES) $(BASE)/cnce/cnce.json
	$(BIN)/report $(foreach r,$(FINISHED),--run $(r)) --baseline "raw pixels=$(RAW)" --baseline "random encoder (width $(WIDTH))=$(RANDOM)" \
	  --cnce $(BASE)/cnce/cnce.json --title "All finished runs in $(RUNS)" --out $(RUNS)/report
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
	$(BIN)/report $(foreach r,$(STUDY_ROWS),--run $(r)) --baseline "raw pixels=$(STUDY_DIR)/baselines/raw" \
	  --baseline "random encoder (width $(WIDTH))=$(STUDY_DIR)/baselines/random-w$(WIDTH)" \
	  --title "Study $(STUDY): $(words $(STUDY_ROWS)) finished rows" --out $(STUDY_REPORT)
	bash scripts/splice_results.sh $(STUDY_RESULTS) $(STUDY) $(STUDY_REPORT)/summary.md $(STUDY_DIR)/report/charts/
endif

# ---- calibration: the same recipe in PyTorch (needs torch; never a test or CI dependency) ------------
# `make calibrate` (with a venv's bin first on PATH: python3 -m venv DIR; DIR/bin/pip install torch
# safetensors zstandard) trains the run's recipe in PyTorch on the very same views (our augment stage,
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

# ---- checks -------------------------------------------------------------------------------------
# Tests build in their own folder: a test build relinks the executables with testing enabled, which
# would otherwise make every pipeline output look out of date.
test: | .deps.stamp
	swift test -c release --scratch-path .build-test --disable-swift-testing

# Speed lives here, never in tests: every figure is measured in the same run as its reference.
bench: $(BIN)/bench
	$(BIN)/bench engine --threads $(THREADS)
	$(BIN)/bench samplers --threads $(THREADS)
	$(BIN)/bench augment --threads $(THREADS)
	$(BIN)/bench evaluation --threads $(THREADS)

# libFuzzer + AddressSanitizer harnesses for every reader of untrusted bytes (fuzz/Package.swift):
# `make fuzz FUZZ_SECONDS=1800` runs each for half an hour; crashes fail the target.
FUZZ_SECONDS ?= 60
fuzz: | .deps.stamp
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

clean:
	rm -rf .build .build-test .build-fuzz data runs .deps.stamp
