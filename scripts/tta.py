#!/usr/bin/env python3
"""Time to accuracy: the default recipe trained by this project and by PyTorch in the same run (`make tta`).

usage: tta.py --bin .build/release --pretrain-set P --train T --test S --out DIR --pretrain-args "…"
              [--objective simclr] [--recipe simclr] [--epochs 3] [--batch 128] [--lr 0.12] [--tau 0.2] …
              [--threads 2] [--monitor-limit 10000] [--budgets 60,120,300,600] [--no-torch]

Both engines train on the very same views (the project's augment stage, made before any clock starts)
with the same settings and thread count, taking turns epoch by epoch (ours, then PyTorch's), so that the
drift of a shared machine's speed falls on both alike. After every epoch each encoder is scored
the same way, off the clock: the kNN monitor's protocol (the project's `embed` + `knn`: k 200, τ 0.1 on
the L2-normalised projection, the first --monitor-limit training images against the whole test split).
The target is the raw-pixel kNN under the same protocol. Reported per engine: the training seconds
(wall time of the epochs only: pretrain processes for the project, the training loop for PyTorch) at
which kNN first reaches the raw-pixel level, and the kNN of the last epoch finished within each budget.
Writes DIR/tta.json and prints the table. PyTorch runs when `import torch` works (else --no-torch).
"""
import argparse
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import torch_calibrate  # noqa: E402  (the PyTorch recipe and its settings; torch itself is optional)


def run(cmd, quiet=True):
    env = dict(os.environ, NS_QUIET="1")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"tta: {' '.join(cmd[:2])} failed ({r.returncode}): {r.stderr.strip()[-600:]}")
    return r.stdout


def knn_top1(a, features_train, features_test, out):
    run([f"{a.bin}/knn", "--train", features_train, "--test", features_test, "--feature", "projection",
         "--k", "200", "--tau", "0.1", "--out", out])
    return float(json.load(open(out))["results"]["top1"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--pretrain-set", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--pretrain-args", required=True, help="the project's pretrain arguments (make's PRETRAIN_ARGS)")
    p.add_argument("--sampler", default="uniform")
    torch_calibrate.add_recipe_arguments(p, epochs=3, batch=128, lr=0.12)   # the default job's recipe
    p.add_argument("--monitor-limit", type=int, default=10000)
    p.add_argument("--budgets", default="60,120,300,600,1200")
    p.add_argument("--no-torch", action="store_true")
    a = p.parse_args()
    budgets = [float(b) for b in a.budgets.split(",") if b]
    use_torch = not a.no_torch
    if use_torch:
        if torch_calibrate.torch is None or torch_calibrate.np is None:
            print(f"tta: {'torch' if torch_calibrate.torch is None else 'numpy'} is not importable; the PyTorch column is left out "
                  "(python3 -m venv DIR; DIR/bin/pip install torch numpy safetensors zstandard; DIR/bin first on PATH)", file=sys.stderr)
            use_torch = False
        elif a.sampler != "uniform":
            sys.exit(f"tta: the PyTorch recipe has no sampler '{a.sampler}' (uniform only); run with --no-torch")
    os.makedirs(a.out, exist_ok=True)
    work = lambda *p: os.path.join(a.out, *p)

    # Off the clock: the views of every epoch, the monitor's train subset and the raw-pixel target.
    monitor_train = work("monitor-train.safetensors.zst")
    run([f"{a.bin}/ingest", "dataset", a.train, "--limit", str(a.monitor_limit), "--out", monitor_train])
    for split, data in [("train", monitor_train), ("test", a.test)]:
        run([f"{a.bin}/embed", "--encoder", "raw", "--dataset", data, "--out", work("raw", f"{split}.safetensors.zst")])
    target = knn_top1(a, work("raw", "train.safetensors.zst"), work("raw", "test.safetensors.zst"), work("raw", "knn.json"))
    views = []
    for e in range(1, a.epochs + 1):
        v = work("views", f"epoch-{e:03d}.safetensors.zst")
        run([f"{a.bin}/augment", "--dataset", a.pretrain_set, "--epoch", str(e), "--recipe", a.recipe, "--seed", str(a.seed),
             *a.augment_extra.split(), "--threads", str(a.threads), "--out", v])
        views.append(v)
    print(f"tta: raw-pixel kNN {target:.2f} (monitor protocol: {a.monitor_limit} train images, k 200, τ 0.1, projection); "
          f"{a.epochs} epochs of views ready", flush=True)

    engines = {"ours": []}
    recipe = None
    if use_torch:
        import torch
        torch.set_num_threads(a.threads)
        recipe = torch_calibrate.TorchRecipe(a)
        engines["torch"] = []
    # The engines take turns epoch by epoch (ours, then PyTorch's, on the same views), so both train under
    # the same drift of a shared machine's speed; each engine's clock counts only its own training.
    clocks, previous = {"ours": 0.0, "torch": 0.0}, None

    def take_turn(name, e, train, features):
        """One epoch of one engine: train on the clock, then its features of both splits and their kNN off it."""
        start = time.perf_counter()
        train()
        clocks[name] += time.perf_counter() - start
        for split, data in [("train", monitor_train), ("test", a.test)]:
            features(data, work(name, f"{split}-{e:03d}.safetensors.zst"))
        top1 = knn_top1(a, work(name, f"train-{e:03d}.safetensors.zst"), work(name, f"test-{e:03d}.safetensors.zst"),
                        work(name, f"knn-{e:03d}.json"))
        engines[name].append({"epoch": e, "seconds": clocks[name], "knn": top1})
        print(f"tta: {name:5s} epoch {e}: {clocks[name]:7.1f} s, kNN {top1:.2f}", flush=True)

    for e, v in enumerate(views, start=1):
        # This project: one pretrain process per epoch, as make runs it.
        ckpt = work("ours", f"epoch-{e:03d}.safetensors.zst")
        cmd = [f"{a.bin}/pretrain", "--views", v, *(["--resume", previous] if previous else []), *a.pretrain_args.split(),
               "--threads", str(a.threads), "--out", ckpt]
        take_turn("ours", e, lambda: run(cmd),
                  lambda data, out: run([f"{a.bin}/embed", "--encoder", "checkpoint", "--checkpoint", ckpt, "--dataset", data,
                                         "--threads", str(a.threads), "--out", out]))
        if previous:
            os.remove(previous)
        previous = ckpt
        if recipe is not None:
            take_turn("torch", e, lambda: recipe.train_epoch(v), recipe.save_features)

    def reached(rows):
        return next((r["seconds"] for r in rows if r["knn"] >= target), None)

    def within(rows, budget):
        done = [r for r in rows if r["seconds"] <= budget]
        return done[-1]["knn"] if done else None

    machine = run([f"{a.bin}/bench", "machine", "--threads", str(a.threads)]).strip()
    summary = {"target_knn_raw_pixels": target, "engines": engines, "budgets_seconds": budgets, "threads": a.threads,
               "machine": json.loads(machine) if machine.startswith("{") else machine,
               "settings": {k: v for k, v in vars(a).items() if k not in ("bin", "out")},
               "time_to_target": {name: reached(rows) for name, rows in engines.items()},
               "knn_within_budget": {name: {str(int(b)): within(rows, b) for b in budgets} for name, rows in engines.items()}}
    if use_torch:
        import torch
        summary["torch"] = torch.__version__
    with open(work("tta.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)

    print(f"\ntime to the raw-pixel kNN level ({target:.2f}), training seconds at {a.threads} threads:")
    for name, rows in engines.items():
        t = reached(rows)
        print(f"  {name:5s} {'not reached in ' + str(len(rows)) + ' epochs' if t is None else f'{t:.1f} s'}")
    if "torch" in engines and reached(engines["ours"]) and reached(engines["torch"]):
        print(f"  ratio (PyTorch ÷ ours): {reached(engines['torch']) / reached(engines['ours']):.2f}×")
    print("kNN of the last epoch finished within each budget:")
    print("  budget  " + "  ".join(f"{name:>6s}" for name in engines))
    for b in budgets:
        cells = [within(rows, b) for rows in engines.values()]
        print(f"  {int(b):5d} s " + "  ".join("     —" if c is None else f"{c:6.2f}" for c in cells))
    print(f"tta: {work('tta.json')}")


if __name__ == "__main__":
    main()
