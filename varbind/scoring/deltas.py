"""Effect sizes from reference and alternate scores.

``delta = alt - ref`` on the model's output scale (probability for sigmoid models, score for
linear ones) and ``logit_delta = logit(alt) - logit(ref)`` for sigmoid models, with both
probabilities clipped to ``[LOGIT_EPS, 1 - LOGIT_EPS]`` so saturated outputs stay finite.
A delta at or beyond ``effect_threshold`` is a ``binding_gain`` (positive) or
``binding_loss`` (negative); anything smaller is ``binding_unchanged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOGIT_EPS = 1e-6
#: Default |delta| from which an allele counts as a loss or a gain of binding.
DEFAULT_EFFECT_THRESHOLD = 0.1

CONSEQUENCES = ("binding_loss", "binding_gain", "binding_unchanged")


@dataclass
class Deltas:
    """Per-allele effects, shape (N, K) each (K = the model's RBPs).

    ref, alt : scores of the reference and alternate windows
    delta : alt - ref
    logit_delta : logit(alt) - logit(ref), NaN for linear models
    """

    ref: np.ndarray
    alt: np.ndarray
    delta: np.ndarray
    logit_delta: np.ndarray


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [LOGIT_EPS, 1 - LOGIT_EPS]."""
    p = np.clip(np.asarray(p, dtype=np.float64), LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


def compute_deltas(ref: np.ndarray, alt: np.ndarray, ref_index: np.ndarray,
                   output: str = "sigmoid") -> Deltas:
    """Effects of N alternate windows against their reference windows.

    Parameters
    ----------
    ref : (M, K) scores of the reference windows
    alt : (N, K) scores of the alternate windows
    ref_index : (N,) row of ``ref`` each alternate belongs to
    output : ``sigmoid`` (logit deltas computed) or ``linear`` (logit deltas NaN)

    Returns
    -------
    Deltas with (N, K) arrays.
    """
    ref_rows = np.asarray(ref, dtype=np.float32)[np.asarray(ref_index, dtype=np.intp)]
    alt = np.asarray(alt, dtype=np.float32)
    delta = alt - ref_rows
    if output == "sigmoid":
        logit_delta = (logit(alt) - logit(ref_rows)).astype(np.float32)
    else:
        logit_delta = np.full(delta.shape, np.nan, dtype=np.float32)
    return Deltas(ref=ref_rows, alt=alt, delta=delta, logit_delta=logit_delta)


def consequence(delta: np.ndarray, threshold: float = DEFAULT_EFFECT_THRESHOLD) -> np.ndarray:
    """``binding_loss`` / ``binding_gain`` / ``binding_unchanged`` for each delta (same shape)."""
    delta = np.asarray(delta)
    out = np.full(delta.shape, "binding_unchanged", dtype=object)
    out[delta <= -threshold] = "binding_loss"
    out[delta >= threshold] = "binding_gain"
    return out
