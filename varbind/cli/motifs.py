"""``varbind motifs``: the motif each RBP's model has learned, from GradCAM of its top
windows, matched to the known (RNAcompete) motifs, with each RBP's GradCAM diffusion."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from varbind.errors import VarbindError

log = logging.getLogger(__name__)

DESCRIPTION = """\
For each RBP: score windows centered on candidate sites (CLIP peak summits, or BED intervals),
take GradCAM maps of the --top best-scoring windows, cluster each map (POLARIS appendix), widen
its strongest motif cluster to the GradCAM layer's receptive field, and rank the known motifs
(the packaged RNAcompete set, or --meme) by how well they explain those spans. Writes one row
per RBP (best-matching known motifs, GradCAM diffusion) and, with --spans, one row per window.
Example:  varbind motifs --genome demo --sites demo -o motifs.tsv
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("motifs", help="GradCAM motifs of each RBP, matched to known motifs",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sites", required=True,
                   help="candidate sites, stranded: a folder or manifest of CLIP peaks (as "
                        "'varbind dataset' reads; summits are the centers), one BED6 or "
                        "narrowPeak file (for the RBP its name names, e.g. PUM2.bed, else for "
                        "every RBP), or 'demo' (the demo world's peaks)")
    p.add_argument("--genome", default=None, help="named reference from the config file, or "
                                                  "'demo'")
    p.add_argument("--fasta", default=None, help="reference FASTA (plain or bgzip)")
    p.add_argument("--gtf", default=None, help="annotation, GTF or GFF3 (plain or gz)")
    p.add_argument("--expression", default=None, help="expression table (TPM per cell type)")
    p.add_argument("--models", default=None, help="a model bundle or a directory of bundles")
    p.add_argument("--rbps", default=None, help="comma-separated RBPs, or 'all' (default)")
    p.add_argument("--cell-type", default=None,
                   help="expression column (default: each model's cell line)")
    p.add_argument("--top", type=int, default=50,
                   help="best-scoring windows per RBP given GradCAM maps (default 50)")
    p.add_argument("--gradcam-layer", metavar="NAME",
                   help="GradCAM layer (default: the last convolutional layer)")
    p.add_argument("--alpha", type=float, default=0.9, help="clustering weight (default 0.9)")
    p.add_argument("--height", type=float, default=1.0, help="tree cut (default 1)")
    p.add_argument("--min-score", type=float, default=0.5,
                   help="mean scaled GradCAM of a motif cluster (default 0.5)")
    p.add_argument("--meme", help="known motifs, MEME format (default: packaged RNAcompete)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("-o", "--output", required=True, help="per-RBP table (TSV)")
    p.add_argument("--spans", help="per-window table of motif spans (TSV)")
    p.add_argument("--config", default=None, help="config file (default: $VARBIND_CONFIG or "
                                                  "~/.config/varbind/config.toml)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from varbind.cli.score import parse_rbps, resolve_inputs
    from varbind.genomics.motifs import packaged_meme_path, read_meme
    from varbind.interpret.discover import DiscoveryOptions, discover, read_sites, write_tables
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.scorer import Scorer

    if args.top < 1:
        raise VarbindError(f"--top must be at least 1, got {args.top}")
    s = resolve_inputs(args, {})
    scorer = Scorer(ScoreOptions(vcf="", fasta=s["fasta"], models=s["models"], gtf=s.get("gtf"),
                                 expression=s.get("expression"), rbps=parse_rbps(s.get("rbps")),
                                 cell_type=s.get("cell_type"), all_strands=s.get("gtf") is None))
    sites = read_sites(args.sites, scorer)
    options = DiscoveryOptions(top=args.top, layer=args.gradcam_layer, alpha=args.alpha,
                               height=args.height, min_score=args.min_score,
                               batch_size=args.batch_size)
    known = read_meme(args.meme) if args.meme else read_meme()
    results = discover(scorer, sites, options, known, progress=log.info)
    if not results:
        raise VarbindError(f"no RBP of the models has candidate sites in {args.sites}",
                           fix="check that the site file's RBP names match the models' "
                               "(varbind models list)")
    header = scorer.provenance_lines()
    header.append(f"##varbind_motifs=<Sites={args.sites},Top={args.top},"
                  f"GradCAMLayer={args.gradcam_layer or 'last_conv'},Alpha={args.alpha},"
                  f"Height={args.height},MinScore={args.min_score},"
                  f"KnownMotifs={Path(args.meme or packaged_meme_path()).name}>")
    header.append(f"##varbind_runCommand={shlex.join(['varbind', *sys.argv[1:]])}")
    header.append(f"##varbind_runDate={time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
    summary = write_tables(results, args.output, args.spans, header)
    print(summary.to_string(index=False, columns=["model", "rbp", "spans", "known_motif",
                                                  "rbp_rank", "diffusion"]), file=sys.stderr)
    return 0
