"""``varbind evaluate``: AUROC / AP per RBP of a bundle, on its test split or another set."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="AUROC and AP per RBP of a model bundle",
        description="Without data, print the test metrics stored in the bundle. With "
                    "--dataset, or --peaks/--fasta/--gtf/--expression (e.g. another cell "
                    "line), score the bundle on those windows.")
    p.add_argument("bundle", type=Path, help="model bundle directory")
    p.add_argument("--dataset", type=Path, help="HDF5 from 'varbind dataset'")
    p.add_argument("--peaks", type=Path, help="peak manifest (rbp, path, cell_line)")
    p.add_argument("--fasta", type=Path)
    p.add_argument("--gtf", type=Path)
    p.add_argument("--expression", type=Path)
    p.add_argument("--cell-line", "--cell-type", dest="cell_line",
                   help="expression column for the peaks' cell line")
    p.add_argument("--split", default=None, choices=("test", "validation", "train", "all"),
                   help="windows to score (default: test for --dataset, all for --peaks)")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write roc.png and pr.png here")
    p.add_argument("--tsv", type=Path, help="also write the table as TSV (rbp, positives, "
                   "auroc, ap, auroc_se: the AUROC's standard error)")
    p.set_defaults(func=run)


def write_tsv(metrics: dict, path: Path) -> None:
    from varbind.files import atomic_output
    from varbind.training.evaluate import auroc_errors

    errors = auroc_errors(metrics)
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write("rbp\tpositives\tauroc\tap\tauroc_se\n")
        for rbp in metrics["auroc"]:
            a, p, se = metrics["auroc"][rbp], metrics["ap"][rbp], errors[rbp]
            fh.write(f"{rbp}\t{metrics['positives'][rbp]}\t{'NA' if a is None else a}\t"
                     f"{'NA' if p is None else p}\t{'NA' if se is None else se}\n")
        fh.write(f"mean\t\t{metrics['mean_auroc']}\t{metrics['mean_ap']}\t\n")


def run(args: argparse.Namespace) -> int:
    import tempfile

    from varbind.errors import VarbindError
    from varbind.model.bundle import load_bundle, read_meta
    from varbind.training.evaluate import (
        curves_of,
        evaluate_bundle,
        format_table,
        plot_curves,
        warn_if_few_positives,
    )

    if args.dataset is None and args.peaks is None:
        meta = read_meta(args.bundle)
        if not meta.metrics or "auroc" not in meta.metrics:
            raise VarbindError("the bundle stores no test metrics", path=args.bundle,
                               fix="pass --dataset or --peaks to evaluate it")
        if args.plots:
            raise VarbindError("--plots needs data", fix="pass --dataset or --peaks")
        print(format_table(meta.metrics, title=f"{meta.name}: stored test metrics"))
        warn_if_few_positives(meta.metrics, meta.name)
        if args.tsv:
            write_tsv(meta.metrics, args.tsv)
        return 0
    bundle = load_bundle(args.bundle)
    with tempfile.TemporaryDirectory(prefix="varbind-eval-") as tmp:
        if args.dataset is not None:
            dataset, split = args.dataset, args.split or "test"
        else:
            missing = [f"--{n}" for n in ("fasta", "gtf") if getattr(args, n) is None]
            if missing:
                raise VarbindError(f"--peaks needs {', '.join(missing)}",
                                   fix="see 'varbind evaluate --help'")
            from varbind.model.inputs import required_lengths
            from varbind.training.train import build_training_dataset

            per_rbp = bundle.meta.architecture == "polaris"
            need = required_lengths(bundle.meta.inputs)
            base = (1000, 1000) if per_rbp else (150, 250)
            dataset = build_training_dataset(
                Path(tmp) / "dataset.h5", args.peaks, args.fasta, args.gtf, args.expression,
                per_rbp=per_rbp, cell_line=args.cell_line,
                seq_length=max(base[0], need.get("sequence", 0)),
                region_length=max(base[1], need.get("region", 0)), progress=not args.quiet)
            split = args.split or "all"
        metrics, groups, labels, preds = evaluate_bundle(bundle, dataset, split)
    source = args.dataset or args.peaks
    print(format_table(metrics, title=f"{bundle.name}: {split} windows of {source}"))
    warn_if_few_positives(metrics, bundle.name)
    if args.tsv:
        write_tsv(metrics, args.tsv)
    if args.plots:
        paths = plot_curves(curves_of(groups, labels, preds), args.plots, title=bundle.name)
        print("plots: " + ", ".join(str(x) for x in paths))
    return 0
