"""The Dask flags of ``varbind score`` and ``varbind workflow genome-wide``, and running a
scoring on Dask from them (shared by both commands, so neither imports the other's module)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from varbind.errors import VarbindError

#: The Dask flags (:func:`add_dask_arguments`).
DASK_DESTS = {"dask", "scheduler", "threads_per_worker", "partition_size", "shard_dir",
              "resume", "keep_shards", "dashboard"}


def add_dask_arguments(parser: argparse.ArgumentParser) -> None:
    """The Dask flags of ``varbind score`` (and of ``workflow genome-wide``)."""
    g = parser.add_argument_group("parallel scoring on Dask")
    g.add_argument("--dask", metavar="local[:N]", default=None,
                   help="score on a Dask LocalCluster of N worker processes (default N: one "
                        "per core); the output equals the single-process output")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="join a running Dask scheduler (tcp://host:8786) instead")
    g.add_argument("--threads-per-worker", type=positive_int, default=None, metavar="T",
                   help="model threads per worker (TensorFlow, BLAS); default cores // N")
    g.add_argument("--partition-size", default=None, metavar="SIZE",
                   help="most bases per partition, e.g. 500kb, 2Mb (default: no cap; "
                        "partitions hold about the same number of records, several per "
                        "worker)")
    g.add_argument("--shard-dir", default=None, metavar="DIR",
                   help="where partition shards go (default <output>.shards)")
    g.add_argument("--resume", action="store_true",
                   help="keep complete shards of an earlier run of the same command")
    g.add_argument("--keep-shards", action="store_true",
                   help="leave the shard folder after merging")
    g.add_argument("--dashboard", default=":8787", metavar="ADDRESS",
                   help="LocalCluster dashboard address (default :8787; a busy port "
                        "falls back to a free one)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def wants_dask(args) -> bool:
    """Whether ``varbind score`` should run on Dask; Dask-only flags alone are an error."""
    if getattr(args, "dask", None) or getattr(args, "scheduler", None):
        if args.dask and args.scheduler:
            raise VarbindError("--dask and --scheduler both given",
                               fix="use --dask local:N for a new cluster or --scheduler "
                                   "ADDRESS to join one")
        return True
    alone = [flag for flag, on in (("--resume", args.resume), ("--shard-dir", args.shard_dir),
                                   ("--keep-shards", args.keep_shards),
                                   ("--threads-per-worker", args.threads_per_worker)) if on]
    if alone:
        raise VarbindError(f"{alone[0]} only applies to a Dask run",
                           fix="add --dask local:N (or --scheduler ADDRESS)")
    return False


def cluster_settings(args):
    from varbind.parallel.cluster import ClusterSettings

    return ClusterSettings(dask=args.dask or "local", scheduler=args.scheduler,
                           threads_per_worker=args.threads_per_worker,
                           dashboard_address=args.dashboard)


def run_lines(args, cluster: str) -> list[str]:
    from varbind.parallel.run import run_header_lines

    return run_header_lines(command=shlex.join(["varbind", *sys.argv[1:]]), dask=cluster)


def score_on_dask(options, args, client=None, shard_dir: str | Path | None = None,
                  explain=None) -> str:
    """Run ``varbind score`` on Dask (on ``client``, else a cluster from the flags), with
    attributions when ``explain`` (:class:`varbind.interpret.explain.ExplainSettings`) is given;
    returns
    the summary text for the terminal."""
    from varbind.parallel.run import parse_size, score_parallel

    settings = cluster_settings(args)
    result = score_parallel(
        options, client=client, cluster=settings, shard_dir=shard_dir or args.shard_dir,
        resume=args.resume, partition_size=parse_size(args.partition_size),
        keep_shards=args.keep_shards, progress=not args.quiet,
        run_lines=run_lines(args, args.scheduler or settings.dask), explain=explain)
    return summary_text(result)


def summary_text(result) -> str:
    """The scoring summary of a sharded run, then its Dask figures."""
    from varbind.scoring.results import RunSummary

    fields = RunSummary.__dataclass_fields__
    core = RunSummary(**{k: v for k, v in result.summary.items() if k in fields})
    peak = max(result.peak_rss_per_worker.values(), default=0)
    lines = [core.text(),
             f"dask: {result.partitions} partitions ({result.partitions_skipped} resumed) on "
             f"{len(result.peak_rss_per_worker)} workers, {result.variants_per_second:.0f} "
             f"variants/s overall, merge {result.merge_seconds:.1f} s, peak worker memory "
             f"{peak / 2**20:.0f} MiB"]
    if result.startup:
        from varbind.parallel.startup import startup_text

        lines.append(startup_text(result.startup))
    return "\n".join(lines)
