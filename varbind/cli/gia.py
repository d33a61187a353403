"""``varbind gia``: global importance analysis of k-mers and motifs for one RBP."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gia", help="global importance analysis: k-mer discovery, motif count and spacing",
        description="Embed k-mers or a motif into background sequences and report the mean "
                    "change of one RBP's prediction (Koo et al. 2021). Without --motif, every "
                    "k-mer is tried and the top one is used for the count, spacing, "
                    "single-base mutation and position experiments.")
    p.add_argument("--models", required=True,
                   help="a model bundle, a directory of bundles, or 'demo'")
    p.add_argument("--rbp", required=True, help="RBP name")
    p.add_argument("--model", help="bundle name when several predict the RBP")
    p.add_argument("--motif", help="a motif to test (ACGU/ACGT letters)")
    p.add_argument("--kmers", type=int, metavar="K",
                   help="scan every K-mer (default 6 when no --motif is given)")
    p.add_argument("--background", default="profile",
                   choices=["profile", "shuffle", "dinuc", "data"],
                   help="approximate data distribution (default profile; uniform profile "
                        "without --data)")
    p.add_argument("--data", help="observed sequences: a dataset .h5 (test split), a FASTA, "
                                  "or 'demo' (the demo genome)")
    p.add_argument("-n", "--n", dest="n", type=int, default=200,
                   help="background sequences (default 200)")
    p.add_argument("--offset", type=int, default=0,
                   help="pattern position: nt from the window center (default 0)")
    p.add_argument("--max-count", type=int, default=4, help="motif copies tested (default 4)")
    p.add_argument("--max-spacing", type=int, default=20,
                   help="largest gap between two copies, in nt (default 20)")
    p.add_argument("--position-step", type=int, default=10,
                   help="the motif is also placed every this many nt across the window "
                        "(default 10; 0 skips the position experiment)")
    p.add_argument("--region", help="region class given to models that take one "
                                    "(default: from --data, else 3utr)")
    p.add_argument("--expression", type=float,
                   help="log1p TPM given to models that take it (default: from --data, else 1)")
    p.add_argument("--known", action="store_true",
                   help="also rank the known motifs (packaged RNAcompete, or --meme): each "
                        "background gets a site drawn from each motif's matrix")
    p.add_argument("--meme", help="known motifs for --known, MEME format (implies --known)")
    p.add_argument("--top", type=int, default=20, help="k-mers shown in the plot (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("-o", "--output", required=True, help="results table (TSV)")
    p.add_argument("--plot", help="figure (.png, .pdf or .svg)")
    p.set_defaults(func=run)


def _motif(text: str) -> str:
    from varbind.errors import VarbindError

    seq = text.upper().replace("U", "T")
    if not seq or set(seq) - set("ACGT"):
        raise VarbindError(f"--motif {text!r} must be letters A, C, G, U/T",
                           fix="e.g. --motif UGCAUG")
    return seq


def _bundle(models: str, rbp: str, name: str | None):
    from varbind.errors import VarbindError
    from varbind.model.bundle import load_model_set

    if models == "demo":
        from varbind.demo import demo_file

        models = str(demo_file("models"))
    bundles = load_model_set(models, rbps=[rbp])
    if name is not None:
        bundles = [b for b in bundles if b.name == name]
        if not bundles:
            raise VarbindError(f"no bundle named {name!r} predicts {rbp}", path=models)
    if len(bundles) > 1:
        log.info("%d models predict %s; using %s (choose with --model)", len(bundles), rbp,
                 bundles[0].name)
    return bundles[0]


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from varbind.errors import VarbindError
    from varbind.files import atomic_output
    from varbind.interpret import gia
    from varbind.model.inputs import required_lengths

    if args.n < 2:
        raise VarbindError(f"--n must be at least 2, got {args.n}")
    if args.kmers is not None and not 1 <= args.kmers <= 8:
        raise VarbindError(f"--kmers {args.kmers} is out of range", fix="use 1 to 8")
    if args.plot:
        from pathlib import Path

        from varbind.interpret.plot import FORMATS

        if Path(args.plot).suffix.lower() not in FORMATS:
            raise VarbindError(f"cannot write a figure as {Path(args.plot).suffix or 'no suffix'}",
                               path=args.plot, fix=f"name it with one of {', '.join(FORMATS)}")
    motif = _motif(args.motif) if args.motif else None
    k = args.kmers or (None if motif else 6)
    bundle = _bundle(args.models, args.rbp, args.model)
    target = bundle.meta.rbps.index(args.rbp)
    rng = np.random.default_rng(args.seed)
    length = required_lengths(bundle.meta.inputs)["sequence"]
    observed = None
    if args.data:
        data = args.data
        if data == "demo":
            from varbind.demo import demo_file

            data = str(demo_file("fasta"))
        observed = gia.read_observed(data, length, max(args.n, 500), rng)
    background = gia.make_background(bundle.meta.inputs, args.background, args.n, rng,
                                     observed, args.region, args.expression)
    rows, kmers = [], []
    if k:
        with tqdm(total=4 ** k, desc=f"{k}-mers", unit="k-mer", file=sys.stderr,
                  disable=args.quiet or not sys.stderr.isatty()) as bar:
            kmers = gia.kmer_importance(bundle, background, target, k, args.offset,
                                        args.batch_size, progress=bar.update)
        rows += [("kmer", r) for r in kmers]
    known = []
    if args.known or args.meme:
        from varbind.genomics.motifs import read_meme

        motifs = read_meme(args.meme) if args.meme else read_meme()
        known = gia.known_motif_importance(bundle, background, [target], motifs, rng,
                                           args.offset, args.batch_size)[target]
        rows += [("known", r) for r in known]
    tested = motif or kmers[0].label
    start = gia.centered_start(length, len(tested), args.offset)
    rows += [("motif", r) for r in gia.importance(bundle, background, target,
                                                  [(tested, [(gia.encode(tested), start)])])]
    counts = gia.count_effect(bundle, background, target, tested, args.max_count,
                              args.batch_size)
    spacings = gia.spacing_effect(bundle, background, target, tested,
                                  range(0, args.max_spacing + 1, 2), args.batch_size)
    rows += [("count", r) for r in counts] + [("spacing", r) for r in spacings]
    rows += [("mutation", r) for r in gia.mutation_effect(bundle, background, target, tested,
                                                          args.batch_size)]
    if args.position_step > 0:
        rows += [("position", r) for r in gia.position_effect(
            bundle, background, target, tested, args.position_step, args.batch_size)]
    table = gia.results_table(rows)
    table.insert(0, "rbp", args.rbp)
    table.insert(1, "model", bundle.name)
    table["tested_motif"] = np.where(table["experiment"].isin(["kmer", "known"]), "", tested)
    table["background"] = args.background
    with atomic_output(args.output) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    if args.plot:
        from varbind.interpret.plot import save_figure

        title = (f"GIA {args.rbp} ({bundle.name}), {args.background} background, "
                 f"n={args.n}; motif {tested.replace('T', 'U')}")
        save_figure(gia.plot_gia(kmers, counts, spacings, title, args.top), args.plot)
    if kmers:
        top = ", ".join(f"{r.label.replace('T', 'U')} {r.global_:+.3f}" for r in kmers[:5])
        print(f"{args.rbp}: top {k}-mers {top}")
    if known:
        top = ", ".join(f"{r.label} {r.global_:+.3f}" for r in known[:3])
        print(f"{args.rbp}: top known motifs {top}")
    print(f"{args.rbp}: {tested.replace('T', 'U')} global importance "
          f"{rows[len(kmers) + len(known)][1].global_:+.3f}; wrote {args.output}")
    return 0
