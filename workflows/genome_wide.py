"""Genome-wide scoring as a batch workflow: a local machine, an existing Dask cluster, or
SLURM / PBS jobs through dask-jobqueue, all running :func:`varbind.parallel.run.score_parallel`.

``varbind workflow genome-wide input.vcf.gz --cluster slurm --jobs 20 ...`` starts the
scheduler in this process, submits the worker jobs, scores the VCF partition by partition
(shards survive a lost job; ``--resume`` picks them up after a crash or a walltime) and
merges them into one VCF and one TSV.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from varbind.errors import VarbindError
from varbind.parallel.cluster import ClusterSettings, dask_client, worker_plugin
from varbind.parallel.partitions import DEFAULT_PARTITION_SIZE
from varbind.parallel.run import ParallelSummary, score_parallel
from varbind.parallel.shards import ScoreFunction
from varbind.workflows.jobqueue import PARTITION_RESOURCE, JobSpec, make_cluster

log = logging.getLogger(__name__)


@dataclass
class GenomeWideRun:
    """Where to run and how to shard.

    cluster : ``local`` (a LocalCluster from ``local``), ``slurm`` or ``pbs`` (from ``job``),
        or ``scheduler`` (join ``local.scheduler``)
    local : LocalCluster / existing-scheduler settings
    job : batch job settings for ``slurm`` / ``pbs``
    worker_wait : seconds to wait for the first batch-job worker before giving up (None:
        wait as long as the queue takes)
    """

    cluster: str = "local"
    local: ClusterSettings = field(default_factory=ClusterSettings)
    job: JobSpec | None = None
    shard_dir: str | None = None
    resume: bool = False
    partition_size: int = DEFAULT_PARTITION_SIZE
    keep_shards: bool = False
    retries: int = 3
    worker_wait: float | None = None


@contextlib.contextmanager
def workflow_client(run: GenomeWideRun) -> Iterator[tuple[object, dict | None]]:
    """A client for ``run.cluster`` and the task resources its workers offer."""
    if run.cluster in ("local", "scheduler"):
        with dask_client(run.local) as client:
            yield client, None
        return
    from distributed import Client

    if run.job is None or run.job.cluster != run.cluster:
        raise ValueError(f"cluster {run.cluster!r} needs a JobSpec of that kind")
    cluster = make_cluster(run.job)
    try:
        client = Client(cluster)
        try:
            client.register_plugin(worker_plugin(run.job.threads_per_worker,
                                                 gpus=run.job.gpus))
            log.info("%s: asked for %d jobs (%d workers, %d model threads each); dashboard: %s",
                     run.cluster, run.job.jobs, run.job.total_workers,
                     run.job.threads_per_worker, client.dashboard_link)
            if run.worker_wait is not None:
                _wait_for_first_worker(client, run)
            yield client, {PARTITION_RESOURCE: 1}
        finally:
            client.close()
    finally:
        cluster.close()


def _wait_for_first_worker(client, run: GenomeWideRun) -> None:
    try:
        client.wait_for_workers(1, timeout=run.worker_wait)
    except TimeoutError:
        raise VarbindError(f"no {run.cluster} worker joined within {run.worker_wait:g} s",
                           fix="check the queue (squeue / qstat) and the jobs' logs "
                               "(--log-directory); raise --worker-wait for busy queues") from None


def run_genome_wide(options, run: GenomeWideRun, *, client=None,
                    task_resources: dict | None = None, score_fn: ScoreFunction | None = None,
                    progress: bool = True, run_lines: Sequence[str] | None = None,
                    explain=None) -> ParallelSummary:
    """Score ``options.vcf`` genome-wide on the cluster ``run`` describes.

    Parameters
    ----------
    options : :class:`varbind.scoring.options.ScoreOptions` (its ``region``, if set, limits the run)
    run : where to run and how to shard
    client : an existing ``distributed.Client`` (then ``run.cluster`` is not started)
    task_resources : resources each partition holds on ``client``'s workers
    score_fn : the scoring function (default :func:`varbind.scoring.run.score_vcf`)
    explain : :class:`varbind.interpret.explain.ExplainSettings` (``--explain``), or None

    Returns
    -------
    :class:`varbind.parallel.run.ParallelSummary`
    """
    kwargs = dict(shard_dir=run.shard_dir, resume=run.resume,
                  partition_size=run.partition_size, keep_shards=run.keep_shards,
                  score_fn=score_fn, retries=run.retries, progress=progress,
                  run_lines=run_lines, explain=explain)
    if client is not None:
        return score_parallel(options, client=client, task_resources=task_resources, **kwargs)
    with workflow_client(run) as (own_client, resources):
        return score_parallel(options, client=own_client, task_resources=resources, **kwargs)
