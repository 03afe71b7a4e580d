#!/usr/bin/env bash
# make's progress line before a stage:  progress.sh K N STAGE [RUN EPOCH EPOCHS]
# "make: [3/8] pretrain epoch 4 of 10 — about 18 min left of pretraining (6 min an epoch), then 5 short stages".
# The estimate comes from RUN/epoch-times (the pretrain rule appends "EPOCH SECONDS-SINCE-1970" after each
# epoch, and starts the file afresh with epoch 1), so it needs no other state and survives an interrupted make.
set -uo pipefail
k=$1 n=$2 stage=$3
line="make: [$k/$n] $stage"
if [[ $# -ge 6 ]]; then
  run=$4 epoch=$((10#$5)) epochs=$6
  line+=" epoch $epoch of $epochs"
  times=$run/epoch-times
  if [[ -f $times ]] && (( $(wc -l < "$times") >= 2 )); then
    # the median of the gaps between consecutive epochs (an interrupted make's idle gap does not count)
    per=$(awk 'NR > 1 { print $2 - t } { t = $2 }' "$times" | sort -n | awk '{ v[NR] = $1 } END { print int(v[int((NR + 1) / 2)]) }')
    if (( per > 0 )); then
      left=$(( per * (epochs - epoch + 1) ))
      fmt() { if (( $1 >= 120 )); then echo "$(( ($1 + 30) / 60 )) min"; else echo "$1 s"; fi; }
      line+=" — about $(fmt $left) left of pretraining ($(fmt $per) an epoch), then $((n - k)) shorter stages"
    fi
  fi
fi
echo "$line"
