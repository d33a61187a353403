"""``varbind dataset``: build a training HDF5 from CLIP peaks, a genome and an annotation."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from varbind.errors import VarbindError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dataset", help="build a training dataset (HDF5) from CLIP peaks or labelled sequences",
        description="Build a multi-label (DeepRiPe / Multi-resBind: 50-nt bins, half-peak "
                    "labels) or per-RBP (POLARIS: peak-centered windows with GC-matched "
                    "negatives) training dataset. Windows are on the transcript strand; test "
                    "contigs are held out. Or, with --positives/--negatives, a per-RBP dataset "
                    "from labelled FASTA sequences (GraphProt format: windows centered on the "
                    "upper-case viewpoint).")
    p.add_argument("--kind", choices=("multilabel", "per-rbp"), default=None,
                   help="dataset kind (default multilabel)")
    p.add_argument("--per-rbp", action="store_true", help="same as --kind per-rbp")
    p.add_argument("--peaks", type=Path,
                   help="manifest TSV (rbp, path, cell_line) or folder of <RBP>.bed|.narrowPeak")
    p.add_argument("--fasta", type=Path, help="genome FASTA (plain or bgzip)")
    p.add_argument("--gtf", type=Path, help="annotation GTF or GFF3 (plain or gz)")
    p.add_argument("--expression", type=Path,
                   help="expression TSV/CSV (TPM or lnTPM per cell type); none: 0 everywhere")
    p.add_argument("--cell-type", help="expression column (default: the peaks' cell line)")
    p.add_argument("--expression-units", choices=("tpm", "lntpm", "log1p"),
                   help="force the units of every expression column (default: by column name)")
    p.add_argument("-o", "--output", required=True, type=Path, help="HDF5 file to write")
    q = p.add_argument_group("labelled sequences (instead of peaks + genome + annotation)")
    q.add_argument("--positives", type=Path, help="bound sequences, FASTA (plain or gz)")
    q.add_argument("--negatives", type=Path, help="unbound sequences, FASTA (plain or gz)")
    q.add_argument("--test-positives", type=Path, help="held-out bound sequences (optional)")
    q.add_argument("--test-negatives", type=Path, help="held-out unbound sequences")
    q.add_argument("--name", help="the RBP (default: the positives file name up to its "
                                  "first dot)")
    p.add_argument("--rbps", help="comma-separated RBPs to keep (default: all)")
    w = p.add_argument_group("windows and labels")
    w.add_argument("--bin-size", type=int, default=50, help="multilabel bin (default 50)")
    w.add_argument("--seq-length", type=int,
                   help="sequence window (default 150 multilabel, 1000 per-rbp, the longest "
                        "record for sequences)")
    w.add_argument("--region-length", type=int,
                   help="region window (default 250 multilabel as DeepRiPe, 1000 per-rbp)")
    w.add_argument("--label-rule", choices=("half-peak", "summit"), default="half-peak",
                   help="multilabel: more than half the peak in the bin (default), or its "
                        "summit")
    w.add_argument("--transcribed", choices=("premrna", "exon"), default="premrna",
                   help="what counts as transcribed for bins and negatives (default premrna)")
    w.add_argument("--negatives-ratio", type=float, default=1.0,
                   help="per-rbp: negatives per positive (default 1)")
    w.add_argument("--gc-bins", type=int, default=100,
                   help="per-rbp: GC strata for matching negatives (default 100)")
    s = p.add_argument_group("splits")
    s.add_argument("--split", choices=("chrom", "random"), default="chrom",
                   help="test set: held-out contigs (default) or random blocks")
    s.add_argument("--test-chroms",
                   help="comma-separated test contigs (default: the last contigs of the FASTA "
                        "holding --test-fraction of the peaks)")
    s.add_argument("--test-fraction", type=float, default=0.1, help="default 0.1")
    s.add_argument("--val-fraction", type=float,
                   help="default 0.2 (0.1 of the training records for sequences)")
    s.add_argument("--split-block", type=int,
                   help="block size (nt) for random and validation splits (default: 5 "
                        "windows, or larger so that the genome holds at most ~1000 blocks)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    f = p.add_argument_group("peak filters")
    f.add_argument("--min-peaks", type=int, default=1,
                   help="skip RBPs with fewer peaks after filtering (default 1)")
    f.add_argument("--max-p", type=float, help="drop peaks with p above this (narrowPeak)")
    f.add_argument("--singleton-filter", choices=("auto", "on", "off"), default="auto",
                   help="POLARIS: drop peaks with no other within --singleton-distance and "
                        "p > --singleton-max-p (auto: on for per-rbp)")
    f.add_argument("--singleton-distance", type=int, default=500, help="default 500 nt")
    f.add_argument("--singleton-max-p", type=float, default=0.01, help="default 0.01")
    f.add_argument("--group-thresholds", default="15000,100000",
                   help="peak counts splitting RBPs into low/medium/high (default DeepRiPe's "
                        "15000,100000) or 'tertiles'")
    f.add_argument("--unknown-contigs", choices=("warn", "error"), default="warn",
                   help="peaks on contigs missing from the FASTA: skip with a warning, or stop")
    p.add_argument("--cache-dir", type=Path,
                   help="annotation cache folder (default $VARBIND_CACHE or ~/.cache/varbind)")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace):
    """DatasetOptions from the parsed command line."""
    from varbind.genomics.peaks import PeakFilters, parse_thresholds
    from varbind.training.datasets import DatasetOptions

    if args.per_rbp and args.kind == "multilabel":
        raise VarbindError("--per-rbp contradicts --kind multilabel", fix="give one of them")
    kind = "per-rbp" if args.per_rbp else (args.kind or "multilabel")
    singleton = args.singleton_filter == "on" or (args.singleton_filter == "auto"
                                                  and kind == "per-rbp")
    if args.min_peaks < 1:
        raise VarbindError(f"--min-peaks must be at least 1, got {args.min_peaks}")
    filters = PeakFilters(max_p=args.max_p,
                          singleton_distance=args.singleton_distance if singleton else None,
                          singleton_max_p=args.singleton_max_p, min_peaks=args.min_peaks)
    test_chroms = None
    if args.test_chroms:
        if args.split != "chrom":
            raise VarbindError("--test-chroms needs --split chrom", fix="drop one of them")
        test_chroms = [c.strip() for c in args.test_chroms.split(",") if c.strip()]
    return DatasetOptions(
        kind=kind, seq_length=args.seq_length, region_length=args.region_length,
        bin_size=args.bin_size, label_rule=args.label_rule, transcribed=args.transcribed,
        split=args.split, test_chroms=test_chroms, test_fraction=args.test_fraction,
        val_fraction=0.2 if args.val_fraction is None else args.val_fraction,
        split_block=args.split_block,
        negatives_ratio=args.negatives_ratio, gc_bins=args.gc_bins, cell_type=args.cell_type,
        group_thresholds=parse_thresholds(args.group_thresholds), seed=args.seed,
        filters=filters).resolved()


def run_sequences(args: argparse.Namespace) -> int:
    """``--positives/--negatives``: a per-RBP dataset from labelled FASTA sequences."""
    from varbind.training.sequences import (
        SequenceOptions,
        SequenceSources,
        build_sequence_dataset,
    )

    if args.kind == "multilabel" or args.peaks or args.fasta or args.gtf:
        raise VarbindError("--positives/--negatives build a per-RBP dataset from sequences; "
                           "they do not combine with --kind multilabel, --peaks, --fasta or "
                           "--gtf", fix="drop one of the two kinds of input")
    if args.negatives is None:
        raise VarbindError("--positives needs --negatives", fix="add --negatives FASTA")
    sources = SequenceSources(args.positives, args.negatives, args.test_positives,
                              args.test_negatives)
    options = SequenceOptions(name=args.name, seq_length=args.seq_length,
                              test_fraction=args.test_fraction,
                              val_fraction=0.1 if args.val_fraction is None
                              else args.val_fraction, seed=args.seed)
    summary = build_sequence_dataset(args.output, sources, options)
    print(f"{summary.name}: " + ", ".join(f"{k} {v} ({summary.positives[k]} positive)"
                                          for k, v in summary.rows.items()))
    print(f"wrote {summary.path} (per-rbp, {summary.seq_length}-nt windows)")
    return 0


def run(args: argparse.Namespace) -> int:
    from varbind.training.datasets import build_dataset

    if args.positives is not None or args.negatives is not None:
        if args.positives is None:
            raise VarbindError("--negatives needs --positives", fix="add --positives FASTA")
        return run_sequences(args)
    missing = [f"--{n}" for n in ("peaks", "fasta", "gtf") if getattr(args, n) is None]
    if missing:
        raise VarbindError(f"missing {', '.join(missing)}",
                           fix="pass --peaks, --fasta and --gtf, or --positives and "
                               "--negatives for labelled sequences")
    options = options_from_args(args)
    rbps = [r.strip() for r in args.rbps.split(",")] if args.rbps else None
    summary = build_dataset(args.output, args.peaks, args.fasta, args.gtf, args.expression,
                            options=options, rbps=rbps, on_missing_contig=args.unknown_contigs,
                            expression_units=args.expression_units, cache_dir=args.cache_dir,
                            progress=not args.quiet and sys.stderr.isatty())
    for group, counts in summary.rows.items():
        name = group or f"{len(summary.rbps)} RBPs"
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"wrote {summary.path} ({summary.kind})")
    return 0
