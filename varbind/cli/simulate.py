"""``varbind simulate OUTDIR``: write a simulated world with known ground truth."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="write a simulated world (genome, genes, expression, CLIP peaks, variants + truth)",
        description=(
            "Write a simulated world with known ground truth into OUTDIR: genome.fa(.fai), "
            "genes.gtf, expression.tsv, peaks/<RBP>.narrowPeak.gz with peaks/manifest.tsv, "
            "variants.vcf.gz(.tbi), truth.tsv, sites.tsv and world.json. The same seed "
            "gives the same bytes."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("outdir", metavar="OUTDIR", help="directory to write the world into")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (non-negative integer)")
    p.add_argument("--size", choices=("tiny", "mini", "small", "medium", "full"),
                   default="full", help="tiny: ~250 kb for tests; mini: ~600 kb; small: ~1 Mb; "
                                        "medium: ~2.4 Mb; full: ~4 Mb for the demo and benchmarks")
    p.add_argument("--panel", choices=("default", "alt"), default="default",
                   help="the simulated RBPs: default (ten RBPs with distinct motifs) or alt (ten "
                        "others, four of them binding U-rich motifs), to check that results "
                        "hold on other RBPs")
    p.set_defaults(func=run)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: expected an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: must be >= 0")
    return value


def run(args) -> int:
    import json
    import logging
    from pathlib import Path

    from varbind.errors import VarbindError
    from varbind.simulate import simulate_world

    out = Path(args.outdir)
    if out.exists() and not out.is_dir():
        raise VarbindError("OUTDIR exists and is not a directory", path=out,
                           fix="give a new or existing directory")
    world = simulate_world(out, seed=args.seed, size=args.size, panel=args.panel)
    info = json.loads(world.world_json.read_text())
    peaks = sum(r["peaks"] for r in info["rbps"])
    logging.getLogger("varbind").info(
        "%s world (seed %d, %s panel): %d contigs, %d genes, %d RBPs, %d peaks, %d variant "
        "records", args.size, args.seed, args.panel, len(info["contigs"]), info["genes"],
        len(info["rbps"]), peaks, info["variants"]["records"])
    print(world.outdir)
    return 0
