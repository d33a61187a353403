"""Dask clusters for scoring: ``local[:N]`` and running schedulers, worker threads
(one BLAS/TensorFlow thread budget per worker), GPU pinning, and the client context."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from varbind.errors import VarbindError
from varbind.machine import usable_cores

log = logging.getLogger(__name__)


#: Environment variables that bound the threads of numerical libraries and TensorFlow.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def parse_dask_spec(spec: str) -> int:
    """``local`` -> one worker per core; ``local:N`` -> N workers."""
    match = re.fullmatch(r"local(?::(\d+))?", spec.strip())
    if not match:
        raise VarbindError(f"--dask {spec!r} not understood",
                           fix="use local or local:N (N workers), or --scheduler ADDRESS")
    n = int(match[1]) if match[1] else usable_cores()
    if n < 1:
        raise VarbindError(f"--dask {spec!r} asks for no workers", fix="use local:N with N >= 1")
    return n


def thread_environment(threads: int) -> dict[str, str]:
    """Environment that bounds a worker's numerical libraries and TensorFlow to ``threads``."""
    env = {name: str(threads) for name in THREAD_ENV_VARS}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


def worker_plugin(threads: int, gpus: int = 0, fast_exit: bool = False):
    """A Dask worker plugin that bounds the model's threads in each worker process and, when
    a job runs one worker per GPU, shows each worker only its own GPU.

    With ``fast_exit`` (workers of a cluster varbind started and is closing), a worker that
    has loaded TensorFlow ends its process as soon as it closes: TensorFlow's native shutdown
    otherwise keeps it alive until the nanny kills it seconds later.
    """
    from distributed import WorkerPlugin

    class VarbindWorkerPlugin(WorkerPlugin):
        name = "varbind-worker"

        def __init__(self, threads: int, gpus: int, fast_exit: bool):
            self.threads = threads
            self.gpus = gpus
            self.fast_exit = fast_exit

        def setup(self, worker):
            limit_threads(self.threads)
            if self.gpus > 1:
                pin_gpu(str(worker.name), self.gpus)

        def teardown(self, worker):
            import sys

            from distributed.core import Status

            closing = worker.status in (Status.closing, Status.closed,
                                        Status.closing_gracefully)
            if self.fast_exit and closing and "tensorflow" in sys.modules:
                import atexit

                atexit._run_exitfuncs()  # Python's own clean-up (multiprocessing, logging)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)

    return VarbindWorkerPlugin(threads, gpus, fast_exit)


def pin_gpu(worker_name: str, gpus: int) -> str | None:
    """Show worker ``<name>-k`` of a job only GPU ``k`` of the job's GPUs (before TensorFlow
    starts in that process). Returns the device set, or None when the name has no index."""
    match = re.search(r"-(\d+)$", worker_name)
    if not match:
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = visible.split(",") if visible else [str(i) for i in range(gpus)]
    device = devices[int(match[1]) % len(devices)]
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    return device


def limit_threads(threads: int) -> None:
    """Bound this process's numerical threads: env vars for libraries not yet loaded, and
    TensorFlow's thread pools when TensorFlow is already imported and not yet running."""
    os.environ.update(thread_environment(threads))
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already initialised in this process
            log.debug("TensorFlow already initialised; its thread pools stay as they are")


@dataclass
class ClusterSettings:
    """How to get a Dask cluster: ``dask="local:N"`` or ``scheduler="tcp://host:8786"``."""

    dask: str | None = "local"
    scheduler: str | None = None
    threads_per_worker: int | None = None
    memory_limit: str | None = "auto"
    dashboard_address: str | None = ":8787"
    local_directory: str | None = None

    def workers_and_threads(self) -> tuple[int, int]:
        n = parse_dask_spec(self.dask or "local")
        threads = self.threads_per_worker or max(1, usable_cores() // n)
        if threads < 1:
            raise VarbindError(f"--threads-per-worker must be at least 1, got {threads}",
                               fix="pass a positive number")
        return n, threads


@contextlib.contextmanager
def dask_client(settings: ClusterSettings) -> Iterator[object]:
    """A ``distributed.Client``: on a new LocalCluster, or joined to ``settings.scheduler``.

    A LocalCluster runs N single-task worker processes; ``threads_per_worker`` bounds each
    worker's model threads (TensorFlow intra-op, BLAS, OpenMP) rather than running several
    partitions at once in one process, so a worker's memory holds one partition at a time.
    """
    from distributed import Client, LocalCluster

    if settings.scheduler:
        dask_log_level(logging.WARNING)
        try:
            client = Client(settings.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise VarbindError(f"cannot reach Dask scheduler {settings.scheduler} ({exc})",
                               fix="check the address (tcp://HOST:8786) and that it runs")\
                from None
        threads = settings.threads_per_worker
        try:
            if threads:
                client.register_plugin(worker_plugin(threads))
            log.info("joined Dask scheduler %s (%d workers); dashboard: %s",
                     settings.scheduler, len(client.scheduler_info()["workers"]),
                     client.dashboard_link)
            yield client
        finally:
            client.close()
        return
    n_workers, threads = settings.workers_and_threads()
    dask_log_level(logging.WARNING)
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True,
        memory_limit=settings.memory_limit, env=thread_environment(threads),
        dashboard_address=settings.dashboard_address,
        local_directory=settings.local_directory, silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster)
        try:
            client.register_plugin(worker_plugin(threads, fast_exit=True))
            log.info("Dask LocalCluster: %d workers x %d threads; dashboard: %s",
                     n_workers, threads, client.dashboard_link)
            yield client
        finally:
            client.close()
    finally:
        dask_log_level(logging.ERROR)  # workers slow to exit (TensorFlow) are not news
        cluster.close()


def dask_log_level(level: int) -> None:
    """Keep distributed's own INFO chatter out of varbind's log unless asked (-vv)."""
    if log.isEnabledFor(logging.DEBUG):
        return
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict
                               if n.startswith("distributed.")]
    for name in names:
        logging.getLogger(name).setLevel(level)
