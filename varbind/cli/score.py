"""``varbind score``: predicted RBP binding effects of every variant in a VCF."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from varbind.cli.dask_options import add_dask_arguments, score_on_dask, wants_dask
from varbind.errors import VarbindError
from varbind.interpret.explain import add_arguments as add_explain_arguments

DESCRIPTION = """\
Score every ALT allele of a VCF on its transcribed strand(s) with every model of a set, and
write an annotated VCF (INFO/VARBIND, VEP-style; bgzipped and tabix-indexed for .vcf.gz) and,
with --tsv, a table with one row per record x ALT x strand x RBP (.parquet for Parquet).

Inputs come from flags, else from the config file ($VARBIND_CONFIG, else
~/.config/varbind/config.toml), else from --genome NAME. '--genome demo' selects the bundled
demo reference, annotation, expression table and models; the VCF argument 'demo' is the
bundled demo VCF:  varbind score demo --genome demo
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("score", help="score the variants of a VCF",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vcf", help="input VCF, VCF.gz or BCF ('demo': the bundled demo VCF)")
    p.add_argument("--rbps", default=None,
                   help="comma-separated RBPs to report, or 'all' (default: all)")
    p.add_argument("--genome", default=None,
                   help="named reference from the config file, or 'demo'")
    p.add_argument("--fasta", default=None, help="reference FASTA (plain or bgzip)")
    p.add_argument("--gtf", default=None, help="annotation, GTF or GFF3 (plain or gz)")
    p.add_argument("--expression", default=None, help="expression table (TPM per cell type)")
    p.add_argument("--models", default=None, help="a model bundle or a directory of bundles")
    p.add_argument("-o", "--output", default=None,
                   help="annotated VCF, .vcf or .vcf.gz (default when no --tsv is given: "
                        "<input>.varbind.vcf.gz, or varbind_demo.vcf.gz, in the current "
                        "folder)")
    p.add_argument("--tsv", default=None, help="table output: .tsv, .tsv.gz or .parquet")
    p.add_argument("--region", default=None,
                   help="only this region, chrom[:start-end] (1-based; needs a VCF index)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="records per chunk and windows per model call (default 1024 on a "
                        "CPU, 8192 when the model backend sees a GPU)")
    p.add_argument("--min-delta", type=float, default=None,
                   help="write a VARBIND entry only when |delta| >= this (default 0: all)")
    p.add_argument("--effect-threshold", type=float, default=None,
                   help="|delta| from which Consequence is binding_loss/binding_gain "
                        "(default 0.1)")
    p.add_argument("--strict", action="store_true", default=None,
                   help="stop at the first REF mismatch or unknown contig")
    p.add_argument("--all-strands", action="store_true", default=None,
                   help="score both strands of every variant, annotated or not")
    p.add_argument("--cell-type", default=None,
                   help="expression column (default: each model's cell line)")
    p.add_argument("--summary", default=None,
                   help="run summary JSON (default: <output>.summary.json)")
    p.add_argument("--config", default=None, help="config file (default: $VARBIND_CONFIG or "
                                                  "~/.config/varbind/config.toml)")
    add_dask_arguments(p)
    add_explain_arguments(p)  # --explain, --explain-out, ... (varbind.interpret.explain)
    p.set_defaults(func=run)


def build_options(args):
    """ScoreOptions from parsed arguments, the config file and --genome."""
    from varbind.scoring.options import ScoreOptions

    s = resolve_inputs(args, {"batch_size": args.batch_size, "min_delta": args.min_delta,
                              "effect_threshold": args.effect_threshold,
                              "all_strands": args.all_strands, "strict": args.strict})
    vcf = _input_vcf(args.vcf)
    output, table = args.output, args.tsv
    if output is None and table is None:
        output = Path.cwd() / "varbind_demo.vcf.gz" if args.vcf == "demo" \
            and not Path("demo").exists() else default_output(vcf)
    rbps = parse_rbps(s.get("rbps"))
    return ScoreOptions(
        vcf=vcf, fasta=s["fasta"], models=s["models"], output=output, table=table,
        gtf=s.get("gtf"), expression=s.get("expression"), rbps=rbps, region=args.region,
        batch_size=_optional_int(s.get("batch_size")), min_delta=float(_get(s, "min_delta", 0.0)),
        effect_threshold=float(_get(s, "effect_threshold", 0.1)),
        strict=bool(s.get("strict")), all_strands=bool(s.get("all_strands")),
        cell_type=s.get("cell_type"), summary=args.summary,
        progress=not args.quiet, command=shlex.join(["varbind", *sys.argv[1:]]))


def resolve_inputs(args, extra: dict) -> dict:
    """Settings from the input flags (``--fasta --gtf --expression --models --genome
    --cell-type --rbps`` and ``extra``), over the config file, over ``--genome``; raises when
    no reference or models are given."""
    from varbind.config import config_path, load_config, merge_settings

    flags = {"fasta": args.fasta, "gtf": args.gtf, "expression": args.expression,
             "models": args.models, "genome": args.genome, "cell_type": args.cell_type,
             "rbps": args.rbps, **extra}
    s = merge_settings(flags, load_config(args.config))
    if not s.get("models") and s.get("genome") == "demo":
        from varbind.demo import demo_file

        demo_file("models")  # raises: the demo model set is missing
    if not s.get("fasta") or not s.get("models"):
        missing = " and ".join(k for k in ("fasta", "models") if not s.get(k))
        raise VarbindError(f"no {missing} given",
                           fix=f"pass --fasta FASTA --gtf GTF --models DIR, or --genome demo, or "
                               f"set them under [score] in {config_path()}")
    return s


def parse_rbps(value) -> list[str] | None:
    """``--rbps``: None for all (missing or 'all'), else the comma-separated names."""
    rbps = value or "all"
    if isinstance(rbps, str):
        rbps = None if rbps.strip().lower() == "all" else \
            [r.strip() for r in rbps.split(",") if r.strip()]
    return rbps


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


def _get(settings: dict, key: str, default):
    value = settings.get(key)
    return default if value is None else value


def _input_vcf(name: str) -> Path:
    if name == "demo" and not Path(name).exists():
        from varbind.demo import demo_file

        return demo_file("vcf")
    return Path(name)


def default_output(vcf: Path) -> Path:
    """``<input name without .vcf[.gz]/.bcf>.varbind.vcf.gz`` in the current folder."""
    name = vcf.name
    for suffix in (".vcf.gz", ".vcf.bgz", ".vcf", ".bcf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return Path.cwd() / f"{name}.varbind.vcf.gz"


def run(args) -> int:
    from varbind.interpret.explain import score_with_explanations, settings_from_args
    from varbind.scoring.run import score_vcf

    options = build_options(args)
    explain = settings_from_args(args)
    if wants_dask(args):  # partitions on Dask workers, merged: same output (varbind.parallel)
        print(score_on_dask(options, args, explain=explain), file=sys.stderr)
        return 0
    if explain is not None:  # attribution maps and summaries (varbind.interpret.explain)
        summary = score_with_explanations(options, explain)
        print(summary.text(), file=sys.stderr)
        return 0
    summary = score_vcf(options)
    print(summary.text(), file=sys.stderr)
    return 0
