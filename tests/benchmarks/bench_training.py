"""Training benchmark: architecture x simulated-world size x seed, CLI defaults only.

Usage::

    python tests/benchmarks/bench_training.py [--archs multiresbind,deepripe,polaris,residualbind]
        [--sizes tiny,mini,small,medium,full] [--seeds 1,2,3] [--workdir DIR] [--out results.json]

For every (size, seed) it simulates a world (``varbind simulate --seed SEED --size SIZE``:
``tiny`` gives a few hundred multi-label training windows, ``mini`` ~500-1,000 (around the
varbind recipe's switch of head), ``small`` ~1,200-1,800, ``medium``
~3,100-3,700 (seeds 31-33), below the varbind recipe's switches at 4,000, ``full`` ~6,400;
each row records its number of training windows;
seed 0 is the demo's, so use others), builds its multi-label and per-RBP datasets with
``varbind dataset``'s defaults (the ones ``varbind train --peaks`` uses) and runs
``varbind train --arch ARCH --dataset ... --seed SEED --allow-weak -q`` for every architecture:
no tuning flags. ``--allow-weak`` only keeps the run going; the health status is reported.
Per cell it prints the mean and minimum per-RBP test AUROC, the k-mer baseline's mean test
AUROC, training windows (``train``) and epochs run (both summed over POLARIS's per-RBP
models), training seconds, weak RBPs, and checks the issue's targets within each (size, seed):

* every multi-label architecture's mean AUROC within 0.02 of the best multi-label
  architecture's, and >= 0.93 where the best reaches 0.95;
* no RBP below 0.85 where the best multi-label architecture's same RBP reaches 0.93;
* every model's mean AUROC above the k-mer baseline's on the same test windows;
* ``small``: ``varbind train`` (baseline, retries and evaluation included) takes <= 180 s
  of wall time per architecture on 2 cores; run the small worlds on an otherwise idle
  machine (the results file keeps the load average).

Only models evaluated on the **same test windows** are compared with each other: the
multi-label architectures (Multi-resBind, DeepRiPe, ResidualBind: one multi-label dataset).
Each multi-label row keeps its mean test AUROC on 200 bootstrap resamples of the world's test
windows (``mean_auroc_boot``; the same resamples for every architecture of a world), so a
miss of the 0.02 target names the gap's standard error from that paired bootstrap: a small
world's few hundred test windows measure a gap only to about +-0.01.
POLARIS trains and is tested on its own per-RBP windows (peak-centered, GC-matched
negatives, about one negative per positive), whose AUROCs are not comparable with the
multi-label bins; it is checked against its own k-mer baseline only, and each of its RBPs
is shown with the AUROC's standard error on that RBP's (small) test split.

A test split of a few hundred windows (RBPs with 4-20 positive test windows) measures a gap
only roughly, and the same world trained with another seed moves a residual model's test AUROC by
up to 0.03. So every row is also scored on **all windows of an independent judge world**
(``--judge SIZE:SEED``, default ``medium:900``: 5,868 windows of the same simulated RBPs on
another genome, simulated once into the workdir): ``judge`` is the mean AUROC over the RBPs
the judge world labels (per-RBP windows for POLARIS), and each cell prints the multi-label
gaps on it. On small world 17, three training seeds of Multi-resBind (``varbind train
--seed 17|1017|2017``) scored 0.865-0.875 on all windows of medium world 32 (``varbind
evaluate BUNDLE --dataset multilabel.h5 --split all``) where their test AUROCs spread over
0.814-0.846. The issue's targets are still checked on the world's own test windows;
``--judge none`` skips the judge.

``--panel alt`` draws every world, the judge world included, with the simulator's other ten
RBPs (``varbind simulate --panel alt``; worlds kept as ``world_alt_SIZE_SEED``), to check that
the defaults chosen on the default panel hold on other motifs; its rows are reported and kept
apart (``small-alt``; the results file's cells carry ``panel``).

``fit s`` is the kept try's fitting time (POLARIS: summed over its per-RBP models, which
``--jobs`` trains side by side); ``CPU s`` the CPU time of the whole ``varbind train``,
its worker processes included.

Results go to ``--out`` as JSON after every run (a partial matrix survives an interruption).
``--merge A.json,B.json`` joins the ``--out`` files of runs made separately (e.g. one per
world size, run side by side, or POLARIS timed alone on an idle machine), prints the table
and writes the docs results file; an input may be the docs results file itself, so new runs
are added to (and, for the same world and architecture, replace rows of) the published ones.
Rows of the same world (size, seed) join one cell (an architecture in two files keeps the
later file's row); each row keeps its run's commit, and each run's command and commit are
kept in the file's ``extra.runs``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from results import write_results  # tests/benchmarks/results.py
from training_targets import (  # tests/benchmarks/training_targets.py
    PER_RBP_ARCHS,
    bootstrap_mean_aurocs,
    check_targets,
    gap_by_arch,
    judge_gaps,
)

ARCHS = ("multiresbind", "deepripe", "polaris", "residualbind")


def world_dir(work: Path, size: str, seed: int, panel: str = "default") -> Path:
    """Where the world of ``size``, ``seed`` and RBP ``panel`` is kept in ``work``."""
    return work / (f"world_{size}_{seed}" if panel == "default" else
                   f"world_{panel}_{size}_{seed}")


def world_group(cell: dict) -> str:
    """The label a cell's world is grouped and reported under: its size, and its RBP panel
    where that is not the default (``small-alt``)."""
    panel = cell.get("panel", "default")
    return cell["size"] if panel == "default" else f"{cell['size']}-{panel}"


def world_and_datasets(work: Path, size: str, seed: int,
                       panel: str = "default") -> dict[str, Path]:
    """Simulate the world once and build both dataset kinds (cached in ``work``)."""
    from varbind.simulate import simulate_world
    from varbind.training.train import build_training_dataset

    world = world_dir(work, size, seed, panel)
    if not (world / "world.json").exists():
        simulate_world(world, seed=seed, size=size, panel=panel)
    files = (world / "peaks" / "manifest.tsv", world / "genome.fa", world / "genes.gtf",
             world / "expression.tsv")
    out = {}
    for kind, per_rbp in (("multilabel", False), ("per-rbp", True)):
        path = world / f"{kind}.h5"
        if not path.exists():
            build_training_dataset(path, *files, per_rbp=per_rbp, seed=seed)
        out[kind] = path
    return out


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children (the worker
    processes of POLARIS's ``--jobs``)."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def judge_world(work: Path, spec: str, panel: str = "default") -> dict[str, Path] | None:
    """The datasets of the judge world ``SIZE:SEED`` of RBP ``panel`` (None for ``none``),
    simulated once."""
    if spec == "none":
        return None
    from varbind.simulate import SIZES

    size, _, seed = spec.partition(":")
    if size not in SIZES or not seed.isdigit():
        raise SystemExit(f"--judge {spec!r}: give SIZE:SEED (e.g. medium:900) or none")
    return world_and_datasets(work, size, int(seed), panel)


def judge_scores(bundle, dataset: Path) -> dict:
    """A loaded bundle's AUROC per RBP on all windows of a judge world's ``dataset`` and
    their mean (``judge_mean_auroc``, ``judge_auroc``)."""
    from varbind.training.evaluate import evaluate_bundle

    metrics = evaluate_bundle(bundle, dataset, "all")[0]
    if metrics["mean_auroc"] is None:
        return {}
    return {"judge_mean_auroc": round(metrics["mean_auroc"], 4),
            "judge_auroc": {r: round(v, 4) for r, v in metrics["auroc"].items()
                            if v is not None}}


def train_cell(arch: str, dataset: Path, seed: int, work: Path,
               judge: Path | None = None) -> dict:
    """``varbind train`` with defaults; the row of one (architecture, world) cell, scored
    on the judge world's ``judge`` dataset too when given."""
    from varbind.cli import main
    from varbind.model.bundle import load_bundle, read_meta
    from varbind.training.evaluate import auroc_errors

    out = work / f"bundle_{arch}"
    start = time.perf_counter()
    cpu = cpu_seconds()
    code = main(["-q", "train", "--arch", arch, "--dataset", str(dataset), "--out", str(out),
                 "--seed", str(seed), "--allow-weak"])
    wall = time.perf_counter() - start
    used = cpu_seconds() - cpu
    if code != 0:
        return {"arch": arch, "error": f"exit status {code}"}
    meta = read_meta(out)
    m, t = meta.metrics, meta.training
    members = list(t["members"].values()) if "members" in t else [t]
    auroc = {r: v for r, v in m["auroc"].items() if v is not None}
    bundle = load_bundle(out)  # once, for the bootstrap and the judge
    boot = {} if arch in PER_RBP_ARCHS else {
        "mean_auroc_boot": bootstrap_on_test_windows(bundle, dataset, seed)}
    return {"arch": arch, "rbps": len(meta.rbps), "mean_auroc": m["mean_auroc"],
            "min_auroc": min(auroc.values()), "min_rbp": min(auroc, key=auroc.get),
            "mean_ap": m["mean_ap"], "auroc": auroc,
            "baseline_mean_auroc": m["baseline"]["mean_auroc"],
            "epochs": sum(x["epochs_run"] for x in members),
            "train_windows": sum(x["n_windows"]["train"] for x in members),
            "train_seconds": round(sum(x["seconds"] for x in members), 1),
            "wall_seconds": round(wall, 1), "cpu_seconds": round(used, 1),
            "weak": sorted(meta.weak_rbps()),
            "auroc_se": {r: se for r, se in auroc_errors(m).items() if se is not None},
            **boot, **(judge_scores(bundle, judge) if judge else {})}


def bootstrap_on_test_windows(bundle, dataset: Path, seed: int) -> list[float]:
    """A loaded bundle's mean test AUROC over its RBPs on ``BOOT_ROUNDS`` resamples of the
    dataset's test windows (:func:`training_targets.bootstrap_mean_aurocs`)."""
    from varbind.training.evaluate import evaluate_bundle

    _, _, labels, scores = evaluate_bundle(bundle, dataset, "test")
    return bootstrap_mean_aurocs(labels[0], scores[0], seed)  # multi-label: one group


def table(results: list[dict]) -> str:
    head = (f"{'size':<9} {'seed':>4} {'architecture':<13} {'RBPs':>4} {'mean':>6} {'min':>6} "
            f"{'(RBP)':<8} {'k-mer':>6} {'train':>6} {'epochs':>6} {'fit s':>6} {'wall s':>6} "
            f"{'CPU s':>6} {'judge':>6}  weak")
    lines = [head, "-" * len(head)]
    for cell in results:
        for r in cell["rows"]:
            if "error" in r:
                lines.append(f"{world_group(cell):<9} {cell['seed']:>4} {r['arch']:<13} "
                             f"{r['error']}")
                continue
            lines.append(f"{world_group(cell):<9} {cell['seed']:>4} {r['arch']:<13} {r['rbps']:>4} "
                         f"{r['mean_auroc']:>6.3f} {r['min_auroc']:>6.3f} {r['min_rbp']:<8} "
                         f"{r['baseline_mean_auroc']:>6.3f} {r.get('train_windows', '-'):>6} "
                         f"{r['epochs']:>6} "
                         f"{r['train_seconds']:>6.0f} {r['wall_seconds']:>6.0f} "
                         f"{r['cpu_seconds']:>6.0f} "
                         f"{_judged(r):>6}  "
                         f"{','.join(r['weak']) or '-'}")
        for r in cell["rows"]:
            if r["arch"] in PER_RBP_ARCHS and "error" not in r:
                lines.append(f"{'':<9} {r['arch']} per RBP (own windows, test AUROC ± SE): "
                             + ", ".join(f"{k} {v:.2f}±{r['auroc_se'][k]:.2f}"
                                         for k, v in r["auroc"].items()))
        gaps = judge_gaps(cell["rows"])
        if gaps:
            lines.append(f"{'':<9} judge-world gaps to the best multi-label model: {gaps}")
        misses = cell.get("misses", [])
        lines.append(f"{'':<9} targets: {'all met' if not misses else '; '.join(misses)}")
    return "\n".join(lines)


def _judged(row: dict) -> str:
    """A row's judge AUROC for the table ("-" when not judged)."""
    return f"{row['judge_mean_auroc']:.3f}" if "judge_mean_auroc" in row else "-"


def spread(results: list[dict]) -> str:
    """Per (world group, architecture): median, min and max of the mean AUROC over seeds."""
    import numpy as np

    lines = []
    groups: dict[tuple, list] = {}
    for cell in results:
        for r in cell["rows"]:
            if "error" not in r:
                groups.setdefault((world_group(cell), r["arch"]), []).append(r["mean_auroc"])
    for (size, arch), vals in groups.items():
        lines.append(f"{size:<9} {arch:<13} seeds {len(vals)}: mean AUROC median "
                     f"{np.median(vals):.3f} (min {min(vals):.3f}, max {max(vals):.3f})")
    return "\n".join(lines)


def main(argv=None) -> int:
    from varbind.simulate.panel import PANELS, SIZES

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--seeds", default="1,2,3", help="world and training seeds (not the demo's 0)")
    p.add_argument("--workdir", default=None, help="keep worlds, datasets and bundles here")
    p.add_argument("--out", default=None, help="write results as JSON here")
    p.add_argument("--panel", default="default", choices=tuple(PANELS),
                   help="the simulated worlds' RBPs (varbind simulate --panel), the judge "
                        "world's too; rows of another panel are reported apart (small-alt)")
    p.add_argument("--judge", default="medium:900",
                   help="SIZE:SEED of the independent world every model is also scored on "
                        "(all its windows), or none")
    p.add_argument("--results", default=None,
                   help="docs results file (default docs/results/bench_training.json)")
    p.add_argument("--merge", default=None,
                   help="join the --out files of earlier runs (comma-separated) instead of "
                        "training")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    if args.merge:
        runs = [merge_input(json.loads(Path(f).read_text())) for f in args.merge.split(",")]
        return report(join_cells(runs), args.results,
                      {"runs": [r for run in runs for r in run_records(run)]})
    import tempfile

    work = Path(args.workdir or tempfile.mkdtemp(prefix="varbind-bench-training-"))
    work.mkdir(parents=True, exist_ok=True)
    judge = judge_world(work, args.judge, args.panel)
    results = []
    for size in args.sizes.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            data = world_and_datasets(work, size, seed, args.panel)
            cell = {"size": size, "seed": seed, "rows": []}
            if args.panel != "default":
                cell["panel"] = args.panel
            results.append(cell)
            for arch in args.archs.split(","):
                kind = "per-rbp" if arch == "polaris" else "multilabel"
                row = train_cell(arch, data[kind], seed, world_dir(work, size, seed, args.panel),
                                 judge[kind] if judge else None)
                cell["rows"].append(row)
                print(f"{world_group(cell)} seed {seed} {arch}: {json.dumps(row)}", file=sys.stderr,
                      flush=True)
                cell["misses"] = check_targets(cell["rows"], size)
                if args.out:
                    Path(args.out).write_text(json.dumps(_summary(results), indent=2))
    return report(results, args.results)


def merge_input(loaded: dict) -> dict:
    """A ``--merge`` input: an ``--out`` file, or a docs results file written by an earlier
    merge (its cells and runs are under ``extra``), so that new runs can be added to it."""
    return loaded.get("extra", loaded)


def run_records(run: dict) -> list[dict]:
    """The command, commit and processor (``cpu``, where recorded) of every run behind ``run``
    (an earlier merge lists its runs)."""
    if "runs" in run:
        return list(run["runs"])
    record = {k: run.get(k) for k in ("command", "commit")}
    return [record | ({"cpu": run["cpu"]} if "cpu" in run else {})]


def join_cells(runs: list[dict]) -> list[dict]:
    """The cells of ``runs`` with the rows of one world (group, seed) joined into one cell, so
    that architectures run separately (e.g. POLARIS alone on an idle machine) are compared
    as if run together; an architecture in two runs of one world keeps the later run's row.
    Each row records the commit of its run (``commit``)."""
    cells: dict[tuple, dict] = {}
    for run in runs:
        for cell in run["cells"]:
            joined = cells.setdefault((world_group(cell), cell["seed"]), {
                **{k: cell[k] for k in ("size", "seed", "panel") if k in cell}, "rows": {}})
            for row in cell["rows"]:
                joined["rows"][row["arch"]] = {**row, "commit": row.get("commit",
                                                                        run.get("commit"))}
    return [{**c, "rows": list(c["rows"].values())} for c in cells.values()]


def report(results: list[dict], results_file: str | None, extra: dict | None = None) -> int:
    """Print the table and the spread, write the docs results file."""
    for cell in results:
        cell["misses"] = check_targets(cell["rows"], cell["size"])
    print(table(results))
    print(spread(results))
    print(f"cores: {os.cpu_count()}; CLI defaults (recipe varbind); load average at the end: "
          f"{os.getloadavg()[0]:.1f}")
    print("compared with each other: the multi-label architectures only (same test windows); "
          f"{', '.join(PER_RBP_ARCHS)}: own per-RBP windows, against its own k-mer baseline "
          "only; small target: wall seconds of the whole varbind train on an idle machine")
    write_results("bench_training", results_figures(results), path=results_file,
                  extra={**_summary(results), **(extra or {})})
    return 0


def results_figures(results: list[dict]) -> list[dict]:
    """Per world size and architecture: mean test AUROC over seeds (one value per seed),
    the k-mer baseline's, and the targets missed (``results.py`` schema)."""
    from results import figure

    groups: dict = {}
    for cell in results:
        for r in cell["rows"]:
            groups.setdefault((world_group(cell), r["arch"]), []).append(r)
    figs = []
    for (size, arch), rows in groups.items():
        misses = [m for cell in results if world_group(cell) == size
                  for m in cell.get("misses", []) if m.startswith(arch + " ")]
        figs.append(figure(f"mean_auroc_{size}_{arch}", [r["mean_auroc"] for r in rows],
                           label=f"{arch}, {size} worlds: mean test AUROC over RBPs",
                           note=(f"{len(rows)} seed(s); k-mer baseline "
                                 f"{sum(r['baseline_mean_auroc'] for r in rows) / len(rows):.3f}"
                                 + ("; MISSED: " + "; ".join(misses) if misses else ""))))
        judged = [r for r in rows if "judge_mean_auroc" in r]
        if judged:
            figs.append(figure(f"judge_auroc_{size}_{arch}",
                               [r["judge_mean_auroc"] for r in judged],
                               label=f"{arch}, {size} worlds: mean AUROC on the judge world",
                               note=f"{len(judged)} seed(s); all windows of the judge world"))
    return figs + wall_figures(groups) + gap_figures(results)


def wall_figures(groups: dict) -> list[dict]:
    """Per world size and architecture: wall seconds of the whole ``varbind train`` (one
    value per seed; the small worlds' target of 180 s on the median, each run over it named
    in the note and among the misses)."""
    from results import figure

    figs = []
    for (size, arch), rows in groups.items():
        walls = [r["wall_seconds"] for r in rows if "wall_seconds" in r]
        if not walls:
            continue
        over = sum(w > 180 for w in walls)
        figs.append(figure(f"wall_seconds_{size}_{arch}", walls, unit="s", digits=0,
                           label=f"{arch}, {size} worlds: wall seconds of varbind train",
                           target=("<=", 180) if size == "small" else None,
                           note=f"{len(walls)} seed(s)"
                                + (f"; {over} over 180 s" if size == "small" else "")))
    return figs


def gap_figures(results: list[dict]) -> list[dict]:
    """Per world size and multi-label architecture: its mean AUROC minus the best
    multi-label architecture's of the same world, on the test split (``test_gap_``, every
    world) and on the judge world (``judge_gap_``, judged worlds)."""
    from results import figure

    gaps: dict = {}
    for cell in results:
        rows = [r for r in cell["rows"] if "error" not in r]
        for kind, key in (("test", "mean_auroc"), ("judge", "judge_mean_auroc")):
            for arch, gap in gap_by_arch(rows, key).items():
                gaps.setdefault((kind, world_group(cell), arch), []).append(round(gap, 4))
    where = {"test": "test split", "judge": "judge world"}
    return [figure(f"{kind}_gap_{size}_{arch}", values,
                   label=f"{arch}, {size} worlds: mean AUROC minus the best multi-label "
                         f"one's on the {where[kind]}",
                   note=f"{len(values)} world(s); 0 where it is the best")
            for (kind, size, arch), values in gaps.items()]


def _summary(results: list[dict]) -> dict:
    """A run's record: its commit, command, cores, processor and cells."""
    from results import command_line, cpu_model, git_commit

    return {"commit": git_commit()[0], "command": command_line(), "cores": os.cpu_count(),
            "cpu": cpu_model(), "cells": results}


if __name__ == "__main__":
    sys.exit(main())
