"""``varbind workflow``: genome-wide scoring on Dask (local, SLURM, PBS), job scripts, and the
de novo case/control workflow. Also the Dask flags of ``varbind score``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from varbind.cli.dask_options import (  # noqa: F401  (re-exported: they lived here)
    DASK_DESTS,
    add_dask_arguments,
    cluster_settings,
    positive_int,
    run_lines,
    score_on_dask,
    summary_text,
    wants_dask,
)
from varbind.errors import VarbindError

DESCRIPTION = """\
Batch workflows built on the scoring core:

  genome-wide  score a VCF partition by partition on a local Dask cluster, a running
               scheduler, or SLURM / PBS jobs (dask-jobqueue); shards, resume, one merged
               VCF + TSV identical to 'varbind score'
  job-script   print the batch script of one worker job (or of the driver) without
               submitting anything
  denovo       score case and control VCFs and test, per RBP and region, whether strong
               binding losses / gains are enriched in cases (Fisher's exact test), with a plot
"""

#: ``varbind score`` options the workflows set themselves.
_OWN_DESTS = {"help", "vcf", "output", "tsv", "summary"}


# --------------------------------------------------------------------------- subcommands


def register(subparsers) -> None:
    p = subparsers.add_parser("workflow", help="genome-wide Dask / HPC runs and de novo sets",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="workflow", metavar="WORKFLOW", required=True)
    _register_genome_wide(sub)
    _register_job_script(sub)
    _register_denovo(sub)


def _score_parser() -> argparse.ArgumentParser:
    """``varbind score``'s parser, to share its options."""
    from varbind.cli import score

    holder = argparse.ArgumentParser(add_help=False).add_subparsers()
    score.register(holder)
    return holder.choices["score"]


def _add_score_options(parser: argparse.ArgumentParser, title: str) -> None:
    """Every ``varbind score`` option but the input and output names, then the Dask flags."""
    group = parser.add_argument_group(title)
    for action in _score_parser()._actions:
        if action.dest in _OWN_DESTS or action.dest in DASK_DESTS:
            continue
        group._group_actions.append(action)
        parser._add_action(action)
    add_dask_arguments(parser)


def _add_job_arguments(parser: argparse.ArgumentParser, with_cluster: bool) -> None:
    g = parser.add_argument_group("batch jobs (SLURM / PBS through dask-jobqueue)")
    if with_cluster:
        g.add_argument("--cluster", choices=("local", "slurm", "pbs"), default="local",
                       help="where workers run (default local: a LocalCluster from --dask)")
    g.add_argument("--jobs", type=positive_int, default=1, help="jobs to submit (default 1)")
    g.add_argument("--queue", default=None, help="SLURM partition / PBS queue")
    g.add_argument("--account", default=None, help="account / project to charge")
    g.add_argument("--cores", type=positive_int, default=8, help="cores per job (default 8)")
    g.add_argument("--memory", default="32GB", help="memory per job (default 32GB)")
    g.add_argument("--walltime", default="04:00:00", help="per job, HH:MM:SS (default 4 h)")
    g.add_argument("--gpus", type=int, default=0, help="GPUs per job (default 0)")
    g.add_argument("--processes", type=positive_int, default=None,
                   help="worker processes per job (default: one per GPU, else one per core)")
    g.add_argument("--prologue", action="append", default=[], metavar="LINE",
                   help="shell line run before the worker (repeatable), e.g. "
                        "'module load cuda' or 'source ~/venv/bin/activate'")
    g.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                   help="extra scheduler directive, verbatim (repeatable)")
    g.add_argument("--interface", default=None, help="network interface, e.g. ib0")
    g.add_argument("--local-directory", default=None,
                   help="worker scratch folder on the nodes, e.g. $TMPDIR")
    g.add_argument("--log-directory", default=None, help="folder for the jobs' logs")
    g.add_argument("--python", default=None,
                   help="python on the compute nodes (default: this one)")
    if with_cluster:
        g.add_argument("--worker-wait", type=float, default=None, metavar="SECONDS",
                       help="give up when no job has started a worker after this long "
                            "(default: wait as long as the queue takes)")


def job_spec(args, cluster: str):
    from varbind.workflows.jobqueue import JobSpec

    return JobSpec(cluster=cluster, queue=args.queue, cores=args.cores, memory=args.memory,
                   walltime=args.walltime, gpus=args.gpus, account=args.account,
                   processes=args.processes, jobs=args.jobs, prologue=list(args.prologue),
                   job_extra=list(args.job_extra), local_directory=args.local_directory,
                   log_directory=args.log_directory, interface=args.interface,
                   python=args.python)


def _register_genome_wide(sub) -> None:
    p = sub.add_parser(
        "genome-wide", help="score a whole VCF on Dask: local, a scheduler, SLURM or PBS",
        description="Score a whole VCF partition by partition on Dask and merge the shards "
                    "into one VCF and one TSV, identical to 'varbind score' outside the "
                    "##varbind_run header lines. With --cluster slurm|pbs the scheduler runs "
                    "here and --jobs batch jobs hold the workers. Rerun with --resume after a "
                    "crash or a walltime.")
    p.add_argument("vcf", help="input VCF, VCF.gz or BCF (indexed on the fly if needed)")
    p.add_argument("-o", "--output", required=True, help="annotated VCF (.vcf.gz)")
    p.add_argument("--tsv", default=None, help="table: .tsv, .tsv.gz or .parquet")
    p.add_argument("--summary", default=None, help="run summary JSON")
    _add_score_options(p, "scoring (as in varbind score)")
    _add_job_arguments(p, with_cluster=True)
    p.set_defaults(func=run_genome_wide)


def _register_job_script(sub) -> None:
    p = sub.add_parser(
        "job-script", help="print the SLURM / PBS job script of one worker job",
        description="Print the batch script dask-jobqueue submits for each worker job (the "
                    "scheduler address is filled in at run time), or with --driver a script "
                    "that runs 'varbind workflow genome-wide' itself as a job. Nothing is "
                    "submitted.")
    p.add_argument("--cluster", choices=("slurm", "pbs"), required=True)
    p.add_argument("--driver", nargs=argparse.REMAINDER, default=None, metavar="ARGS",
                   help="print a driver job running 'varbind workflow genome-wide ARGS' "
                        "(put it last)")
    _add_job_arguments(p, with_cluster=False)
    p.set_defaults(func=run_job_script)


def _register_denovo(sub) -> None:
    p = sub.add_parser(
        "denovo", help="cases vs controls: strong binding losses/gains per RBP and region",
        description="Score a case and a control VCF with the same models (or read tables "
                    "already scored) and report, per RBP and region, the alleles with strong "
                    "losses (delta <= -T) and gains (delta >= T) in each set, with Fisher's "
                    "exact test and Benjamini-Hochberg q-values: OUT/denovo.tsv and a plot.")
    p.add_argument("--cases", required=True, help="case VCF (or a scored .tsv/.parquet)")
    p.add_argument("--controls", required=True, help="control VCF (or a scored .tsv/.parquet)")
    p.add_argument("--out", default="denovo", help="output folder (default ./denovo)")
    p.add_argument("--loss-threshold", type=float, default=0.2,
                   help="strong loss: delta <= -this (default 0.2)")
    p.add_argument("--gain-threshold", type=float, default=0.2,
                   help="strong gain: delta >= this (default 0.2)")
    p.add_argument("--alternative", choices=("two-sided", "greater", "less"),
                   default="two-sided", help="Fisher test alternative (greater: more strong "
                                             "effects in cases)")
    p.add_argument("--plot-format", choices=("png", "pdf", "svg"), default="png")
    _add_score_options(p, "scoring (as in varbind score; not needed for scored tables)")
    p.set_defaults(func=run_denovo)


# --------------------------------------------------------------------------- runners


def _score_options(args, vcf: Path, output: Path | None, table: Path | None,
                   summary: str | None = None):
    from varbind.cli.score import build_options

    ns = argparse.Namespace(**vars(args))
    ns.vcf, ns.output, ns.tsv, ns.summary = str(vcf), output, table, summary
    return build_options(ns)


def run_genome_wide(args) -> int:
    from varbind.interpret.explain import settings_from_args
    from varbind.parallel.run import parse_size
    from varbind.workflows.genome_wide import GenomeWideRun
    from varbind.workflows.genome_wide import run_genome_wide as run_gw

    cluster = args.cluster
    if cluster == "local" and args.scheduler:
        cluster = "scheduler"
    if cluster in ("slurm", "pbs") and (args.dask or args.scheduler):
        raise VarbindError(f"--cluster {cluster} starts its own scheduler",
                           fix="drop --dask / --scheduler")
    options = _score_options(args, Path(args.vcf), args.output, args.tsv, args.summary)
    run = GenomeWideRun(cluster=cluster, local=cluster_settings(args),
                        job=job_spec(args, cluster) if cluster in ("slurm", "pbs") else None,
                        shard_dir=args.shard_dir, resume=args.resume,
                        partition_size=parse_size(args.partition_size),
                        keep_shards=args.keep_shards, worker_wait=args.worker_wait)
    label = {"local": run.local.dask, "scheduler": args.scheduler}.get(cluster, cluster)
    result = run_gw(options, run, progress=not args.quiet, run_lines=run_lines(args, label),
                    explain=settings_from_args(args))
    print(summary_text(result), file=sys.stderr)
    return 0


def run_job_script(args) -> int:
    from varbind.workflows.jobqueue import render_driver_script, render_job_script

    spec = job_spec(args, args.cluster)
    if args.driver is not None:
        command = ["varbind", "workflow", "genome-wide", *args.driver,
                   "--cluster", args.cluster]
        for flag, value in (("--queue", args.queue), ("--account", args.account),
                            ("--cores", args.cores), ("--memory", args.memory),
                            ("--walltime", args.walltime), ("--gpus", args.gpus),
                            ("--jobs", args.jobs), ("--processes", args.processes)):
            if value is not None:
                command += [flag, str(value)]
        print(render_driver_script(spec, command))
    else:
        print(render_job_script(spec))
    return 0


def run_denovo(args) -> int:
    from varbind.workflows.denovo import DenovoThresholds, score_sets
    from varbind.workflows.denovo import run_denovo as report

    thresholds = DenovoThresholds(args.loss_threshold, args.gain_threshold, args.alternative)
    out = Path(args.out)
    cases, controls = Path(args.cases), Path(args.controls)
    scored = [_is_table(cases), _is_table(controls)]
    if any(scored) and not all(scored):
        raise VarbindError("--cases and --controls must both be VCFs or both scored tables",
                           fix="score the VCF with 'varbind score --tsv', or pass two VCFs")
    if not all(scored):
        options = _score_options(args, cases, None, None)
        if wants_dask(args):  # one cluster for both sets: models load once per worker
            from varbind.parallel.cluster import dask_client

            with dask_client(cluster_settings(args)) as client:
                def score(opts):
                    shards = Path(args.shard_dir) / Path(opts.vcf).name if args.shard_dir \
                        else None
                    return score_on_dask(opts, args, client=client, shard_dir=shards)

                cases, controls = score_sets(options, cases, controls, out, score=score)
        else:
            cases, controls = score_sets(options, cases, controls, out)
    result = report(cases, controls, out, thresholds, plot_format=args.plot_format)
    strongest = result.report.sort_values("p_value", kind="stable").head(5)
    print(f"denovo: {result.report_path} and {result.plot_path}", file=sys.stderr)
    for _, row in strongest.iterrows():
        print(f"  {row['rbp']:<10} {row['region']:<12} {row['effect']:<5} cases "
              f"{row['cases_strong']}/{row['cases_total']} controls "
              f"{row['controls_strong']}/{row['controls_total']} p={row['p_value']:.3g} "
              f"q={row['q_value']:.3g}", file=sys.stderr)
    return 0


def _is_table(path: Path) -> bool:
    return path.name.endswith((".tsv", ".tsv.gz", ".parquet"))
