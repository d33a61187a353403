"""Batched model calls: the one place that cuts work into batches.

:func:`predict` runs any per-batch function (a forward pass by default; attribution passes
integrated gradients or GradCAM) over model inputs in batches. :func:`predict_alleles` is the
ref/alt loop of variant scoring: it builds each model's inputs from canonical windows with
:func:`varbind.model.inputs.build_inputs` and applies the function to every reference and alternate
window, so attribution reuses the very same loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from varbind.model.inputs import WindowBatch, build_inputs

#: ``func(model, inputs) -> array``: inputs is the list of arrays of one batch, in the order of
#: the model's inputs; the result's first axis is the batch.
BatchFunction = Callable[[object, list[np.ndarray]], np.ndarray]



def forward(model, inputs: list[np.ndarray]) -> np.ndarray:
    """One forward pass through ``model.predict_on_batch``; returns (n, K) float32."""
    out = model.predict_on_batch(inputs[0] if len(inputs) == 1 else inputs)
    if isinstance(out, (list, tuple)):  # one output per RBP: (n, 1) each
        out = np.concatenate([np.asarray(o).reshape(len(o), -1) for o in out], axis=-1)
    return np.asarray(out, dtype=np.float32)


def predict(model, inputs: Sequence[np.ndarray], batch_size: int = 1024,
            func: BatchFunction = forward) -> np.ndarray:
    """Apply ``func`` to ``inputs`` in batches and join the results.

    Parameters
    ----------
    model : a Keras model (or whatever ``func`` expects)
    inputs : arrays with the same first axis N, in the model's input order
    batch_size : rows per call; a last, partial batch is zero-padded to ``batch_size`` and the
        padding dropped. Every window is thus scored in a batch of one shape: CPU kernels are
        chosen by shape and round differently (~1e-7), so this keeps results bitwise
        independent of how the VCF was chunked or partitioned (Dask shards equal one process).
    func : ``func(model, batch_inputs) -> (n, ...)``; :func:`forward` by default

    Returns
    -------
    np.ndarray, shape (N, ...): the per-batch results concatenated.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(inputs[0]) if inputs else 0
    parts = []
    for lo in range(0, n, batch_size):
        batch = [x[lo:lo + batch_size] for x in inputs]
        rows = len(batch[0])
        if rows < batch_size:
            batch = [np.concatenate([x, np.zeros((batch_size - rows, *x.shape[1:]), x.dtype)])
                     for x in batch]
        parts.append(np.asarray(func(model, batch))[:rows])
    if not parts:
        return np.zeros((0,), dtype=np.float32)
    return np.concatenate(parts, axis=0)


@dataclass
class AlleleScores:
    """One model's results for the windows of a chunk.

    ref : (M, ...) result for each reference window
    alt : (N, ...) result for each alternate window
    """

    ref: np.ndarray
    alt: np.ndarray


def build_allele_inputs(bundles: Sequence, ref: WindowBatch, alt: WindowBatch,
                        prepare: Callable[[object, WindowBatch], WindowBatch] | None = None,
                        ) -> dict[str, list[np.ndarray]]:
    """Each model's input arrays for reference rows then alternate rows.

    Parameters
    ----------
    bundles : loaded model bundles
    ref, alt : M reference and N alternate windows (the widest lengths of the set)
    prepare : optional ``prepare(bundle, batch) -> batch`` completing the joined batch for one
        model (its cell type's expression, its structure profiles)

    Returns
    -------
    dict bundle name -> arrays in the model's input order, first axis M + N.
    """
    both = concat_batches(ref, alt)
    out = {}
    for bundle in bundles:
        batch = prepare(bundle, both) if prepare is not None else both
        out[bundle.name] = build_inputs(bundle.meta.inputs, batch)
    return out


def predict_built(bundles: Sequence, inputs: dict[str, list[np.ndarray]], n_ref: int,
                  batch_size: int = 1024, func: BatchFunction = forward,
                  ) -> dict[str, AlleleScores]:
    """Run each model on inputs from :func:`build_allele_inputs`; split ref and alt rows."""
    out = {}
    for bundle in bundles:
        result = predict(bundle.model, inputs[bundle.name], batch_size=batch_size, func=func)
        out[bundle.name] = AlleleScores(ref=result[:n_ref], alt=result[n_ref:])
    return out


def predict_alleles(bundles: Sequence, ref: WindowBatch, alt: WindowBatch,
                    batch_size: int = 1024, func: BatchFunction = forward,
                    prepare: Callable[[object, WindowBatch], WindowBatch] | None = None,
                    ) -> dict[str, AlleleScores]:
    """Run every model of a set on reference and alternate windows: the ref/alt loop.

    Parameters
    ----------
    bundles : loaded :class:`varbind.model.bundle.ModelBundle` objects
    ref : M reference windows (widest lengths the set needs; each model crops its own)
    alt : N alternate windows, same widths
    batch_size : rows per model call
    func : per-batch function (see :func:`predict`): a forward pass, or an attribution
    prepare : optional ``prepare(bundle, batch) -> batch`` completing the joined ref + alt
        batch for one model (its cell type's expression, its structure profiles)

    Returns
    -------
    dict bundle name -> :class:`AlleleScores` with ``ref`` (M, ...) and ``alt`` (N, ...).
    Reference and alternate windows go through one call sequence, and a reference shared by
    several ALTs is one row of ``ref``.
    """
    inputs = build_allele_inputs(bundles, ref, alt, prepare=prepare)
    return predict_built(bundles, inputs, len(ref), batch_size=batch_size, func=func)


def concat_batches(a: WindowBatch, b: WindowBatch) -> WindowBatch:
    """Rows of ``a`` then rows of ``b`` (fields missing from either are dropped)."""
    def join(x, y):
        return None if x is None or y is None else np.concatenate([x, y])
    extra = {k: np.concatenate([a.extra[k], b.extra[k]]) for k in a.extra if k in b.extra}
    return WindowBatch(seq=join(a.seq, b.seq), region=join(a.region, b.region),
                       expression=join(a.expression, b.expression),
                       structure=join(a.structure, b.structure),
                       pairs=join(a.pairs, b.pairs), extra=extra)
