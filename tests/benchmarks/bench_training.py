"""Training benchmark on the simulated world: architectures and inputs side by side.

Usage::

    python tests/benchmarks/bench_training.py [--world DIR] [--epochs 20] [--seed 0]
        [--learning-rate 3e-3] [--size full] [--skip-polaris] [--out results.json]

On the same multi-label dataset and splits, with the same loss (plain BCE), optimiser and
epoch budget, it trains Multi-resBind and DeepRiPe (sequence + region, the papers'
comparison), Multi-resBind on sequence / +region / +region+expression, POLARIS per RBP
(sequence + region + expression, the demo's settings), and prints one table:
test mean AUROC and AP, epochs, seconds and training throughput (windows per second), plus a
reload check (a saved and reloaded bundle predicts within 1e-6 of the model that saved it).
Figures are from one run on one machine; compare rows, not machines.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _world(args, work: Path) -> Path:
    if args.world:
        return Path(args.world)
    from varbind.simulate import simulate_world

    simulate_world(work / "world", seed=args.world_seed, size=args.size)
    return work / "world"


def _first(world: Path, *names: str) -> Path:
    """The first of ``names`` that exists in ``world`` (a simulated world, or the shipped
    demo world with its bgzipped genome and a peak folder without a manifest)."""
    for name in names:
        if (world / name).exists():
            return world / name
    raise SystemExit(f"{world}: none of {', '.join(names)}")


def _row(name, result, data_rows):
    fit = next(iter(result.fits.values()))
    epochs = sum(f.epochs_run for f in result.fits.values())
    seconds = sum(f.seconds for f in result.fits.values())
    windows = sum(f.windows_per_second * f.seconds for f in result.fits.values())
    return {"model": name, "rbps": len(result.meta.rbps),
            "mean_auroc": result.meta.metrics["mean_auroc"],
            "mean_ap": result.meta.metrics["mean_ap"], "epochs": epochs,
            "best_epoch": fit.best_epoch if len(result.fits) == 1 else None,
            "seconds": round(seconds, 1),
            "windows_per_s": round(windows / max(seconds, 1e-9), 1),
            "train_windows": data_rows}


def _reload_check(result, data, work: Path) -> float:
    from varbind.model.bundle import load_bundle
    from varbind.training.evaluate import predict
    from varbind.training.train import write_bundle

    out = write_bundle(result, work / "reload_check")
    bundle = load_bundle(out)
    batch = data.splits["test"].batch
    before = predict(result.model, result.meta.inputs, batch)
    after = predict(bundle.model, bundle.meta.inputs, batch)
    return float(np.abs(before - after).max())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--world", help="an existing simulated world (default: simulate one)")
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--size", default="full", choices=("tiny", "small", "full"))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--learning-rate", type=float, default=3e-3,
                   help="Adam learning rate of the multi-label models (the demo's 3e-3)")
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-polaris", action="store_true")
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    from varbind.training.demo import DEMO_SETTINGS, MULTIRESBIND_CELL_LINE
    from varbind.training.train import (
        TrainConfig,
        build_training_dataset,
        dataset_kind,
        load_dataset,
        train_multilabel,
        train_per_rbp,
    )

    rows = []
    with tempfile.TemporaryDirectory(prefix="varbind-bench-") as tmp:
        work = Path(tmp)
        world = _world(args, work)
        files = (_first(world, "peaks/manifest.tsv", "peaks"),
                 _first(world, "genome.fa", "genome.fa.gz"),
                 _first(world, "genes.gtf", "genes.gtf.gz"), _first(world, "expression.tsv"))
        ml = build_training_dataset(work / "ml.h5", *files, cell_line=MULTIRESBIND_CELL_LINE)
        data = load_dataset(ml)
        n_train = len(data.splits["train"])
        common = dict(epochs=args.epochs, patience=args.patience, seed=args.seed,
                      learning_rate=args.learning_rate, progress=False, class_weight=False)
        runs = [
            ("Multi-resBind seq+region", "multiresbind", ("sequence", "region")),
            ("DeepRiPe seq+region", "deepripe", ("sequence", "region")),
            ("Multi-resBind seq", "multiresbind", ("sequence",)),
            ("Multi-resBind seq+region+expr", "multiresbind",
             ("sequence", "region", "expression")),
        ]
        reload_diff = None
        for name, arch, inputs in runs:
            t = time.perf_counter()
            result = train_multilabel(data, TrainConfig(arch=arch, inputs=inputs, **common))
            rows.append(_row(name, result, n_train))
            print(f"{name}: mean AUROC {rows[-1]['mean_auroc']:.3f} "
                  f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)
            if reload_diff is None:
                reload_diff = _reload_check(result, data, work)
        if not args.skip_polaris:
            d = DEMO_SETTINGS
            pr = build_training_dataset(work / "pr.h5", *files, per_rbp=True,
                                        seq_length=d.polaris_seq_length,
                                        region_length=d.polaris_seq_length)
            _, rbps = dataset_kind(pr)
            per = {r: load_dataset(pr, rbp=r) for r in rbps}
            cfg = TrainConfig(arch="polaris", inputs=("sequence", "region", "expression"),
                              hparams=d.polaris_hparams, seq_length=d.polaris_seq_length,
                              optimizer=d.polaris_optimizer,
                              learning_rate=d.polaris_learning_rate, seed=args.seed,
                              progress=False, epochs=d.polaris_epochs)
            result = train_per_rbp(per, cfg)
            rows.append(_row("POLARIS per-RBP seq+reg+expr (own GC-matched negs)", result,
                             sum(len(d.splits["train"]) for d in per.values())))
            rows[-1]["median_auroc"] = float(np.median([v for v in
                                                        result.meta.metrics["auroc"].values()
                                                        if v is not None]))
    print(_table(rows, reload_diff))
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "reload_max_abs_diff": reload_diff},
                                             indent=2))
    return 0


def _table(rows, reload_diff) -> str:
    head = f"{'model':<50} {'RBPs':>4} {'AUROC':>6} {'AP':>6} {'epochs':>6} {'s':>7} {'win/s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:<50} {r['rbps']:>4} {r['mean_auroc']:>6.3f} "
                     f"{r['mean_ap']:>6.3f} {r['epochs']:>6} {r['seconds']:>7.1f} "
                     f"{r['windows_per_s']:>7.1f}")
    lines.append(f"reload check: max |prediction before save - after reload| = {reload_diff:.2e}"
                 f" ({'within' if reload_diff <= 1e-6 else 'NOT within'} 1e-6)")
    lines.append(f"cores: {os.cpu_count()}; threads: TF default")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
