"""``varbind train``: train a model from CLIP peaks (or a built dataset) into a bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from varbind.cli.dask_options import positive_int
from varbind.errors import VarbindError

ARCHES = ("multiresbind", "deepripe", "polaris", "residualbind")
#: Exit status of a run that left an RBP weak (without --allow-weak).
WEAK_EXIT = 3


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model from CLIP peaks into a model bundle",
        description="Train Multi-resBind, DeepRiPe, POLARIS or ResidualBind from CLIP peaks "
                    "(or a dataset from 'varbind dataset'), evaluate it on the held-out test "
                    "split and write a self-describing model bundle. The default recipe "
                    "('varbind') adapts the optimisation to the data size; '--recipe paper' "
                    "trains with each paper's own. Each RBP is checked against a k-mer "
                    "baseline; weak RBPs are retrained, and if they stay weak the run exits "
                    "with status 3 unless --allow-weak.")
    p.add_argument("--arch", required=True, metavar="ARCH",
                   help=f"architecture: {', '.join(ARCHES)}")
    p.add_argument("--out", required=True, type=Path, help="bundle directory to write")
    src = p.add_argument_group("training data (a dataset, or peaks + genome + annotation)")
    src.add_argument("--dataset", type=Path, help="HDF5 from 'varbind dataset'")
    src.add_argument("--peaks", type=Path, help="peak manifest (rbp, path, cell_line)")
    src.add_argument("--fasta", type=Path, help="genome FASTA")
    src.add_argument("--gtf", type=Path, help="annotation GTF/GFF3")
    src.add_argument("--expression", type=Path, help="expression table (TPM per cell type)")
    src.add_argument("--cell-line", "--cell-type", dest="cell_line",
                     help="expression column / cell line of the peaks")
    src.add_argument("--genome-build", default="unknown", help="recorded in model.json")
    m = p.add_argument_group("model and training (default: the recipe's; flags override it)")
    m.add_argument("--recipe", default="varbind", choices=("varbind", "paper"),
                   help="varbind (default): AdamW, warm-up + cosine schedule, step budget and "
                        "BatchNorm momentum from the data size, training windows randomly "
                        "shifted (multi-label models), best validation AUROC kept, heads "
                        "pooled over positions below 500 windows, both heads tried (the "
                        "better on validation kept) from 500 to 1,000, POLARIS on 500-nt "
                        "windows; paper: each paper's exact recipe")
    m.add_argument("--inputs",
                   help="comma-separated: sequence,viewpoint,region,expression,structure")
    m.add_argument("--epochs", type=int)
    m.add_argument("--batch-size", type=int)
    m.add_argument("--learning-rate", type=float)
    m.add_argument("--optimizer", choices=("adamw", "adam", "sgd"))
    m.add_argument("--weight-decay", type=float, help="AdamW's decoupled weight decay")
    m.add_argument("--patience", type=int, help="early-stopping patience (0: none)")
    m.add_argument("--ema-fraction", type=float, metavar="F",
                   help="validate and keep a moving average of the weights over this share of "
                        "the planned steps (default: 0.05 for multi-label models on peak "
                        "datasets below 4,000 training windows; 0: the raw weights)")
    cw = m.add_mutually_exclusive_group()
    cw.add_argument("--class-weight", dest="class_weight", action="store_true", default=None,
                    help="weight rare RBPs' positives (DeepRiPe's default)")
    cw.add_argument("--no-class-weight", dest="class_weight", action="store_false")
    m.add_argument("--seq-length", type=int,
                   help="sequence window (nt; default: the paper's, except under the varbind "
                        "recipe POLARIS's central 500 nt of a peaks dataset and ResidualBind's "
                        "whole dataset window; a dataset of labelled sequences: its width)")
    m.add_argument("--region-length", type=int, help="region window (nt, DeepRiPe)")
    m.add_argument("--hparam", action="append", default=[], metavar="KEY=VALUE",
                   help="override an architecture hyperparameter, e.g. filters=64, "
                        "dense_units=64,32,16 or batch_norm=false (repeatable)")
    m.add_argument("--seed", type=int, default=0, help="same seed, same model (default 0)")
    m.add_argument("--min-positives", type=int, default=50,
                   help="skip RBPs with fewer positive training windows (default 50)")
    m.add_argument("--baseline-windows", type=int, default=2000,
                   help="IG baseline: mean of this many lowest-scoring windows per RBP")
    m.add_argument("--name", help="bundle name (default: the architecture)")
    m.add_argument("--no-join", action="store_true",
                   help="POLARIS: write one bundle per RBP under --out instead of one joined")
    m.add_argument("--structure-cache", type=Path, help="folder caching RNAplfold profiles")
    m.add_argument("--jobs", type=positive_int, metavar="N",
                   help="POLARIS: train N RBPs' models at once, one process each (default: 1.5 "
                        "per usable core, at most 8 and as many as fit the free memory at 2 "
                        "GB each; 1 on a GPU)")
    h = p.add_argument_group("health check (each RBP against a k-mer baseline)")
    h.add_argument("--max-tries", type=int, default=3,
                   help="trainings of a model with a weak RBP, retries included (default 3)")
    h.add_argument("--allow-weak", action="store_true",
                   help="exit 0 even if an RBP stays weak (it is still recorded and reported)")
    p.set_defaults(func=run)


def parse_hparams(items: list[str]) -> dict:
    """``["filters=64", "dense_units=64,32", "batch_norm=false"]`` ->
    ``{"filters": 64, "dense_units": (64, 32), "batch_norm": False}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise VarbindError(f"--hparam {item!r} is not KEY=VALUE",
                               fix="e.g. --hparam filters=64")
        parts = [_scalar(v) for v in value.split(",")]
        out[key.strip()] = tuple(parts) if len(parts) > 1 else parts[0]
    return out


def _scalar(text: str):
    """``"true"``/``"false"`` as a bool, else an int, a float or the text itself."""
    word = text.strip().lower()
    if word in ("true", "false"):
        return word == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def config_from_args(args):
    from varbind.training.models import check_architecture, hyperparameters, parse_inputs
    from varbind.training.train import TrainConfig

    check_architecture(args.arch)
    inputs = parse_inputs(args.inputs, args.arch) if args.inputs else None
    hparams = parse_hparams(args.hparam)
    hyperparameters(args.arch, hparams)  # unknown keys fail here, before any data is read
    return TrainConfig(
        arch=args.arch, inputs=inputs, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, optimizer=args.optimizer, patience=args.patience,
        class_weight=args.class_weight, seed=args.seed, hparams=hparams,
        seq_length=args.seq_length, region_length=args.region_length,
        min_positives=args.min_positives, baseline_windows=args.baseline_windows,
        name=args.name, cell_line=args.cell_line or "unknown", genome_build=args.genome_build,
        progress=not args.quiet,
        structure_cache=str(args.structure_cache) if args.structure_cache else None,
        recipe=args.recipe, weight_decay=args.weight_decay, ema_fraction=args.ema_fraction,
        max_tries=max(1, args.max_tries),
        allow_weak=args.allow_weak, jobs=args.jobs)


def resolve_dataset(args, per_rbp: bool, workdir: Path) -> Path:
    """The dataset to train on: ``--dataset`` or one built from peaks into ``workdir``."""
    if args.dataset:
        if args.peaks:
            raise VarbindError("give either --dataset or --peaks, not both",
                               fix="drop one of them")
        return args.dataset
    missing = [f"--{n}" for n in ("peaks", "fasta", "gtf") if getattr(args, n) is None]
    if missing:
        raise VarbindError(f"no training data: pass --dataset, or --peaks with "
                           f"{', '.join(missing)}", fix="see 'varbind train --help'")
    from varbind.training.train import build_training_dataset

    return build_training_dataset(
        workdir / "dataset.h5", args.peaks, args.fasta, args.gtf, args.expression,
        per_rbp=per_rbp, cell_line=args.cell_line, seq_length=args.seq_length,
        region_length=args.region_length, seed=args.seed, progress=not args.quiet)


def run(args: argparse.Namespace) -> int:
    import tempfile

    from varbind.training import train as tr
    from varbind.training.evaluate import format_table
    from varbind.training.health import weak_messages
    from varbind.training.models import ARCHITECTURE_INFO
    from varbind.training.sequences import is_sequence_dataset

    config = config_from_args(args)
    per_rbp = ARCHITECTURE_INFO[args.arch].training.per_rbp
    with tempfile.TemporaryDirectory(prefix="varbind-train-") as tmp:
        dataset = resolve_dataset(args, per_rbp, Path(tmp))
        kind, rbps = tr.dataset_kind(dataset)
        if per_rbp and kind != "per-rbp":
            raise VarbindError(f"{args.arch} trains one model per RBP and needs a per-RBP "
                               "dataset", path=dataset,
                               fix="build one with 'varbind dataset --per-rbp' or pass --peaks")
        sequences = kind == "per-rbp" and len(rbps) == 1 and is_sequence_dataset(dataset)
        if not per_rbp and kind == "per-rbp" and not sequences:
            raise VarbindError(f"{args.arch} is a multi-label model and needs a multi-label "
                               "dataset", path=dataset,
                               fix="build one with 'varbind dataset' (without --per-rbp)")
        if per_rbp:
            datasets = {r: tr.load_dataset(dataset, rbp=r) for r in rbps}
            result = tr.train_per_rbp(datasets, config, join=not args.no_join)
        else:  # a sequence dataset's one RBP is one label
            result = tr.train_multilabel(tr.load_dataset(dataset, rbp=rbps[0] if sequences
                                                         else None), config)
    results = result if isinstance(result, list) else [result]
    weak = []
    for res in results:
        out = args.out / tr.safe_name(res.meta.rbps[0]) if args.no_join and per_rbp \
            else args.out
        tr.write_bundle(res, out)
        health = res.meta.training.get("health")
        print(format_table(res.meta.metrics, title=f"{res.meta.name}: held-out test windows",
                           health=health))
        print(f"wrote {out}")
        weak += weak_messages(health or {})
    return report_weak(weak, args.allow_weak)


def report_weak(messages: list[str], allow_weak: bool) -> int:
    """Print each weak RBP on stderr; exit status 3 unless ``allow_weak``."""
    import sys

    for line in messages:
        print(f"varbind: {line}", file=sys.stderr)
    if messages and not allow_weak:
        print("varbind: the bundle records these RBPs as weak; check the data or the "
              "settings, or pass --allow-weak to accept them", file=sys.stderr)
        return WEAK_EXIT
    return 0
