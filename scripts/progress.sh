#!/usr/bin/env bash
# make's progress line before a stage:  progress.sh K N STAGE [RUN EPOCH EPOCHS]
# "make: [3/8] pretrain epoch 4 of 10 — about 18 min left of pretraining (the last epoch took 6 min)".
# The estimate comes from the times of the run's checkpoints (one per epoch), so it needs no state.
set -uo pipefail
k=$1 n=$2 stage=$3
line="make: [$k/$n] $stage"
if [[ $# -ge 6 ]]; then
  run=$4 epoch=$((10#$5)) epochs=$6
  line+=" epoch $epoch of $epochs"
  if (( epoch >= 3 )); then
    a=$(printf '%s/ckpt/epoch-%03d.safetensors.zst' "$run" $((epoch - 2)))
    b=$(printf '%s/ckpt/epoch-%03d.safetensors.zst' "$run" $((epoch - 1)))
    if [[ -f $a && -f $b ]]; then
      per=$(( $(stat -c %Y "$b") - $(stat -c %Y "$a") ))
      if (( per > 0 )); then
        left=$(( per * (epochs - epoch + 1) ))
        fmt() { if (( $1 >= 120 )); then echo "$(( ($1 + 30) / 60 )) min"; else echo "$1 s"; fi; }
        line+=" — about $(fmt $left) left of pretraining (the last epoch took $(fmt $per))"
      fi
    fi
  fi
fi
echo "$line"
