"""Shards: one partition's scoring output, its completion marker (digests and a
fingerprint of the options, for ``--resume``) and the per-worker cached scorer."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from varbind.files import atomic_output, file_digest
from varbind.parallel.merge import count_owned_records
from varbind.parallel.summaries import summary_to_dict

if TYPE_CHECKING:
    from varbind.parallel.partitions import Partition

log = logging.getLogger(__name__)


SHARD_PREFIX = "part-"


MARKER_SUFFIX = ".done.json"


SHARD_MANIFEST = "plan.json"


#: Options that name this run's outputs or its display; they do not change a shard's content.
RUN_SPECIFIC_FIELDS = frozenset({"output", "table", "summary", "region", "progress", "command"})


ScoreFunction = Callable[[object], object]


@dataclass(frozen=True)
class ShardPaths:
    """Where one partition's outputs go inside the shard folder."""

    vcf: Path | None
    table: Path | None
    summary: Path
    marker: Path
    attributions: Path | None = None

    @classmethod
    def for_partition(cls, shard_dir: Path, partition: Partition, vcf_suffix: str | None,
                      table_suffix: str | None, attributions: bool = False) -> ShardPaths:
        base = str(shard_dir / partition.name)
        return cls(vcf=Path(base + vcf_suffix) if vcf_suffix else None,
                   table=Path(base + table_suffix) if table_suffix else None,
                   summary=Path(base + ".summary.json"), marker=Path(base + MARKER_SUFFIX),
                   attributions=Path(base + ".attr.h5") if attributions else None)

    def files(self) -> dict[str, Path]:
        return {k: v for k, v in (("vcf", self.vcf), ("table", self.table),
                                  ("attributions", self.attributions)) if v is not None}


@dataclass
class ShardResult:
    """What a worker reports for one partition."""

    partition: Partition
    records: int
    seconds: float
    summary: dict
    worker: str = ""
    peak_rss: int = 0
    skipped: bool = False
    #: CPU seconds (user + system) of the worker process while it ran the task, all its
    #: threads: above ``seconds`` when reading, the model and writing overlap
    cpu_seconds: float = 0.0


def options_fingerprint(options, vcf: str | os.PathLike, explain=None) -> str:
    """Digest of everything that decides a shard's content: the input VCF and every other
    file an option names (path, size, modification time; folders file by file, e.g. a model
    set), every option except those that only name outputs or change the display, and the
    ``explain`` settings (:class:`varbind.interpret.explain.ExplainSettings`) when attributions are
    computed."""
    fields = {}
    if dataclasses.is_dataclass(options):
        fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
                  if f.name not in RUN_SPECIFIC_FIELDS}
    files = {name: _file_signature(value) for name, value in fields.items()
             if isinstance(value, str | os.PathLike) and Path(value).exists()}
    files["vcf"] = _file_signature(vcf)
    if explain is not None:
        fields["explain"] = (explain.min_delta, explain.explain_all, explain.options)
    text = json.dumps({"options": {k: repr(v) for k, v in fields.items()}, "files": files},
                      sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _file_signature(path: str | os.PathLike) -> list:
    path = Path(path).resolve()
    members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in members]


def read_marker(paths: ShardPaths, partition: Partition, fingerprint: str) -> ShardResult | None:
    """The completed shard's result if its marker matches this partition, these options and
    the shard files' digests; None if the shard must be (re)computed."""
    try:
        marker = json.loads(paths.marker.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if marker.get("partition") != partition.to_json() or marker.get("fingerprint") != fingerprint:
        return None
    digests = marker.get("files", {})
    for key, path in paths.files().items():
        if key not in digests or not path.exists() or file_digest(path) != digests[key]:
            return None
    return ShardResult(partition=partition, records=int(marker["records"]),
                       seconds=float(marker.get("seconds", 0.0)), summary=marker.get("summary", {}),
                       worker=marker.get("worker", ""), skipped=True)


def write_marker(paths: ShardPaths, result: ShardResult, fingerprint: str) -> None:
    """Write the completion marker last, atomically: its presence means the shard is whole."""
    marker = {
        "partition": result.partition.to_json(),
        "fingerprint": fingerprint,
        "files": {key: file_digest(path) for key, path in paths.files().items()},
        "records": result.records,
        "seconds": result.seconds,
        "summary": result.summary,
        "worker": result.worker,
    }
    with atomic_output(paths.marker) as tmp:
        tmp.write_text(json.dumps(marker, indent=1, default=str))


def partition_options(options, partition: Partition, paths: ShardPaths, vcf: Path):
    """The scoring options for one partition: same models and settings, this partition's
    region, the shard paths as outputs, no progress bar."""
    return dataclasses.replace(options, vcf=vcf, region=partition.region, output=paths.vcf,
                               table=paths.table, summary=paths.summary, progress=False)


def score_partition(options, partition: Partition, paths: ShardPaths, vcf: Path,
                    fingerprint: str, score_fn: ScoreFunction | None = None) -> ShardResult:
    """Score one partition and write its shards, then its completion marker (runs on a worker).

    ``score_fn(options)`` writes the VCF shard (and TSV shard) itself, atomically;
    the marker is written only after it returns. With an attribution shard in ``paths``,
    ``score_fn(options, attributions=path)`` writes that too (:class:`ExplainingScore`).
    """
    import resource

    score_fn = score_fn or default_score_function()
    started, cpu_started = time.perf_counter(), _process_cpu()
    shard_options = partition_options(options, partition, paths, vcf)
    if paths.attributions is not None:
        summary = score_fn(shard_options, attributions=paths.attributions)
    else:
        summary = score_fn(shard_options)
    summary = summary_to_dict(summary)
    records = summary.get("records")
    if not isinstance(records, int):  # a scoring function that does not count: read the shard
        records = count_owned_records(paths.vcf, partition) if paths.vcf is not None else 0
    result = ShardResult(
        partition=partition, records=records, seconds=time.perf_counter() - started,
        summary=summary, worker=_worker_name(),
        peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        cpu_seconds=_process_cpu() - cpu_started,
    )
    write_marker(paths, result, fingerprint)
    return result


def _process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def default_score_function() -> ScoreFunction:
    return score_vcf_cached


#: Options that decide what :class:`varbind.scoring.scorer.Scorer` loads (genome, annotation,
#: expression, models); partitions that agree on them share one loaded Scorer per process.
LOADED_FIELDS = ("fasta", "models", "gtf", "expression", "rbps", "cell_type", "all_strands",
                 "annotation_cache")


def score_vcf_cached(options):
    """:func:`varbind.scoring.run.score_vcf` with the genome, annotation and models loaded once per
    worker process (kept in :data:`WORKER_CACHE`) rather than once per partition."""
    from varbind.scoring.run import score_vcf

    return score_vcf(options, scorer=cached_scorer(options))


def cached_scorer(options):
    """This worker process's :class:`varbind.scoring.scorer.Scorer` for ``options`` (loaded
    once)."""
    from varbind.scoring.scorer import Scorer

    key = ("scorer",) + tuple(repr(getattr(options, name, None)) for name in LOADED_FIELDS)
    scorer = WORKER_CACHE.get(key)
    if scorer is None:
        scorer = WORKER_CACHE[key] = Scorer(options)
        log.debug("worker %s loaded %d model(s)", os.getpid(), len(scorer.bundles))
    return scorer.with_options(options)


@dataclass(frozen=True)
class ExplainingScore:
    """The score function of a run with ``--explain``: scores a partition with the worker's
    cached Scorer and writes its attribution maps to ``attributions`` (the shard's HDF5);
    ``settings`` is the run's :class:`varbind.interpret.explain.ExplainSettings` (its ``out`` names
    the
    merged file in the VCF header)."""

    settings: object

    def __call__(self, options, attributions: str | os.PathLike | None = None):
        from varbind.interpret.explain import score_with_explanations

        return score_with_explanations(options, self.settings, scorer=cached_scorer(options),
                                       path=attributions)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


#: Per-process cache of loaded inputs (see :func:`score_vcf_cached`): a worker process lives
#: across partitions, so each worker loads the models once.
WORKER_CACHE: dict = {}
