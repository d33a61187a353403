"""Per-RBP models trained side by side, one process per model (``varbind train --jobs``).

A per-RBP architecture (POLARIS) trains one small model per RBP. One such fit keeps at most
about one core busy (small batches leave the backend's threads idle), and even a worker with one
backend thread on its own core leaves that core idle about a quarter of the time. So on a CPU
machine the members are trained in ``jobs`` spawned worker processes, each with
``cores // jobs`` backend threads, by default :data:`JOBS_PER_CORE` workers per core. On
three small simulated worlds of the training benchmark (nine or ten POLARIS models on 2
cores) 3 workers took 0.74, 0.75 and 0.88 of the time 2 took, for the same models; 4 were
no faster than 3 on the one world tried.
Each worker trains its RBP exactly as the sequential path does (same config, same seed, same
health check) and saves the model into a temporary folder the parent reads back; results come
back in the RBPs' order; a worker ends within :data:`PARENT_CHECK_SECONDS` of its parent's
end. On a GPU the default is one job (the device is shared).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

from varbind.errors import VarbindError
from varbind.machine import available_memory, usable_cores

log = logging.getLogger(__name__)

#: Most worker processes the automatic ``--jobs`` starts (each holds a backend, ~1-2 GB).
MAX_AUTO_JOBS = 8
#: Worker processes the automatic ``--jobs`` starts per usable core (module docstring).
JOBS_PER_CORE = 1.5
#: Memory the automatic ``--jobs`` sets aside per worker process.
WORKER_MEMORY = 2 * 1024**3
#: Seconds between a worker's checks that the ``varbind train`` that started it still runs.
PARENT_CHECK_SECONDS = 1.0


def device_description() -> str:
    """``"GPU (name)"`` when the backend sees an accelerator, else ``"CPU"``."""
    from varbind.model.device import accelerators

    found = accelerators()
    return f"GPU ({found[0]})" if found else "CPU"


def resolve_jobs(jobs: int | None, n_models: int, on_gpu: bool) -> int:
    """Worker processes for ``n_models`` members: ``jobs`` if given, else
    ``ceil(JOBS_PER_CORE x usable cores)``, at most :data:`MAX_AUTO_JOBS`, ``n_models`` and
    the workers of :data:`WORKER_MEMORY` that fit the available memory; 1 on a GPU."""
    if jobs is not None:
        if jobs < 1:
            raise VarbindError(f"--jobs must be 1 or more, got {jobs}",
                               fix="give the number of RBP models to train at once")
        return min(jobs, max(n_models, 1))
    if on_gpu:
        return 1
    wanted = min(math.ceil(JOBS_PER_CORE * usable_cores()), MAX_AUTO_JOBS, n_models)
    memory = available_memory()
    if memory is not None:
        wanted = min(wanted, memory // WORKER_MEMORY)
    return max(1, wanted)


def train_members(tasks: list[tuple], specs: list, jobs: int, train_one) -> list:
    """Train every ``(config, data)`` of ``tasks`` with ``train_one(config, specs, data)``.

    Returns the :class:`~varbind.training.train.TrainResult` list in the order of ``tasks``.
    ``jobs`` > 1 runs them in that many spawned processes (``train_one`` must be a
    module-level function); 1 runs them here, one after another.
    """
    if jobs <= 1 or len(tasks) <= 1:
        return [train_one(config, specs, data) for config, data in tasks]
    threads = max(1, usable_cores() // jobs)
    level = logging.getLogger("varbind").getEffectiveLevel()
    log.info("training %d per-RBP models in %d processes (%d backend thread%s each)",
             len(tasks), jobs, threads, "" if threads == 1 else "s")
    results: list = [None] * len(tasks)
    with tempfile.TemporaryDirectory(prefix="varbind-members-") as tmp, ProcessPoolExecutor(
            max_workers=jobs, mp_context=get_context("spawn"), initializer=_start_worker,
            initargs=(threads, level)) as pool:
        futures = {pool.submit(_train_in_worker, train_one, replace(tasks[i][0], progress=False),
                               specs, tasks[i][1], str(Path(tmp) / f"member{i}.keras")): i
                   for i in largest_first(tasks)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                i = futures[future]
                results[i] = _received(future.result())
                log.info("per-RBP model %d of %d done: %s", done, len(tasks),
                         results[i].meta.rbps[0])
        except BaseException:
            stop_workers(pool)
            raise
    return results


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End ``pool``'s worker processes now and cancel the members not started: on an error or
    an interrupt (Ctrl-C, SIGTERM) leaving the pool's block would otherwise wait for every
    running member to finish its training, minutes, before the user hears of it."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def largest_first(tasks: list[tuple]) -> list[int]:
    """Task indices, largest training split first: a member's fit costs about its training
    windows x epochs, so starting the big ones first keeps the last worker from finishing
    alone (longest-processing-time-first scheduling)."""
    return sorted(range(len(tasks)), key=lambda i: -len(tasks[i][1].splits["train"]))


def _start_worker(threads: int, level: int) -> None:
    """Worker set-up: exit with the parent (:func:`exit_with_parent`), log like the parent,
    start TensorFlow without its C++ start-up notices (unless debugging), and give the backend
    ``threads`` threads."""
    import sys

    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="varbind-parent-watch").start()

    from varbind.model.device import load_tensorflow_quietly

    logging.basicConfig(level=level, format="varbind: %(message)s", stream=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if level > logging.DEBUG:
        load_tensorflow_quietly()
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def exit_with_parent(parent: int, every: float = PARENT_CHECK_SECONDS) -> None:
    """End this worker process within ``every`` seconds of its parent process ``parent``
    ending (its parent id changes), so that a killed ``varbind train`` leaves no worker
    training on (the pool would notice only when a worker's model is done)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _train_in_worker(train_one, config, specs, data, model_path: str):
    """Train one member; save its model to ``model_path`` and return the rest (picklable)."""
    try:
        result = train_one(config, specs, data)
    except VarbindError as error:  # VarbindError's keyword-only init does not unpickle
        return ("error", str(error), error.exit_code)
    result.model.save(model_path)
    fits = {name: replace(fit, model=None) for name, fit in result.fits.items()}
    return ("ok", model_path, replace(result, model=None, fits=fits))


def _received(reply: tuple):
    """The worker's reply as a TrainResult with its model loaded back."""
    import keras

    if reply[0] == "error":
        error = VarbindError(reply[1])
        error.exit_code = reply[2]
        raise error
    _, model_path, result = reply
    model = keras.saving.load_model(model_path, compile=False)
    fits = {name: replace(fit, model=model) for name, fit in result.fits.items()}
    return replace(result, model=model, fits=fits)
