"""Moved to :mod:`varbind.interpret.gradients`; this import path is kept for one release."""

from varbind.interpret.gradients import (  # noqa: F401
    Gradients,
    backend,
    gradients,
    model_inputs,
    output_matrix,
)
