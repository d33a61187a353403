"""Genome-wide scoring on Dask: partitions, shards, ordered merge and resume.

The scoring core (:func:`varbind.scoring.run.score_vcf`) stays the one function that does the
work. It cuts the VCF into partitions through its index, runs that function once
per partition on Dask workers (each partition's output is a *shard*, finished by a
completion marker that records the shards' digests), and merges the shards in order into one
bgzipped, tabix-indexed VCF and one TSV that equal the single-process output outside the
``##varbind_run`` header lines.

This package is the only core code that imports dask, and it imports it inside functions, so that
``varbind --help`` stays fast.

Coordinates: partitions are 1-based, inclusive, as in VCF ``POS`` and region strings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from varbind.errors import VarbindError
from varbind.files import atomic_output
from varbind.parallel.cluster import ClusterSettings, dask_client
from varbind.parallel.merge import RUN_HEADER_PREFIX, merge_tsv_shards, merge_vcf_shards
from varbind.parallel.partitions import DEFAULT_PARTITION_SIZE, Partition, plan_partitions
from varbind.parallel.shards import (
    SHARD_MANIFEST,
    SHARD_PREFIX,
    ExplainingScore,
    ShardPaths,
    cached_scorer,
    default_score_function,
    options_fingerprint,
    read_marker,
    score_partition,
)
from varbind.parallel.summaries import combine_summaries, summary_to_dict
from varbind.parallel.vcf_index import ensure_index

if TYPE_CHECKING:
    from varbind.parallel.shards import ScoreFunction, ShardResult

log = logging.getLogger(__name__)


@dataclass
class ParallelSummary:
    """What a sharded run did, next to the scoring summary it adds up."""

    summary: dict
    partitions: int
    partitions_skipped: int
    records: int
    seconds: float
    merge_seconds: float
    variants_per_second: float
    peak_rss_per_worker: dict[str, int] = field(default_factory=dict)
    task_seconds: list[float] = field(default_factory=list)
    #: CPU seconds of each partition's worker process during its task (same order)
    task_cpu_seconds: list[float] = field(default_factory=list)
    dashboard: str | None = None
    #: cluster start, plan and per-worker start-up (see :mod:`varbind.parallel.startup`)
    startup: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def default_shard_dir(output: Path) -> Path:
    """``<output>.shards`` beside the output."""
    return output.parent / f"{output.name}.shards"


def _suffix_of(path: Path, known: Sequence[str]) -> str:
    for suffix in known:
        if path.name.endswith(suffix):
            return suffix
    return "".join(path.suffixes) or ".out"


def score_parallel(options, *, client=None, cluster: ClusterSettings | None = None,
                   shard_dir: str | os.PathLike | None = None, resume: bool = False,
                   partition_size: int | None = DEFAULT_PARTITION_SIZE,
                   keep_shards: bool = False, score_fn: ScoreFunction | None = None,
                   retries: int = 3, progress: bool = True,
                   run_lines: Sequence[str] | None = None, task_resources: dict | None = None,
                   explain=None, slots: int | None = None,
                   min_records: int | None = None) -> ParallelSummary:
    """Score ``options.vcf`` partition by partition on Dask and merge the shards.

    Parameters
    ----------
    options : scoring options (a dataclass with ``vcf``, ``output``, ``tsv``, ``region``);
        each partition runs ``score_fn(replace(options, region=..., output=shard, ...))``
    client : a ``distributed.Client`` to use; otherwise one is started from ``cluster``, in
        the background while the partitions are planned
    shard_dir : where shards and their markers go (default ``<output>.shards``)
    resume : keep shards whose marker matches (same partition, options, input and digests);
        the plan of the earlier run is reused
    partition_size : most bases per partition (None: partitions cut by records only)
    keep_shards : leave the shard folder after a successful merge
    score_fn : the scoring function (default :func:`varbind.scoring.run.score_vcf`)
    retries : extra attempts for a partition whose task raised; tasks of killed workers are
        rescheduled by Dask (up to ``distributed.scheduler.allowed-failures`` times)
    run_lines : ``##varbind_run`` header lines of this run, replacing the shards' own
    task_resources : Dask resources each partition holds (``{"partition": 1}`` on jobqueue
        workers started with ``--resources partition=1``: one partition per worker at a time)
    explain : :class:`varbind.interpret.explain.ExplainSettings` to also compute attributions: each
        partition writes an HDF5 shard (:class:`ExplainingScore`), merged into
        ``explain.out`` in partition order
    slots : partitions the cluster runs at once, for the plan (default: from the cluster)
    min_records : fewest records worth a partition (see :func:`plan_partitions`)

    Returns
    -------
    :class:`ParallelSummary`
    """
    from varbind.parallel.startup import BackgroundCluster

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        pending = None
        if client is None:
            settings = cluster or ClusterSettings()
            pending = stack.enter_context(
                BackgroundCluster(functools.partial(dask_client, settings)))
            if slots is None and not settings.scheduler:
                slots = settings.workers_and_threads()[0]
        return _score_sharded(options, pending, client, started, shard_dir=shard_dir,
                              resume=resume, partition_size=partition_size,
                              keep_shards=keep_shards, score_fn=score_fn, retries=retries,
                              progress=progress, run_lines=run_lines,
                              task_resources=task_resources, explain=explain, slots=slots,
                              min_records=min_records)


def _score_sharded(options, pending, client, started: float, *, shard_dir, resume,
                   partition_size, keep_shards, score_fn, retries, progress, run_lines,
                   task_resources, explain, slots, min_records) -> ParallelSummary:
    """:func:`score_parallel` on ``client``, or on the cluster ``pending`` is starting."""
    from varbind.parallel.startup import startup_summary, task_slots, warm_workers

    if explain is not None and score_fn is None:
        score_fn = ExplainingScore(explain)
    output = Path(options.output) if options.output else None
    table = Path(options.table) if options.table else None
    if output is None and table is None:
        raise VarbindError("no output given", fix="pass -o out.vcf.gz and/or --tsv out.tsv")
    shard_dir = Path(shard_dir) if shard_dir else default_shard_dir(output or table)
    shard_dir.mkdir(parents=True, exist_ok=True)
    vcf = ensure_index(options.vcf, shard_dir / "input")
    fingerprint = options_fingerprint(options, options.vcf, explain)
    plan_key = {"partition_size": partition_size, "min_records": min_records}
    if slots is None:
        client = client or pending.client()
        slots = task_slots(client, task_resources)
    plan_started = time.perf_counter()
    partitions = (_stored_plan(shard_dir, fingerprint, plan_key) if resume else None) or \
        plan_partitions(vcf, partition_size, options.region, slots=slots,
                        min_records=min_records)
    plan_seconds = time.perf_counter() - plan_started
    client = client or pending.client()
    warming = (warm_workers(client, cached_scorer, options) if _uses_cached_scorer(score_fn)
               else [])
    paths = {p.index: ShardPaths.for_partition(
        shard_dir, p, _suffix_of(output, (".vcf.gz", ".vcf.bgz", ".vcf")) if output else None,
        _suffix_of(table, (".tsv.gz", ".tsv", ".parquet")) if table else None,
        attributions=explain is not None) for p in partitions}
    if not partitions:  # no records (or none in --region): one task writes the outputs
        log.warning("%s has no records%s; scoring it in one task", options.vcf,
                    f" in {options.region}" if options.region else "")
        return _score_in_one_task(client, options, score_fn, shard_dir, keep_shards, started,
                                  explain)
    _write_plan(shard_dir, partitions, fingerprint, resume, plan_key)
    log.info("plan: %d partitions for %d task slots (%.2f s)", len(partitions), slots,
             plan_seconds)

    done: dict[int, ShardResult] = {}
    if resume:
        for p in partitions:
            result = read_marker(paths[p.index], p, fingerprint)
            if result is not None:
                done[p.index] = result
        log.info("resume: %d of %d partitions already complete", len(done), len(partitions))
    todo = [p for p in partitions if p.index not in done]
    done.update(_run_partitions(client, options, todo, paths, vcf, fingerprint, score_fn,
                                retries, progress, skipped=len(done), total=len(partitions),
                                resources=task_resources))
    startup = startup_summary(client, warming, pending.seconds if pending else None,
                              plan_seconds)

    merge_started = time.perf_counter()
    ordered = [done[p.index] for p in partitions]
    header_fix = _region_restorer(options.region)
    if output is not None:
        merge_vcf_shards([(p, paths[p.index].vcf) for p in partitions], output, run_lines,
                         header_fix=header_fix)
    if table is not None:
        merge_tsv_shards([(p, paths[p.index].table) for p in partitions], table)
    if explain is not None:
        from varbind.interpret.store import merge_stores

        merge_stores([paths[p.index].attributions for p in partitions], explain.out)
    merge_seconds = time.perf_counter() - merge_started
    seconds = time.perf_counter() - started
    records = sum(r.records for r in ordered)
    result = ParallelSummary(
        summary=combine_summaries([r.summary for r in ordered]), partitions=len(partitions),
        partitions_skipped=sum(r.skipped for r in ordered), records=records, seconds=seconds,
        merge_seconds=merge_seconds, variants_per_second=records / seconds if seconds else 0.0,
        peak_rss_per_worker=_peaks(ordered),
        task_seconds=[r.seconds for r in ordered if not r.skipped],
        task_cpu_seconds=[r.cpu_seconds for r in ordered if not r.skipped],
        dashboard=getattr(client, "dashboard_link", None), startup=startup,
    )
    _write_summary(options, result, output, table, explain)
    if not keep_shards:
        shutil.rmtree(shard_dir, ignore_errors=True)
    return result


def _score_in_one_task(client, options, score_fn, shard_dir: Path, keep_shards: bool,
                       started: float, explain=None) -> ParallelSummary:
    kwargs = {} if explain is None else {"attributions": explain.out}
    summary = summary_to_dict(client.submit(score_fn or default_score_function(),
                                            dataclasses.replace(options, progress=False),
                                            pure=False, **kwargs).result())
    if not keep_shards:
        shutil.rmtree(shard_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    return ParallelSummary(summary=summary, partitions=0, partitions_skipped=0, records=0,
                           seconds=seconds, merge_seconds=0.0, variants_per_second=0.0,
                           dashboard=getattr(client, "dashboard_link", None))


def _peaks(results: Sequence[ShardResult]) -> dict[str, int]:
    peaks: dict[str, int] = {}
    for r in results:
        if not r.skipped:
            peaks[r.worker] = max(peaks.get(r.worker, 0), r.peak_rss)
    return peaks


def _region_restorer(region: str | None) -> Callable[[bytes, Partition], bytes]:
    """Header lines name the partition's region where the run named the user's (or none)."""
    def fix(line: bytes, partition: Partition) -> bytes:
        return line.replace(f"Region={partition.region}".encode(),
                            f"Region={region or '.'}".encode())
    return fix


def _write_summary(options, result: ParallelSummary, output: Path | None,
                   table: Path | None, explain=None) -> None:
    """The run summary JSON where a single-process run writes it (``<output>.summary.json``),
    with the sharded run's timings and a ``parallel`` section."""
    path = getattr(options, "summary", None) or Path(str(output or table) + ".summary.json")
    summary = dict(result.summary)
    summary["seconds"] = result.seconds
    summary["variants_per_second"] = result.variants_per_second
    summary["outputs"] = {k: str(v) for k, v in (("vcf", output), ("table", table),
                                                  ("summary", path),
                                                  ("attributions", explain and explain.out))
                          if v is not None}
    summary["parallel"] = {k: v for k, v in result.to_json().items() if k != "summary"}
    result.summary = summary
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _write_plan(shard_dir: Path, partitions: list[Partition], fingerprint: str,
                resume: bool, plan_key: dict | None = None) -> None:
    """Record the plan; without ``resume``, clear shards of earlier runs first."""
    if not resume:
        for old in shard_dir.glob(f"{SHARD_PREFIX}*"):
            old.unlink()
    with atomic_output(shard_dir / SHARD_MANIFEST) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "plan": plan_key or {},
                                   "partitions": [p.to_json() for p in partitions]}, indent=1))


def _stored_plan(shard_dir: Path, fingerprint: str, plan_key: dict) -> list[Partition] | None:
    """The partitions of an earlier run of the same command (same options, input and plan
    settings), whatever the number of workers it had; None if there is none."""
    try:
        stored = json.loads((shard_dir / SHARD_MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if stored.get("fingerprint") != fingerprint or stored.get("plan") != plan_key:
        return None
    return [Partition(**p) for p in stored.get("partitions", [])] or None


def _uses_cached_scorer(score_fn) -> bool:
    """Whether partitions load their models through :func:`cached_scorer` (warm-up helps)."""
    return score_fn is None or isinstance(score_fn, ExplainingScore)


def _run_partitions(client, options, todo: list[Partition], paths: dict[int, ShardPaths],
                    vcf: Path, fingerprint: str, score_fn, retries: int, progress: bool,
                    skipped: int, total: int, resources: dict | None = None
                    ) -> dict[int, ShardResult]:
    """Submit one task per partition and collect the results as they finish."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from tqdm.auto import tqdm

    futures = {}
    for p in todo:
        future = client.submit(score_partition, options, p, paths[p.index], vcf, fingerprint,
                               score_fn, key=f"varbind-{p.name}-{fingerprint[7:19]}",
                               retries=retries, pure=False, priority=-p.index,
                               resources=resources)
        futures[future] = p
    results: dict[int, ShardResult] = {}
    started = time.perf_counter()
    records = 0
    bar = tqdm(total=total, initial=skipped, unit="partition", desc="partitions",
               disable=None if progress else True, leave=False)  # None: off when not a TTY
    try:
        for future in as_completed(futures):
            p = futures[future]
            try:
                result = future.result()
            except KilledWorker:
                raise VarbindError(
                    f"partition {p.region} killed its worker repeatedly (out of memory?)",
                    fix="lower --batch-size or --threads-per-worker, or give workers more "
                        "memory; --resume keeps the finished partitions") from None
            results[p.index] = result
            records += result.records
            rate = records / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:,.0f} variants/s")
            bar.update(1)
            log.debug("%s %s: %d records in %.1fs on %s", p.name, p.region, result.records,
                      result.seconds, result.worker)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    log.info("scored %d partitions (%d resumed), %d records, %.0f variants/s",
             len(results), skipped, records, records / elapsed if elapsed else 0.0)
    return results


def run_header_lines(command: str | None = None, **items) -> list[str]:
    """``##varbind_run`` lines for a sharded run, named as the scoring core names its own
    (``##varbind_runCommand``, ``##varbind_runDate``), plus the Dask settings
    (``dask="local:2"`` -> ``##varbind_runDask=local:2``)."""
    lines = []
    if command:
        lines.append(f"{RUN_HEADER_PREFIX}Command={command}")
    lines.append(f"{RUN_HEADER_PREFIX}Date={time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
    for key, value in items.items():
        if value is not None:
            lines.append(f"{RUN_HEADER_PREFIX}{key[:1].upper()}{key[1:]}={value}")
    return lines


def parse_size(text: str | int | None) -> int | None:
    """``2000000``, ``500kb``, ``2Mb``, ``1.5M`` -> bases (None stays None)."""
    if text is None or isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)[bB]?\s*", str(text))
    if not match:
        raise VarbindError(f"cannot read size {text!r}", fix="write e.g. 2000000, 500kb or 2Mb")
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match[2].lower()]
    value = int(float(match[1]) * scale)
    if value < 1:
        raise VarbindError(f"size {text!r} is below one base", fix="give a positive size")
    return value


def temporary_dir(prefix: str = "varbind-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
