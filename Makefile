# The pipeline's diagram. Every target is a file; each depends on its inputs, its binary and its
# parameters (a params/*.args file that changes only when the values do). Override any variable on
# the command line (make EPOCHS=5) or pick an experiment (make EXP=moco-uniform → pipelines/moco-uniform.mk).
.DELETE_ON_ERROR:
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

EXP ?= default
ifneq ($(wildcard pipelines/$(EXP).mk),)
include pipelines/$(EXP).mk
endif

# ---- where things are -------------------------------------------------------------------------
FASHION  ?= /usr/share/datasets/fashion-mnist
DATA     ?= data/fashion-mnist
BIN      ?= .build/release
THREADS  ?= $(shell nproc)
SEED     ?= 0
export NS_THREADS := $(THREADS)

# ---- stage parameters ---------------------------------------------------------------------------
INGEST_LIMIT ?= 0

SOURCES := Package.swift $(shell find Sources -name '*.swift' -o -name '*.h' -o -name '*.modulemap' 2>/dev/null)
STAGES  := ingest inspect augment pretrain embed probe knn hardness report bench

.PHONY: all deps build test bench clean ingest
all: ingest
	@echo "wrote:"; ls -l $(DATA)/*.safetensors.zst

# ---- set-up -------------------------------------------------------------------------------------
deps: .deps.stamp
.deps.stamp: scripts/deps.sh
	bash scripts/deps.sh
	@touch $@

build: $(BIN)/.built
$(BIN)/.built: $(SOURCES) .deps.stamp
	swift build -c release
	@touch $@
$(addprefix $(BIN)/,$(STAGES)): $(BIN)/.built

# A parameter file per stage: rewritten only when its arguments change, so targets depending on it
# rebuild exactly when a parameter does.
define params
	@mkdir -p $(@D); printf '%s\n' '$(strip $(1))' | cmp -s - $@ || printf '%s\n' '$(strip $(1))' > $@
endef
.PHONY: FORCE
FORCE:

# ---- ingest: IDX → images/labels/index tensor files ------------------------------------------
INGEST_ARGS = --seed $(SEED) --limit $(INGEST_LIMIT)
$(DATA)/params/ingest.args: FORCE
	$(call params,$(INGEST_ARGS))

ingest: $(DATA)/train.safetensors.zst $(DATA)/test.safetensors.zst
$(DATA)/train.safetensors.zst: $(BIN)/ingest $(DATA)/params/ingest.args $(FASHION)/train-images-idx3-ubyte.gz $(FASHION)/train-labels-idx1-ubyte.gz
	$(BIN)/ingest idx --images $(FASHION)/train-images-idx3-ubyte.gz --labels $(FASHION)/train-labels-idx1-ubyte.gz $(INGEST_ARGS) --out $@
$(DATA)/test.safetensors.zst: $(BIN)/ingest $(DATA)/params/ingest.args $(FASHION)/t10k-images-idx3-ubyte.gz $(FASHION)/t10k-labels-idx1-ubyte.gz
	$(BIN)/ingest idx --images $(FASHION)/t10k-images-idx3-ubyte.gz --labels $(FASHION)/t10k-labels-idx1-ubyte.gz $(INGEST_ARGS) --out $@

# The dataset files come from Debian's dataset-fashion-mnist package.
$(FASHION)/%: | .deps.stamp
	@test -f $@ || { echo "missing $@: install dataset-fashion-mnist (make deps)"; exit 1; }

# ---- checks -------------------------------------------------------------------------------------
test: .deps.stamp
	swift build -c release
	swift test -c release --parallel --num-workers 2

bench: $(BIN)/bench
	$(BIN)/bench

clean:
	rm -rf .build $(DATA) runs .deps.stamp
