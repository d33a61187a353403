"""Start-up of a Dask run, hidden where it can be and measured apart from the scoring.

A LocalCluster takes seconds to spawn its worker processes, and each worker then takes
seconds more to import TensorFlow and load the models. :class:`BackgroundCluster` starts the
cluster in a thread while the caller plans the partitions; :func:`warm_workers` then gives
every worker a first task that imports the Keras backend and loads the models into the
worker's cache (what the first partition would otherwise do), and times both, so that the
run summary reports start-up (:func:`startup_summary`) separately from scoring.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class BackgroundCluster:
    """A Dask client started in a background thread.

    ``start()`` returns a context manager that yields the client (such as
    :func:`varbind.parallel.dask_client`). Use as a context manager; :meth:`client` waits for
    the cluster and returns its client (or raises what starting it raised); leaving the block
    closes the cluster.
    """

    def __init__(self, start: Callable[[], contextlib.AbstractContextManager]):
        self.start = start
        self.seconds: float | None = None
        self._stack = contextlib.ExitStack()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="varbind-cluster")
        self._started = time.perf_counter()
        self._future = self._pool.submit(self._start)

    def _start(self):
        client = self._stack.enter_context(self.start())
        self.seconds = time.perf_counter() - self._started
        return client

    def client(self):
        return self._future.result()

    def __enter__(self) -> BackgroundCluster:
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(BaseException):
            self._future.result()  # a failed start has nothing to close
        self._stack.close()
        self._pool.shutdown()


def task_slots(client, resources: dict | None = None) -> int:
    """Partitions the client's workers run at once: their threads, or with ``resources``,
    the workers that hold them (one partition each)."""
    workers = client.scheduler_info().get("workers", {}).values()
    if resources:
        held = [w for w in workers
                if all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())]
        return max(1, len(held))
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers))


def warm_workers(client, load: Callable[[object], object], options) -> list:
    """Submit one warm-up task (:func:`warm_worker`: ``load(options)`` after the backend
    import) to each worker of ``client``, ahead of the partitions; returns the futures."""
    run = uuid.uuid4().hex[:8]
    return [client.submit(warm_worker, load, options, key=f"varbind-warm-{run}-{i}",
                          workers=[address], allow_other_workers=False, pure=False,
                          priority=1_000_000)
            for i, address in enumerate(client.scheduler_info().get("workers", {}))]


def warm_worker(load: Callable[[object], object], options) -> dict:
    """Import the Keras backend (TensorFlow without its C++ start-up notices, as in the
    ``varbind`` process), then ``load(options)`` (the worker's cached Scorer: genome,
    annotation, models); runs on a worker. Returns the seconds each took (about zero when
    already done in this process)."""
    from distributed import get_worker

    from varbind.model.device import load_tensorflow_quietly

    t0 = time.perf_counter()
    load_tensorflow_quietly()
    import keras  # noqa: F401  (imports TensorFlow, or JAX)

    t1 = time.perf_counter()
    load(options)
    return {"worker": get_worker().address, "import_seconds": t1 - t0,
            "load_seconds": time.perf_counter() - t1}


def startup_summary(client, futures: list, cluster_seconds: float | None,
                    plan_seconds: float) -> dict:
    """Start-up figures of a run: cluster start, plan, and per worker the backend import and
    model loading (warm-up tasks that failed are left out: the partitions report the error)."""
    workers = {}
    for future in futures:
        with contextlib.suppress(Exception):
            result = future.result()
            workers[result["worker"]] = {k: v for k, v in result.items() if k != "worker"}
    out = {"cluster_seconds": cluster_seconds, "plan_seconds": plan_seconds,
           "workers": workers}
    if workers:
        out["median_import_seconds"] = statistics.median(w["import_seconds"]
                                                         for w in workers.values())
        out["median_load_seconds"] = statistics.median(w["load_seconds"]
                                                       for w in workers.values())
    return out


def startup_text(startup: dict) -> str:
    """One line for the terminal summary."""
    if not startup:
        return ""
    parts = []
    if startup.get("cluster_seconds") is not None:
        parts.append(f"cluster {startup['cluster_seconds']:.1f} s")
    parts.append(f"plan {startup['plan_seconds']:.1f} s")
    if startup.get("workers"):
        parts.append(f"per worker: import {startup['median_import_seconds']:.1f} s, models "
                     f"{startup['median_load_seconds']:.1f} s (median of "
                     f"{len(startup['workers'])})")
    return "start-up: " + ", ".join(parts)
