#!/usr/bin/env python3
"""Writes a run folder's run.json (the Makefile calls it on every make of the run): every make variable
that shapes the run, the checkout's commit and dirty flag, and the machine and build of the binaries
(`bench machine`: CPU model and vector extensions, BLAS kernel, threads, their commit and compiler).
The file is rewritten only when its content changes, so it never makes anything look out of date.

    python3 scripts/run_json.py --out RUN/run.json --machine "$(bench machine --threads N)" NAME=value ...
"""
import json
import os
import subprocess
import sys


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv):
    out, machine, variables = None, {}, {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--out", "--machine") and i + 1 < len(argv):
            if a == "--out":
                out = argv[i + 1]
            else:
                try:
                    machine = json.loads(argv[i + 1])
                except json.JSONDecodeError as e:
                    sys.exit(f"run_json: --machine is not JSON ({e})")
            i += 2
            continue
        name, eq, value = a.partition("=")
        if not eq or not name:
            sys.exit(f"run_json: expected NAME=value, got '{a}'")
        variables[name] = value.strip()
        i += 1
    if not out:
        sys.exit("run_json: --out is required")
    commit = git("rev-parse", "HEAD")
    dirty = None if commit is None else bool(git("status", "--porcelain", "--untracked-files=no"))
    doc = {
        "make_variables": variables,
        "checkout": {"commit": commit, "dirty": dirty},
        "binaries": {k: machine.get(k) for k in ("commit", "dirty", "swift", "version")},
        "machine": {k: machine.get(k) for k in ("cpu_model", "cpu_vector_extensions", "build_target", "cores", "threads", "blas_core")},
    }
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    try:
        with open(out) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv[1:])
