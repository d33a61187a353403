"""The device the models run on, the batch size that suits it, and a quiet TensorFlow start.

On a CPU, varbind scores in batches of :data:`CPU_BATCH_SIZE` windows (outputs are bitwise
reproducible for one batch size, see :func:`varbind.scoring.predict.predict`). A GPU is kept busy
only by larger batches, so when the Keras backend sees one, and the user gave no
``--batch-size``, :data:`GPU_BATCH_SIZE` is used (``tests/benchmarks/bench_gpu.py``
measures batch sizes 1k-16k).
"""

from __future__ import annotations

import contextlib
import functools
import os

CPU_BATCH_SIZE = 1024
GPU_BATCH_SIZE = 8192


def accelerators() -> list[str]:
    """GPUs (or other accelerators) the Keras backend sees; empty on a CPU-only machine."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "torch":
        import torch

        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return []


def default_batch_size() -> int:
    """:data:`GPU_BATCH_SIZE` when an accelerator is visible, else :data:`CPU_BATCH_SIZE`."""
    return GPU_BATCH_SIZE if accelerators() else CPU_BATCH_SIZE


@contextlib.contextmanager
def _native_stderr_silenced():
    """File descriptor 2 points to /dev/null inside the block (native code writes there
    directly, past ``sys.stderr``); the whole process is affected while it lasts."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_tensorflow_quietly() -> None:
    """Import Keras and its TensorFlow backend and probe the devices with C++ start-up logging
    silenced.

    TensorFlow's native code prints oneDNN and CUDA notices to file descriptor 2 before its
    own log settings apply; they are not errors and would bury varbind's messages. If the
    import fails, it is repeated without silencing so the real error is shown. Keras is
    imported first, as everywhere else: in a Dask worker another thread may be importing
    ``keras`` at the same time, and importing ``tensorflow`` first here would take the two
    packages' import locks in the opposite order (Python breaks that deadlock by failing one
    import half-way).
    """
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    with _native_stderr_silenced():
        try:
            import keras  # noqa: F401  (imports TensorFlow, its backend)
            import tensorflow as tf

            tf.config.list_physical_devices()
        except Exception:  # shown below, with stderr back
            pass
    import tensorflow  # noqa: F401  (re-raises a failed import, now visible)


@functools.cache
def spend_onednn_boolean_notice() -> None:
    """Trigger, with stderr silenced, the line TensorFlow's oneDNN graph rewrite prints once
    per process on x86 CPUs the first time a graph transposes booleans ("oneDNN supports
    DT_BOOL only on platforms with AVX-512", ``E``-prefixed but not an error). Keras's
    multi-label AUC metric does, so it appeared in the middle of every ``varbind train`` of a
    multi-label model. Call it before fitting, once the backend's threads are configured (it
    starts the runtime); ~50 ms the first time, nothing after (cached)."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    def transpose_booleans(x):
        return tf.transpose(x > 0)

    with _native_stderr_silenced(), contextlib.suppress(Exception):
        tf.function(transpose_booleans, autograph=False)(tf.zeros((1, 2)))
