#!/usr/bin/env bash
# Writes what the stages report as their build (BuildInfo.swift): the commit of the sources, whether
# Sources/ or Package.swift had uncommitted changes, and the compiler. make's build rule runs it after
# `swift build`:  bash scripts/build_info.sh > .build/release/build-info
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
if [[ $commit != unknown ]] && ! git diff --quiet HEAD -- Sources Package.swift 2>/dev/null; then dirty=true; fi
if [[ $commit != unknown && -n $(git ls-files --others --exclude-standard -- Sources 2>/dev/null) ]]; then dirty=true; fi
echo "commit=$commit"
echo "dirty=$dirty"
echo "swift=$(swift --version 2>/dev/null | head -1)"
