#!/usr/bin/env bash
# Runs a study in shifts: the rows of studies/STUDY.rows one after another, each through the whole
# pipeline (pretrain → embed → probe / kNN → hardness → report) under runs/STUDY/ROW-seedK, and commits
# that row's small result files to results/STUDY/ROW-seedK/ the moment it finishes — so an interruption
# loses at most the row in progress (and exact resume continues it when runs/ survives).
#
#   bash scripts/study.sh STUDY [--rows N] [--list] [--bin DIR] [--no-commit]
#
# Several drivers may run at once (two at THREADS=1 on two cores: two rows at a time, every row still
# at one thread; measured 215 + 190 img/s beside other work, ≈ 280 each idle, against ≈ 250 for one): each claims a row before it starts it (runs/STUDY/ROW.claim/pid; a claim whose
# driver has gone is taken over) and collects, regenerates RESULTS.md and commits one driver at a time.
#
#   --rows N     stop after N finished rows (default: all unfinished ones)
#   --list       print each row's state (done / partial / todo) and exit
#   --bin DIR    stage binaries to run (default .build-study/bin: a frozen copy of this checkout's
#                release build, made on first use, so rebuilding the work tree mid-row changes nothing)
#   --no-commit  collect the files but leave committing to you
# THREADS (default: all cores) and BLAS_CORE pass through to make.
set -euo pipefail
usage() { echo "usage: bash scripts/study.sh STUDY [--rows N] [--list] [--bin DIR] [--no-commit]" >&2; exit 64; }
[[ $# -ge 1 && $1 != -* ]] || usage
study=$1; shift
rows_file=studies/$study.rows
[[ -f $rows_file ]] || { echo "study: no such study '$rows_file' (have: $(ls studies/*.rows 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.rows$//' | tr '\n' ' '))" >&2; exit 64; }
max_rows=0 list=0 bin=.build-study/bin commit=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "study: --rows needs a count, got '${2:-}'" >&2; exit 64; }; max_rows=$2; shift 2 ;;
    --list) list=1; shift ;;
    --bin) [[ -n ${2:-} ]] || { echo "study: --bin needs a folder" >&2; exit 64; }; bin=$2; shift 2 ;;
    --no-commit) commit=0; shift ;;
    *) echo "study: unknown flag '$1'" >&2; usage ;;
  esac
done
threads=${THREADS:-$(nproc)}
out=results/$study
work=runs/$study
stages="ingest augment pretrain embed probe knn hardness report"

# Rows: "name pipeline seed [VAR=value ...]"; one "settings: VAR=value ..." line for every row.
settings=$(sed -n 's/^settings:[[:space:]]*//p' "$rows_file")
mapfile -t rows < <(grep -vE '^[[:space:]]*(#|$|settings:)' "$rows_file")
for r in "${rows[@]}"; do
  read -r name pipeline seed _ <<<"$r"
  [[ -f pipelines/$pipeline.mk && $seed =~ ^[0-9]+$ ]] || { echo "study: $rows_file: bad row '$r' (pipeline pipelines/$pipeline.mk, integer seed)" >&2; exit 65; }
done

# claim_alive DIR: the claim's driver is still running.
claim_alive() { [[ -f $1/pid ]] && kill -0 "$(cat "$1/pid" 2>/dev/null)" 2>/dev/null; }
# claim ROW: true when this driver now holds ROW, false when another live driver does (mkdir is atomic).
claim() {
  local dir=$work/$1.claim
  if ! mkdir "$dir" 2>/dev/null; then
    claim_alive "$dir" && return 1
    rm -rf "$dir"; mkdir "$dir" 2>/dev/null || return 1          # stale: its driver has gone
  fi
  echo $$ > "$dir/pid"
}
release() { rm -rf "$work/$1.claim"; }

if [[ $list == 1 ]]; then
  for r in "${rows[@]}"; do
    read -r name pipeline seed _ <<<"$r"; row=$name-seed$seed
    state=todo; [[ -d $work/$row/ckpt ]] && state="partial ($(ls $work/$row/ckpt | wc -l) epochs)"; [[ -f $out/$row/run.json ]] && state=done
    if [[ $state != done ]] && claim_alive "$work/$row.claim"; then state="$state, running (driver $(cat "$work/$row.claim/pid"))"; fi
    printf '%-32s %s\n' "$row" "$state"
  done
  exit 0
fi

mkdir -p "$work"
exec 9> "$work/.serial.lock"   # flock 9: freezing, the baselines, and the section that collects, regenerates and commits
flock 9                        # held from here to the baselines: two drivers started together build and freeze once
# A frozen copy of the stage binaries, with the commit they were built from. results/STUDY/FROZEN (committed
# with the first row) names the commits a study froze, so a fresh machine rebuilds those binaries and that
# pipeline, not whatever is checked out now — every row of a study runs the same code.
frozen=$out/FROZEN
want_binaries=$(sed -n 's/^binaries //p' "$frozen" 2>/dev/null || true)
want_pipeline=$(sed -n 's/^pipeline //p' "$frozen" 2>/dev/null || true)
if [[ ! -x $bin/pretrain ]]; then
  [[ $bin == .build-study/bin ]] || { echo "study: --bin $bin has no pretrain" >&2; exit 66; }
  built=.build/release
  if [[ -n $want_binaries && $want_binaries != $(git rev-parse HEAD) ]]; then
    echo "study: building the study's binaries at ${want_binaries:0:7} ($frozen) in .build-study/src"
    rm -rf .build-study/src; git worktree prune
    git worktree add --detach .build-study/src "$want_binaries" >&2
    (cd .build-study/src && swift build -c release >&2)
    built=.build-study/src/.build/release
  else
    echo "study: freezing this checkout's release build into $bin"
    swift build -c release >&2
  fi
  mkdir -p "$bin"
  for s in $stages inspect bench; do cp -p $built/$s "$bin/"; done   # -p: the data made by this build stays up to date
  cp -p $built/build-info "$bin/" 2>/dev/null || true                 # the commit the stages record (BuildInfo)
  if [[ $built == .build/release ]]; then
    { git rev-parse HEAD; git diff --quiet HEAD -- Sources Package.swift || echo "(with uncommitted changes to Sources)"; } > "$bin/COMMIT"
  else
    echo "$want_binaries" > "$bin/COMMIT"
  fi
fi
binaries_commit=$(head -1 "$bin/COMMIT" 2>/dev/null || echo unknown)
# A frozen copy of the pipeline itself (Makefile, pipelines/, scripts/, resources/): a git worktree of
# the commit checked out when the study first ran, with its own copy of the datasets (so a make in this
# checkout that re-ingests cannot make every row look out of date) and runs/ and the binaries linked —
# editing the Makefile mid-study cannot invalidate a row (or rerun one); every make below runs there.
tree=.build-study/tree
if [[ ! -f $tree/Makefile ]]; then
  echo "study: freezing the committed pipeline (Makefile, pipelines/) at ${want_pipeline:-HEAD} into $tree"
  rm -rf "$tree"; git worktree prune
  git worktree add --detach "$tree" "${want_pipeline:-HEAD}" >&2
  if [[ -d data ]]; then cp -a data "$tree/data"; fi   # -a keeps the times: what is up to date stays so
  ln -s ../../runs "$tree/runs"; ln -s .. "$tree/.build-study"
fi
[[ $bin == /* || $bin == .build-study/* ]] || bin=$(realpath "$bin")
pipeline_commit=$(git -C "$tree" rev-parse HEAD)
if [[ -n $want_pipeline && $pipeline_commit != "$want_pipeline"* ]]; then
  echo "study: $tree is at ${pipeline_commit:0:7}, but $frozen names ${want_pipeline:0:7} (remove $tree to refreeze)" >&2; exit 65
fi
if [[ ! -f $frozen ]]; then mkdir -p "$out"; printf 'binaries %s\npipeline %s\n' "$binaries_commit" "$pipeline_commit" > "$frozen"; fi
frozen_make() { make -C "$tree" --no-print-directory PREBUILT="$bin" THREADS="$threads" "$@"; }
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)

commit_folder() {  # commit_folder DIR MESSAGE [PATH…]: only those paths, retried while another git command holds the index
  [[ $commit == 1 ]] || return 0
  local dir=$1 message=$2; shift 2
  git add -- "$dir" "$@"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if git commit -q -m "$message" -- "$dir" "$@"; then return 0; fi
    sleep 3
  done
  echo "study: could not commit $dir (left staged)" >&2
}

# The baselines every table carries (raw pixels, random encoder), once per study (one driver at a time).
base=runs/baselines
# The datasets and baselines every row depends on, made here, one driver at a time (nothing to do once made),
# so two drivers starting together on a fresh machine never build the same files at once.
frozen_make $settings baselines "$base/cnce/cnce.json"
if [[ ! -f $out/baselines/raw/results/probe.json ]]; then
  for b in raw random-w16; do
    mkdir -p "$out/baselines/$b/results"
    cp $base/$b/results/*.json "$out/baselines/$b/results/"
  done
  commit_folder "$out/baselines" "study $study: baselines (raw pixels, random encoder)" "$frozen"
fi
flock -u 9

done_rows=0
for r in "${rows[@]}"; do
  read -r name pipeline seed overrides <<<"$r"
  row=$name-seed$seed
  [[ -f $out/$row/run.json ]] && continue
  flock 9; claimed=0; claim "$row" && claimed=1; flock -u 9              # claims are made one at a time too
  [[ $claimed == 1 ]] || continue                                       # another driver is on it
  trap 'release "$row"' EXIT
  if [[ -f $out/$row/run.json ]]; then release "$row"; continue; fi     # finished while this one looked
  run=$work/$row
  echo "study: $row — make EXP=$pipeline SEED=$seed $settings $overrides (threads $threads, binaries $binaries_commit, pipeline $pipeline_commit)"
  start=$(date +%s)
  frozen_make EXP="$pipeline" SEED="$seed" RUN="$run" $settings $overrides "$run/report/index.html"
  wall=$(( $(date +%s) - start ))
  flock 9
  rm -rf "$out/$row"; mkdir -p "$out/$row/results" "$out/$row/hardness" "$out/$row/params"
  cp "$run/log.csv" "$out/$row/"
  cp "$run"/results/*.json "$out/$row/results/"
  cp "$run/hardness/summary.json" "$out/$row/hardness/"
  cp "$run"/params/*.args "$out/$row/params/"
  python3 - "$out/$row/run.json" <<EOF
import json, sys
probe = json.load(open("$out/$row/results/probe.json"))
json.dump({"study": "$study", "row": "$row", "pipeline": "$pipeline", "seed": $seed,
           "make_variables": "$settings $overrides".split(), "threads": $threads,
           "blas_core": probe.get("extra", {}).get("blas_core"), "cpu": "$cpu",
           "binaries_commit": "$binaries_commit", "pipeline_commit": "$pipeline_commit", "wall_seconds_this_shift": $wall},
          open(sys.argv[1], "w"), indent=1, sort_keys=True)
open(sys.argv[1], "a").write("\n")
EOF
  # RESULTS.md's block and the study's report follow every row, so each commit is consistent with them —
  # made by this checkout's own report (make results builds it first; the frozen binaries' report may lack
  # the current options, and the tests regenerate both with the current code); a failure never stops the study.
  make --no-print-directory results STUDY="$study" >/dev/null ||
    echo "study: make results failed — the checkout may not build now (RESULTS.md left as it was; rerun make results STUDY=$study)" >&2
  git add -- "$out/report"
  commit_folder "$out/$row" "study $study: $row" "$out/report" RESULTS.md "$frozen"
  flock -u 9
  release "$row"; trap - EXIT
  echo "study: $row finished in ${wall} s this shift"
  done_rows=$((done_rows + 1))
  [[ $max_rows -gt 0 && $done_rows -ge $max_rows ]] && break
done
echo "study: $done_rows row(s) finished; state: bash scripts/study.sh $study --list"
