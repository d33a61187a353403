"""Moved to :mod:`varbind.scoring.deltas`; this import path is kept for one release."""

from varbind.scoring.deltas import (  # noqa: F401
    CONSEQUENCES,
    DEFAULT_EFFECT_THRESHOLD,
    LOGIT_EPS,
    Deltas,
    compute_deltas,
    consequence,
    logit,
)
