"""Integrated gradients (Sundararajan et al. 2017; DeepRiPe section 2.4):
``IG(x) = (x - x') * mean_s dF/dx(x' + a_s (x - x'))`` over ``steps`` points ``a_s`` of the
straight path from the baseline ``x'``; all steps of several windows go through the model
as one batch. Completeness (``sum IG = F(x) - F(x')``) is reported per window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from varbind.errors import VarbindError
from varbind.interpret.gradients import gradients

IG_RULES = ("midpoint", "riemann_right", "trapezoid")


@dataclass
class IGResult:
    """Integrated gradients of ``T`` targets for ``N`` windows.

    attributions : list over model inputs of (T, N, *input_shape) float32
    predictions : (T, N) F(x); baseline_predictions : (T, N) F(x')
    """

    attributions: list[np.ndarray]
    predictions: np.ndarray
    baseline_predictions: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """(T, N) sum of the attributions over every input and position."""
        return sum(a.reshape(a.shape[0], a.shape[1], -1).sum(-1) for a in self.attributions)

    @property
    def completeness_gap(self) -> np.ndarray:
        """(T, N) ``sum(IG) - (F(x) - F(x'))``: zero for exact integration."""
        return self.total - (self.predictions - self.baseline_predictions)


def _path_points(steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Path positions ``a`` (S,) and quadrature weights (S,) summing to 1."""
    if steps < 1:
        raise VarbindError(f"--ig-steps must be at least 1, got {steps}")
    if rule == "midpoint":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "riemann_right":
        return np.arange(1, steps + 1) / steps, np.full(steps, 1.0 / steps)
    if rule == "trapezoid":
        w = np.full(steps + 1, 1.0 / steps)
        w[[0, -1]] /= 2
        return np.arange(steps + 1) / steps, w
    raise VarbindError(f"unknown IG rule {rule!r}", fix=f"choose one of {', '.join(IG_RULES)}")


def integrated_gradients(model, arrays: Sequence[np.ndarray], baselines: Sequence[np.ndarray],
                         targets: Sequence[int], steps: int = 50, rule: str = "midpoint",
                         batch_size: int = 1024) -> IGResult:
    """Integrated gradients, all path steps of a chunk of windows in one batch.

    Parameters
    ----------
    arrays : model inputs, each (N, ...)
    baselines : one per input, (...) or (N, ...); None holds that input at its value (its
        attribution is 0)
    targets : output columns to explain (T,)
    steps : path points; rule : ``midpoint`` (default: second-order accurate, same cost as the
        paper's right Riemann sum), ``riemann_right`` (Sundararajan et al.) or ``trapezoid``
    batch_size : rows per model call (windows per chunk = batch_size // (steps + 2))
    """
    alphas, weights = _path_points(steps, rule)
    alphas = np.concatenate([alphas, [1.0, 0.0]])  # end points give F(x) and F(x')
    weights = np.concatenate([weights, [0.0, 0.0]])
    n_rows = len(alphas)
    n = len(arrays[0])
    base = [a if b is None else np.broadcast_to(np.asarray(b, np.float32), a.shape)
            for a, b in zip(arrays, baselines, strict=True)]
    per_chunk = max(1, batch_size // n_rows)
    t = len(targets)
    attrs = [np.zeros((t, *a.shape), np.float32) for a in arrays]
    preds = np.zeros((t, n), np.float32)
    base_preds = np.zeros((t, n), np.float32)
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        k = stop - start
        diffs = [a[start:stop] - b[start:stop] for a, b in zip(arrays, base, strict=True)]
        path = []
        for b, d in zip(base, diffs, strict=True):
            shape = (1, n_rows) + (1,) * (d.ndim - 1)
            pts = b[start:stop, None] + alphas.reshape(shape).astype(np.float32) * d[:, None]
            path.append(pts.reshape(k * n_rows, *d.shape[1:]))  # (k * S, ...) window-major
        res = gradients(model, path, targets)
        y = res.predictions[:, list(targets)].reshape(k, n_rows, t)
        preds[:, start:stop] = y[:, -2].T
        base_preds[:, start:stop] = y[:, -1].T
        for i, (g, d) in enumerate(zip(res.grads, diffs, strict=True)):
            g = g.reshape(t, k, n_rows, *d.shape[1:])  # (T, k, S, ...)
            mean_grad = np.tensordot(g, weights.astype(np.float32), axes=([2], [0]))
            attrs[i][:, start:stop] = mean_grad * d[None]
    return IGResult(attrs, preds, base_preds)
