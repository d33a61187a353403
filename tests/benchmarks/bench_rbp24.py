"""RBP-24 benchmark (GraphProt CLIP sets): every architecture, CLI defaults, train -> ls.

Usage::

    python tests/benchmarks/bench_rbp24.py [--data ../shared/data/rbp24] [--sets A,B]
        [--archs multiresbind,rnassr] [--workdir DIR] [--json results.json]
        [--train-arg=--epochs=5 ...]

For each set in ``--data`` (``<SET>.train.{positives,negatives}.fa.gz`` and
``<SET>.ls.{positives,negatives}.fa.gz``) it builds the dataset with ``varbind dataset --kind
per-rbp --positives ... --test-positives ...`` (the ls files are the test split) and trains
each architecture with ``varbind train --arch ARCH --dataset ... --out ...`` in a subprocess,
with the CLI's defaults unless ``--train-arg`` adds flags (then the run is not the default
protocol, and the table says so). It prints a set x architecture table of test AUROC beside
the published columns, the means over the sets, and the training time per model, and writes
the same to ``--json`` after every model, and the per-architecture means to
``docs/results/bench_rbp24.json`` (``--results``, through ``results.py``) at the end (a
partial run keeps what it finished; an existing bundle in ``--workdir`` is reused unless
``--retrain``).

Training time is the wall-clock time of ``varbind train`` (RNA folding included for
``rnassr``, cached in ``--workdir``/cache after the first run); on a shared machine it
depends on the load. Figures are from one run (one seed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from results import figure, write_results  # tests/benchmarks/results.py

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "rbp24"
ARCHS = ("multiresbind", "deepripe", "polaris", "residualbind", "rnassr")
#: Published test AUROC (the data README: RNASSR-Net paper Table 1, MCNN / WVDL supplements).
PUBLISHED_COLUMNS = ("GraphProt", "iDeepE", "RNASSR-Net", "MCNN", "WVDL")
PUBLISHED = {
    "PARCLIP_PUM2": (0.954, 0.967, 0.979, 0.973, 0.973),
    "PARCLIP_QKI": (0.957, 0.970, 0.981, 0.974, 0.975),
    "PARCLIP_IGF2BP123": (0.889, 0.947, 0.970, 0.975, 0.977),
    "CLIPSEQ_ELAVL1": (0.955, 0.979, 0.983, 0.982, 0.982),
    "C22ORF28_Baltz2012": (0.751, 0.837, 0.865, 0.883, 0.883),
}


def find_sets(data: Path) -> list[str]:
    """Set names with all four files present, in the order of :data:`PUBLISHED` first."""
    names = {p.name.split(".")[0] for p in data.glob("*.train.positives.fa.gz")}
    complete = [n for n in names if all((data / f"{n}.{part}.fa.gz").exists() for part in
                                        ("train.positives", "train.negatives",
                                         "ls.positives", "ls.negatives"))]
    return sorted(complete, key=lambda n: (n not in PUBLISHED, list(PUBLISHED).index(n)
                                           if n in PUBLISHED else 0, n))


def varbind(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "varbind", *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def build_dataset(data: Path, name: str, work: Path) -> Path:
    out = work / f"{name}.h5"
    if out.exists():
        return out
    f = {part: str(data / f"{name}.{part}.fa.gz") for part in
         ("train.positives", "train.negatives", "ls.positives", "ls.negatives")}
    run = varbind("dataset", "--kind", "per-rbp", "--positives", f["train.positives"],
                  "--negatives", f["train.negatives"], "--test-positives", f["ls.positives"],
                  "--test-negatives", f["ls.negatives"], "--name", name, "-o", str(out))
    if run.returncode:
        raise SystemExit(f"varbind dataset failed for {name}:\n{run.stderr}")
    return out


def train(dataset: Path, name: str, arch: str, work: Path, extra: list[str],
          retrain: bool) -> dict:
    """Train (or reuse) one bundle; return its test AUROC, time and epochs."""
    out = work / name / arch
    meta_path = out / "model.json"
    seconds = None
    if retrain or not meta_path.exists():
        start = time.perf_counter()
        run = varbind("-q", "train", "--arch", arch, "--dataset", str(dataset), "--out",
                      str(out), "--structure-cache", str(work / "cache"), *extra)
        seconds = time.perf_counter() - start
        if run.returncode:
            return {"error": run.stderr.strip().splitlines()[-1] if run.stderr else "failed",
                    "seconds": round(seconds, 1)}
        (out / "bench_seconds.txt").write_text(f"{seconds:.1f}\n")
    elif (out / "bench_seconds.txt").exists():
        seconds = float((out / "bench_seconds.txt").read_text())
    meta = json.loads(meta_path.read_text())
    training = meta.get("training", {})
    return {"auroc": meta["metrics"]["auroc"][name], "seconds": seconds and round(seconds, 1),
            "fit_seconds": training.get("seconds"), "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"), "window": meta.get("window")}


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def table(results: dict, sets: list[str], archs: list[str]) -> str:
    def fmt(v, width=8):
        return f"{v:>{width}.3f}" if isinstance(v, float) else f"{'-':>{width}}"

    head = f"{'set':<20}" + "".join(f"{a:>13}" for a in archs) + \
        "".join(f"{c:>11}" for c in PUBLISHED_COLUMNS)
    lines = ["test AUROC (train -> ls)", head]
    for s in sets:
        row = f"{s:<20}" + "".join(fmt(results[s].get(a, {}).get("auroc"), 13) for a in archs)
        pub = PUBLISHED.get(s, (None,) * len(PUBLISHED_COLUMNS))
        lines.append(row + "".join(fmt(v, 11) for v in pub))
    means = [mean(results[s].get(a, {}).get("auroc") for s in sets) for a in archs]
    pub_means = [mean(PUBLISHED.get(s, (None,) * 5)[i] for s in sets)
                 for i in range(len(PUBLISHED_COLUMNS))]
    lines.append(f"{'mean':<20}" + "".join(fmt(m, 13) for m in means)
                 + "".join(fmt(m, 11) for m in pub_means))
    lines += ["", "training time per model (minutes, wall clock of varbind train)",
              head[:20 + 13 * len(archs)]]
    for s in sets:
        minutes = [(results[s].get(a, {}).get("seconds") or 0) / 60 or None for a in archs]
        lines.append(f"{s:<20}" + "".join(fmt(m, 13) for m in minutes))
    errors = [f"{s} {a}: {r['error']}" for s in sets for a, r in results[s].items()
              if "error" in r]
    return "\n".join(lines + ([""] + errors if errors else []))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--sets", help="comma-separated set names (default: all in --data)")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--workdir", type=Path, default=REPO / ".bench")
    p.add_argument("--json", type=Path, help="results JSON (default: WORKDIR/rbp24.json)")
    p.add_argument("--train-arg", action="append", default=[],
                   help="extra flag for varbind train (not the default protocol)")
    p.add_argument("--retrain", action="store_true", help="retrain existing bundles")
    p.add_argument("--results", type=Path, default=None,
                   help="summary for the docs (default docs/results/bench_rbp24.json)")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: no such folder (pass --data with the RBP-24 sets)")
    sets = args.sets.split(",") if args.sets else find_sets(args.data)
    archs = args.archs.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    out_json = args.json or args.workdir / "rbp24.json"
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    results: dict = {s: {} for s in sets}
    for s in sets:
        dataset = build_dataset(args.data, s, args.workdir)
        for a in archs:
            results[s][a] = train(dataset, s, a, args.workdir, args.train_arg, args.retrain)
            print(f"{s} {a}: {results[s][a]}", file=sys.stderr, flush=True)
            report = {"command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                      "commit": commit, "cpus": os.cpu_count(),
                      "protocol": "CLI defaults" if not args.train_arg else
                      f"CLI defaults + {' '.join(args.train_arg)}",
                      "published": {s: dict(zip(PUBLISHED_COLUMNS, PUBLISHED[s], strict=True))
                                    for s in sets if s in PUBLISHED},
                      "results": results}
            tmp = out_json.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, indent=1))
            os.replace(tmp, out_json)
    print(table(results, sets, archs))
    print(f"\ncommit {commit}; {report['protocol']}; results in {out_json}")
    figures = []
    for a in archs:
        got = [results[s].get(a, {}).get("auroc") for s in sets]
        done = [v for v in got if v is not None]
        if done:
            figures.append(figure(f"mean_auroc_{a}", mean(done),
                                  label=f"{a}: mean test AUROC over the RBP-24 sets",
                                  note=f"{len(done)}/{len(sets)} sets; {report['protocol']}"))
    for i, column in enumerate(PUBLISHED_COLUMNS):
        published = [PUBLISHED[s][i] for s in sets if s in PUBLISHED and PUBLISHED[s][i]]
        if published:
            figures.append(figure(f"published_{column}", mean(published),
                                  label=f"published {column}: mean over the same sets",
                                  note=f"{len(published)} sets; from the paper, not measured"))
    write_results("bench_rbp24", figures, path=args.results, extra=report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
