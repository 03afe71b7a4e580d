#!/usr/bin/env bash
# splice_results.sh FILE STUDY SUMMARY [CHARTS]: replaces FILE's block for STUDY — the lines between
#   <!-- begin: make results STUDY=STUDY -->  and  <!-- end: make results STUDY=STUDY -->
# — with SUMMARY (the report's summary.md, its chart links pointing at CHARTS, default the summary's own
# charts/ folder); appends the block when
# FILE has none. Nothing outside the markers changes; the file is replaced in one rename.
set -euo pipefail
[[ $# -eq 3 || $# -eq 4 ]] || { echo "usage: splice_results.sh FILE STUDY SUMMARY [CHARTS]" >&2; exit 64; }
file=$1 study=$2 summary=$3
[[ -f $summary ]] || { echo "splice_results: no summary '$summary'" >&2; exit 66; }
begin="<!-- begin: make results STUDY=$study -->" end="<!-- end: make results STUDY=$study -->"
charts=${4:-$(dirname "$summary")/charts/}
block=$(mktemp); tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$block" "$tmp"' EXIT
{ echo "$begin"; sed "s#](charts/#](${charts}#g; s/^## /#### /; s/^# /### /" "$summary"; echo "$end"; } > "$block"
if [[ -f $file ]] && grep -qxF "$begin" "$file"; then
  grep -qxF "$end" "$file" || { echo "splice_results: $file has '$begin' without its end marker" >&2; exit 65; }
  awk -v b="$begin" -v e="$end" -v blk="$block" '
    $0 == b { while ((getline line < blk) > 0) print line; skip = 1; next }
    $0 == e { skip = 0; next }
    !skip' "$file" > "$tmp"
else
  { [[ -f $file ]] && cat "$file" && echo; cat "$block"; } > "$tmp"
fi
chmod --reference="$file" "$tmp" 2>/dev/null || true
mv "$tmp" "$file"
echo "$file: block for study $study rewritten from $summary"
