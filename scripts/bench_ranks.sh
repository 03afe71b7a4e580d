#!/usr/bin/env bash
# Data-parallel throughput on this machine: one pretrain epoch at 1 rank × T threads against T ranks ×
# 1 thread, on the same views, wall time of the whole command (docs/scale.md "Measured").
# Usage: bash scripts/bench_ranks.sh [IMAGES (5120)] [THREADS (2)] [WIDTH (16)]
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-5120} threads=${2:-2} width=${3:-16}
bin=.build/release work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=(); [[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
mpi=(mpirun -np "$threads" --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none "${root[@]}")
"$bin/ingest" dataset data/fashion-mnist/train.safetensors.zst --limit "$images" --out "$work/d.st.zst" >/dev/null
seconds() { local s e; s=$(date +%s.%N); "$@" > "$work/out.txt" 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
for objective in moco simclr; do
  recipe=mocov2; [[ $objective == simclr ]] && recipe=simclr
  NS_QUIET=1 "$bin/augment" --dataset "$work/d.st.zst" --recipe $recipe --epoch 1 --seed 1 --out "$work/v.st.zst"
  run=(--views "$work/v.st.zst" --objective $objective --sampler uniform --width "$width" --batch 256 --bn-splits 8
       --queue 4096 --epochs 1 --seed 0 --out "$work/o.st.zst")
  one=$(seconds "$bin/pretrain" "${run[@]}" --threads "$threads")
  many=$(seconds "${mpi[@]}" "$bin/pretrain" "${run[@]}" --threads 1)
  printf '%s w%s: 1 rank × %s threads %.0f img/s, %s ranks × 1 thread %.0f img/s (%.2f×); %s\n' $objective "$width" "$threads" \
    "$(echo "$images / $one" | bc -l)" "$threads" "$(echo "$images / $many" | bc -l)" "$(echo "$one / $many" | bc -l)" \
    "$(grep -o 'ranks: .*' "$work/out.txt")"
done
