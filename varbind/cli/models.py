"""``varbind models``: list a model set, import a Keras 2 model, rebuild the demo set."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list, import and build model bundles",
                              description="Work with model bundles and model sets.")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    sub.required = True

    ls = sub.add_parser("list", help="show the bundles of a model set",
                        description="One line per bundle: architecture, RBPs, inputs, "
                                    "test metrics, size; then one line per RBP: its test "
                                    "AUROC, the k-mer baseline's and its health-check status "
                                    "(ok / weak). SET is a bundle, a directory of bundles, or "
                                    "'demo' for the packaged demo set.")
    ls.add_argument("set", nargs="?", default="demo", help="model set (default: demo)")
    ls.add_argument("--rbps", action="store_true", help="list every RBP of each bundle")
    ls.set_defaults(func=run_list)

    imp = sub.add_parser("import", help="bring a Keras 2 .h5 model into a bundle",
                         description="Import a published Keras 2 .h5 model (e.g. DeepRiPe's) "
                                     "with a meta.json naming its RBPs and inputs.")
    imp.add_argument("model", type=Path, help="Keras .h5 model file")
    imp.add_argument("--meta", required=True, type=Path,
                     help="JSON: name, rbps (output order), architecture, inputs, cell_line, "
                          "genome_build")
    imp.add_argument("--out", required=True, type=Path, help="bundle directory to write")
    imp.set_defaults(func=run_import)

    demo = sub.add_parser("build-demo", help="retrain the demo model set from the demo world",
                          description="Simulate the demo world, build its datasets and train "
                                      "the demo models (Multi-resBind over all RBPs and "
                                      "joined per-RBP POLARIS models). Same seed, same set.")
    demo.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    demo.add_argument("--world-seed", type=int, default=0, help="simulator seed (default 0)")
    demo.add_argument("--size", default="full", choices=("tiny", "small", "full"),
                      help="simulated world size (default full)")
    demo.add_argument("--out", type=Path, default=None,
                      help="output model set (default: the packaged varbind/data/demo/models)")
    demo.add_argument("--workdir", type=Path, default=None,
                      help="keep the simulated world and datasets here (default: temporary)")
    demo.set_defaults(func=run_build_demo)


def resolve_set(name: str) -> Path:
    if name == "demo":
        from varbind.training.demo import DEMO_MODELS

        return DEMO_MODELS
    return Path(name)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def run_list(args: argparse.Namespace) -> int:
    from varbind.model.bundle import find_bundles, read_meta

    rows = []
    for path in find_bundles(resolve_set(args.set)):
        meta = read_meta(path)
        inputs = " + ".join(f"{s.name}{tuple(s.shape)}".replace(" ", "") for s in meta.inputs)
        metrics = meta.metrics or {}
        rbps = ",".join(meta.rbps) if args.rbps or len(meta.rbps) <= 4 else \
            ",".join(meta.rbps[:3]) + f",... ({len(meta.rbps)})"
        rows.append((meta.name, meta.architecture, rbps, inputs, meta.cell_line,
                     _fmt(metrics.get("mean_auroc")), _fmt(metrics.get("mean_ap")),
                     f"{_size(path) / 1e6:.2f}"))
    header = ("name", "architecture", "RBPs", "inputs", "cell line", "AUROC", "AP", "MB")
    _print_rows(header, rows)
    print()
    _print_rows(("name", "RBP", "test AUROC", "SE", "k-mer AUROC", "status"),
                [row for path in find_bundles(resolve_set(args.set))
                 for row in rbp_rows(read_meta(path))])
    return 0


def rbp_rows(meta) -> list[tuple]:
    """One row per RBP: bundle name, RBP, test AUROC, its standard error (Hanley & McNeil,
    from the test windows), k-mer baseline AUROC, status (``ok``/``weak`` from the training
    health check, ``unchecked`` without one)."""
    from varbind.training.evaluate import auroc_errors

    metrics = meta.metrics or {}
    base = (metrics.get("baseline") or {}).get("auroc", {})
    counted = all(k in metrics for k in ("auroc", "positives", "n_windows"))
    errors = auroc_errors(metrics) if counted else {}
    health = meta.rbp_health()
    return [(meta.name, rbp, _fmt(metrics.get("auroc", {}).get(rbp)), _fmt(errors.get(rbp)),
             _fmt(base.get(rbp)), health.get(rbp, {}).get("status", "unchecked"))
            for rbp in meta.rbps]


def _print_rows(header: tuple, rows: list[tuple]) -> None:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def run_import(args: argparse.Namespace) -> int:
    from varbind.model.bundle import read_meta
    from varbind.training.importer import import_h5

    out = import_h5(args.model, args.meta, args.out)
    meta = read_meta(out)
    print(f"imported {args.model} -> {out} ({meta.architecture}, {len(meta.rbps)} RBPs)")
    return 0


def run_build_demo(args: argparse.Namespace) -> int:
    from varbind.training.demo import DEMO_MODELS, build_demo

    out = args.out or DEMO_MODELS
    summary = build_demo(out, seed=args.seed, world_seed=args.world_seed, size=args.size,
                         workdir=args.workdir, progress=not args.quiet)
    print(summary)
    return 0
