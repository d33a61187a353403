"""``varbind plot``: wild-type vs mutant attribution figure for one variant and RBP."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot", help="wild-type vs mutant attribution figure from an --explain-out file",
        description="Draw the GradCAM heatmap with motif clusters, wild-type and mutant "
                    "attribution logos, their difference and the region track for one variant "
                    "and RBP, read from the HDF5 file of 'varbind score --explain-out'.")
    p.add_argument("attributions", help="attr.h5 written by 'varbind score --explain-out'")
    p.add_argument("--variant", required=True, metavar="CHROM:POS:REF>ALT",
                   help="the variant as in the VCF, quoted for the shell "
                        "(e.g. 'chr1:12345:A>G')")
    p.add_argument("--rbp", required=True, help="RBP name")
    p.add_argument("-o", "--output", required=True, help="figure file: .png, .pdf or .svg")
    p.add_argument("--strand", choices=["+", "-"], help="when the variant was scored on both")
    p.add_argument("--model", help="model name, when several models predict the RBP")
    p.add_argument("--flank", default="30",
                   help="nt shown on each side of the variant, or 'all' (default 30)")
    p.add_argument("--width", type=float, default=12.0, help="figure width in inches")
    p.set_defaults(func=run)


def _flank(text: str) -> int | None:
    from varbind.errors import VarbindError

    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise VarbindError(f"--flank {text!r} is not a positive number of nt",
                           fix="use e.g. --flank 30, or --flank all")
    return value


def run(args: argparse.Namespace) -> int:
    from varbind.interpret.plot import plot_explanation, save_figure
    from varbind.interpret.store import read_explanation

    flank = _flank(args.flank)
    stored = read_explanation(args.attributions, args.variant, args.rbp, strand=args.strand,
                              model=args.model)
    fig = plot_explanation(stored, flank=flank, width=args.width)
    path = save_figure(fig, args.output)
    log.info("wrote %s", path)
    return 0
