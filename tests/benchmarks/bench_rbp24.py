"""RBP-24 benchmark (GraphProt CLIP sets): every architecture, CLI defaults, train -> ls.

Usage::

    python tests/benchmarks/bench_rbp24.py [--data ../shared/data/rbp24] [--sets A,B]
        [--archs multiresbind,rnassr] [--workdir DIR] [--json results.json]
        [--train-arg=--epochs=5 ...] [--existing-only] [--merge EARLIER.json]

For each set in ``--data`` (``<SET>.train.{positives,negatives}.fa.gz`` and
``<SET>.ls.{positives,negatives}.fa.gz``) it builds the dataset with ``varbind dataset --kind
per-rbp --positives ... --test-positives ...`` (the ls files are the test split) and trains
each architecture with ``varbind train --arch ARCH --dataset ... --out ...`` in a subprocess,
with the CLI's defaults unless ``--train-arg`` adds flags (then the run is not the default
protocol, and the table says so). It prints a set x architecture table of test AUROC beside
the published columns, the means over the sets, and the training cost per model, and writes
the same to ``--json`` after every model, and its figures to ``docs/results/bench_rbp24.json``
(``--results``, through ``results.py``) at the end. An existing bundle in ``--workdir`` is
reused unless ``--retrain``; ``--existing-only`` trains nothing and reports the bundles already
there, marking every other cell as not run (so runs made one cell at a time are collected into
one table). ``--merge`` takes the cells of an earlier run (its ``--json`` report, or
``docs/results/bench_rbp24.json``) for every cell without a bundle in ``--workdir``, so new
cells are added to the published table without the old bundles. A cell counts as "CLI
defaults" only while its bundle's recorded recipe equals today's default recipe for its
architecture and training-set size (settings that cannot have changed its run aside), so a
bundle trained before a change of the default recipe is reported as not the default protocol,
and every figure's note names the commit its bundle was trained at.

Training cost is the CPU time (user + system, the folding pool included) of ``varbind train``,
the figure to compare between machines; the wall-clock time is recorded too but depends on the
load of a shared machine. RNA folding for ``rnassr`` is cached in ``--workdir``/cache, so only
the first model on a set pays it. Figures are from one run (one seed). Per set it also prints
how well the viewpoint's length alone separates the test classes (the models read the
viewpoint as an input channel; a length that differed between classes would be a leak).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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


def viewpoint_length_auroc(data) -> float | None:
    """How well the viewpoint's length alone tells positives from negatives on the test
    split of ``data`` (a loaded TrainingData): ``max(AUROC, 1 - AUROC)`` of the number of
    marked bases (0.5: not at all). A check that the viewpoint channel cannot classify by the
    site's length; None without viewpoints."""
    from sklearn.metrics import roc_auc_score

    test = data.splits["test"]
    if test.batch.viewpoint is None:
        return None
    auroc = float(roc_auc_score(test.labels[:, 0], test.batch.viewpoint.sum(axis=1)))
    return round(max(auroc, 1 - auroc), 4)


def bundle_dir(work: Path, name: str, arch: str) -> Path:
    """Where the bundle of set ``name`` and architecture ``arch`` lives in ``work``."""
    return work / name / arch


def train(dataset: Path, data, name: str, arch: str, work: Path, extra: list[str],
          retrain: bool, existing_only: bool = False) -> dict:
    """Train (or reuse) one bundle on ``dataset`` (``data``: that file loaded, read for its
    defaults); return its test AUROC, time and epochs."""
    out = bundle_dir(work, name, arch)
    meta_path = out / "model.json"
    if existing_only and not meta_path.exists():
        return {"not_run": True}
    timing_path = out / "bench_seconds.json"
    timing = {"seconds": None, "cpu_seconds": None, "train_args": None}  # None: unknown
    if retrain or not meta_path.exists():
        commit = git_head()  # the code the bundle is trained with, taken before it starts
        start, cpu_start = time.perf_counter(), children_cpu_seconds()
        run = varbind("-q", "train", "--arch", arch, "--dataset", str(dataset), "--out",
                      str(out), "--structure-cache", str(work / "cache"), *extra)
        timing = {"seconds": round(time.perf_counter() - start, 1),
                  "cpu_seconds": round(children_cpu_seconds() - cpu_start, 1),
                  "train_args": list(extra), "commit": commit}
        if run.returncode:
            return {"error": run.stderr.strip().splitlines()[-1] if run.stderr else "failed",
                    **timing}
        timing_path.write_text(json.dumps(timing))
    elif timing_path.exists():
        timing = json.loads(timing_path.read_text())
    meta = json.loads(meta_path.read_text())
    training = meta.get("training", {})
    training = {**training, **training.get("members", {}).get(name, {})}  # per-RBP (POLARIS)
    return {"auroc": meta["metrics"]["auroc"][name], **timing,
            "fit_seconds": training.get("seconds"), "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"), "window": meta.get("window"),
            "epochs_to_near_best": epochs_to_near_best(training.get("history", {})),
            "recipe": training.get("config", {}).get("recipe"),
            "recipe_settings": training.get("config", {}).get("recipe_settings"),
            "recipe_changes": recipe_changes(arch, training.get("config", {}).get(
                "recipe_settings"), training.get("n_windows", {}).get("train"),
                sequences=data.sequences, ran=(training.get("epochs_run"),
                                               training.get("best_epoch"))),
            "input_changes": input_changes(meta, arch, data)}


def merged_results(path: Path) -> dict:
    """``{set: {arch: cell}}`` of an earlier run: its ``--json`` report, or a docs results file
    (the report under ``extra``)."""
    try:
        loaded = json.loads(path.read_text())
        return loaded.get("extra", loaded)["results"]
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise SystemExit(f"--merge {path}: not a bench_rbp24 results file ({error}); give "
                         "the --json report or docs results file of an earlier run") from None


def merged_cell(cell: dict, arch: str, data) -> dict:
    """A cell taken from an earlier run's results, its recipe judged against today's default
    for ``arch`` on ``data`` (the set's dataset, loaded); its input changes stay as recorded
    (judging them needs the bundle)."""
    if cell.get("auroc") is None or cell.get("recipe") != "varbind":
        return {**cell, "merged": True}
    changes = recipe_changes(arch, cell.get("recipe_settings"), len(data.splits["train"].labels),
                             sequences=data.sequences,
                             ran=(cell.get("epochs_run"), cell.get("best_epoch")))
    return {**cell, "recipe_changes": changes, "merged": True}


def input_changes(meta: dict, arch: str, data) -> list[str]:
    """Input kinds by which a bundle differs from what ``varbind train`` picks for ``arch``
    on ``data`` (a loaded TrainingData) today (``+viewpoint``: today's default reads it, the
    bundle does not)."""
    from varbind.training.sequences import dataset_defaults
    from varbind.training.train import TrainConfig

    kinds = {"structure" if c["kind"] == "pairs" else c["kind"]  # RNASSR-Net's RNA graph
             for spec in meta["inputs"] for c in spec["components"]}
    today = set(dataset_defaults(TrainConfig(arch=arch), data).inputs)
    return sorted(f"+{k}" for k in today - kinds) + sorted(f"-{k}" for k in kinds - today)


def recipe_changes(arch: str, recorded: dict | None, n_train: int | None,
                   sequences: bool = True, ran: tuple[int, int] | None = None
                   ) -> list[str] | None:
    """Settings in which a bundle's recorded varbind recipe differs from today's default
    recipe for ``arch`` on the same ``n_train`` training windows of a dataset built from
    labelled sequences (``sequences``, as every RBP-24 set here; no jitter) or from peaks
    (None: not recorded). ``ran``: the bundle's (epochs run, kept epoch), for :func:`acting`.

    A setting missing from the record is one added since: it counts as the value that keeps
    the old behaviour (the :class:`Recipe` field's default; for a hyperparameter, today's).
    """
    if not recorded or not n_train:
        return None
    from dataclasses import fields

    from varbind.training.recipes import Recipe, resolve_recipe

    today = acting(json.loads(json.dumps(resolve_recipe(arch, "varbind", n_train,
                                                        sequences=sequences).to_json())), ran)
    absent = {f.name: f.default for f in fields(Recipe)}
    recorded = acting({**{k: absent[k] for k in today if k in absent}, **recorded}, ran)
    changed = [k for k, v in today.items()
               if k != "hparams" and not same(recorded.get(k), v)]
    had = recorded.get("hparams") or {}
    return changed + [f"hparams.{k}" for k, v in today["hparams"].items()
                      if not same(had.get(k, v), v)]


def acting(settings: dict, ran: tuple[int, int] | None = None) -> dict:
    """``settings`` with the settings that cannot have changed the run set to 0:

    * ``min_run_fraction`` with early stopping off (``patience`` 0), or where
      ``ceil(fraction x epochs) <= patience`` (a stop needs ``patience`` epochs without
      improvement, so that many epochs have run anyway);
    * ``extend_fraction`` for a run that ``ran`` (epochs run, kept epoch; 1-based) no more
      than its planned epochs and either fewer of them or kept an earlier epoch than its last:
      only a run that ran them all and kept the last is ever extended
      (``varbind.training.health.still_learning``).
    """
    epochs = settings.get("epochs", 0)
    fraction, patience = settings.get("min_run_fraction") or 0.0, settings.get("patience") or 0
    if not patience or math.ceil(fraction * epochs) <= patience:
        settings = {**settings, "min_run_fraction": 0.0}
    if ran and None not in ran and ran[0] <= epochs and (ran[0] < epochs or ran[1] != ran[0]):
        settings = {**settings, "extend_fraction": 0.0}
    return settings


def same(a, b) -> bool:
    """Equal settings (floats to 1e-9 relative, as written to JSON and read back)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(
            a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def protocol(r: dict) -> str:
    """How one cell's bundle was trained: ``CLI defaults`` (today's default recipe) or what
    differed, e.g. a varbind recipe older than today's."""
    if r.get("train_args") is None:
        return "trained outside this script (flags unknown)"
    if r.get("recipe") != "varbind":
        return f"recipe {r.get('recipe') or 'from before the recipes'}"
    if r["train_args"]:
        return "CLI defaults + " + " ".join(r["train_args"])
    if r.get("input_changes"):
        return f"older inputs, not today's default ({', '.join(r['input_changes'])})"
    changes = r.get("recipe_changes")
    if changes is None:
        return "varbind recipe, settings not recorded"
    if changes:
        return f"an older varbind recipe, not today's default ({', '.join(changes)} changed)"
    return "CLI defaults"


def trained_at(r: dict) -> str:
    """A cell's protocol and the commit its bundle was trained at (the figures' note)."""
    return f"{protocol(r)}; trained at {r.get('commit') or 'a commit not recorded'}"


def epochs_to_near_best(history: dict, within: float = 0.002) -> int | None:
    """First epoch (1-based) whose validation AUROC is within ``within`` of the best."""
    values = history.get("val_auroc") or []
    if not values:
        return None
    best = max(values)
    return next(i + 1 for i, v in enumerate(values) if v >= best - within)


def git_head() -> str:
    """The short commit of the code a bundle is trained with."""
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (and theirs: the
    folding pool of ``varbind train`` included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


EPOCH_KEYS = ("epochs_run", "best_epoch", "epochs_to_near_best")


def cell(results: dict, s: str, a: str, key: str):
    return results[s].get(a, {}).get(key)


def table(results: dict, sets: list[str], archs: list[str]) -> str:
    def fmt(v, width=8, digits=3):
        return f"{v:>{width}.{digits}f}" if isinstance(v, float) else f"{'-':>{width}}"

    head = f"{'set':<20}" + "".join(f"{a:>13}" for a in archs)
    lines = ["test AUROC (train -> ls; - = not run)",
             head + "".join(f"{c:>11}" for c in PUBLISHED_COLUMNS)]
    for s in sets:
        row = f"{s:<20}" + "".join(fmt(cell(results, s, a, "auroc"), 13) for a in archs)
        pub = PUBLISHED.get(s, (None,) * len(PUBLISHED_COLUMNS))
        lines.append(row + "".join(fmt(v, 11) for v in pub))
    means = [mean(cell(results, s, a, "auroc") for s in sets) for a in archs]
    pub_means = [mean(PUBLISHED.get(s, (None,) * 5)[i] for s in sets)
                 for i in range(len(PUBLISHED_COLUMNS))]
    lines.append(f"{'mean of those run':<20}" + "".join(fmt(m, 13) for m in means)
                 + "".join(fmt(m, 11) for m in pub_means))
    for title, key in (("CPU minutes per model (user + sys of varbind train)", "cpu_seconds"),
                       ("wall minutes per model (depends on the machine's load)", "seconds")):
        lines += ["", title, head]
        for s in sets:
            minutes = [(cell(results, s, a, key) or 0) / 60 or None for a in archs]
            lines.append(f"{s:<20}" + "".join(fmt(m, 13, 1) for m in minutes))
    lines += ["", "epochs run / best epoch / first epoch within 0.002 of the best val AUROC",
              head]
    for s in sets:
        epochs = ["/".join(str(cell(results, s, a, k) or "-") for k in EPOCH_KEYS)
                  for a in archs]
        lines.append(f"{s:<20}" + "".join(f"{e:>13}" for e in epochs))
    others = [f"{s} {a}: {protocol(r)}" for s in sets for a, r in results[s].items()
              if r.get("auroc") is not None and protocol(r) != "CLI defaults"]
    if others:
        lines += ["", "cells not trained with the CLI defaults:", *others]
    errors = [f"{s} {a}: {r['error']}" for s in sets for a, r in results[s].items()
              if "error" in r]
    return "\n".join(lines + ([""] + errors if errors else []))


#: The issue's targets: best mean over the five sets, RNASSR-Net vs its paper, CPU per model.
TARGET_MEAN, TARGET_PAPER_GAP, TARGET_CPU_MINUTES = 0.960, 0.01, 10.0


def summary_figures(results: dict, sets: list[str], archs: list[str]) -> list:
    """The docs figures: each cell's AUROC and CPU minutes, RNASSR-Net minus its paper per
    set (targets only for cells trained with today's CLI defaults), each architecture's mean
    (with the target only when it covers all five published sets, all with today's
    defaults), the published means, and which cells were not run."""
    figures = []
    for s in sets:
        for a in archs:
            r = results[s].get(a, {})
            if r.get("auroc") is None:
                continue
            current = protocol(r) == "CLI defaults"  # targets only for today's defaults
            figures.append(figure(f"auroc_{s}_{a}", r["auroc"], label=f"{s} {a}: test AUROC",
                                  note=trained_at(r)))
            if a == "rnassr" and s in PUBLISHED:
                paper = PUBLISHED[s][PUBLISHED_COLUMNS.index("RNASSR-Net")]
                figures.append(figure(
                    f"rnassr_minus_paper_{s}", r["auroc"] - paper,
                    target=(">=", -TARGET_PAPER_GAP) if current else None,
                    label=f"{s}: varbind rnassr minus the RNASSR-Net paper ({paper})",
                    note=trained_at(r)))
            if r.get("cpu_seconds"):
                figures.append(figure(
                    f"cpu_minutes_{s}_{a}", r["cpu_seconds"] / 60, unit="CPU min", digits=1,
                    target=("<=", TARGET_CPU_MINUTES) if current else None,
                    label=f"{s} {a}: training CPU time (user + sys" + (
                        "; RNA folding only of windows not already in the fold cache)"
                        if a == "rnassr" else ")"),
                    note=f"{r.get('epochs_run')} epochs, best {r.get('best_epoch')}"))
    five = [s for s in sets if s in PUBLISHED]
    for a in archs:
        done = [s for s in sets if cell(results, s, a, "auroc") is not None]
        if not done:
            continue
        complete = (len(five) == len(PUBLISHED) and set(five) <= set(done)
                    and all(protocol(results[s][a]) == "CLI defaults" for s in done))
        figures.append(figure(
            f"mean_auroc_{a}", mean(cell(results, s, a, "auroc") for s in done),
            target=(">=", TARGET_MEAN) if complete else None,
            label=f"{a}: mean test AUROC over the RBP-24 sets run",
            note=f"{len(done)}/{len(sets)} sets; "
            + "; ".join(sorted({protocol(results[s][a]) for s in done}))
            + ("" if complete else "; not five default-protocol sets: no target")))
    for i, column in enumerate(PUBLISHED_COLUMNS):
        published = [PUBLISHED[s][i] for s in five]
        if published:
            figures.append(figure(f"published_{column}", mean(published),
                                  label=f"published {column}: mean over the same sets",
                                  note=f"{len(published)} sets; from the paper, not measured"))
    not_run = [f"{s} {a}" for s in sets for a in archs
               if cell(results, s, a, "auroc") is None]
    figures.append(figure("cells_run", len(sets) * len(archs) - len(not_run), digits=0,
                          label=f"set x architecture cells run, of {len(sets) * len(archs)}",
                          note="not run: " + (", ".join(not_run) or "none")))
    return figures


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
    p.add_argument("--existing-only", action="store_true",
                   help="train nothing: report the bundles in --workdir, other cells not run")
    p.add_argument("--merge", type=Path, default=None,
                   help="an earlier run's --json report or docs results file: its cells stand "
                        "in for cells without a bundle in --workdir (not trained again), their "
                        "recipes judged against today's defaults")
    p.add_argument("--results", type=Path, default=None,
                   help="summary for the docs (default docs/results/bench_rbp24.json)")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: no such folder (pass --data with the RBP-24 sets)")
    sets = args.sets.split(",") if args.sets else find_sets(args.data)
    archs = args.archs.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    out_json = args.json or args.workdir / "rbp24.json"
    commit = git_head()
    from varbind.training.training_data import load_dataset

    earlier = merged_results(args.merge) if args.merge else {}
    results: dict = {s: {} for s in sets}
    length_check: dict = {}
    for s in sets:
        dataset = build_dataset(args.data, s, args.workdir)
        data = load_dataset(dataset, s)  # once per set: the length check and the defaults
        length_check[s] = viewpoint_length_auroc(data)
        for a in archs:
            bundle = (bundle_dir(args.workdir, s, a) / "model.json").exists()
            if not bundle and earlier.get(s, {}).get(a, {}).get("auroc") is not None:
                results[s][a] = merged_cell(earlier[s][a], a, data)
            else:
                results[s][a] = train(dataset, data, s, a, args.workdir, args.train_arg,
                                      args.retrain, args.existing_only)
            print(f"{s} {a}: {results[s][a]}", file=sys.stderr, flush=True)
            report = {"command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                      "commit": commit, "cpus": os.cpu_count(),
                      "protocol": "CLI defaults" if not args.train_arg else
                      f"CLI defaults + {' '.join(args.train_arg)}",
                      "published": {s: dict(zip(PUBLISHED_COLUMNS, PUBLISHED[s], strict=True))
                                    for s in sets if s in PUBLISHED},
                      "viewpoint_length_auroc": length_check, "results": results,
                      **({"merged_from": str(args.merge)} if args.merge else {})}
            tmp = out_json.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, indent=1))
            os.replace(tmp, out_json)
    print(table(results, sets, archs))
    print("\ntest AUROC of the viewpoint's length alone (0.5: it says nothing): "
          + ", ".join(f"{s} {v}" for s, v in length_check.items()))
    print(f"\ncommit {commit}; {report['protocol']}; results in {out_json}")
    figures = summary_figures(results, sets, archs) + [
        figure(f"viewpoint_length_auroc_{s}", v, digits=3,
               label=f"{s}: test AUROC of the viewpoint's length alone (0.5: no signal)")
        for s, v in length_check.items() if v is not None]
    write_results("bench_rbp24", figures, path=args.results, extra=report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
