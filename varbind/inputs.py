"""Moved to :mod:`varbind.model.inputs`; this import path is kept for one release."""

from varbind.model.inputs import (  # noqa: F401
    COMPONENT_KINDS,
    LAYOUTS,
    Component,
    InputSpec,
    WindowBatch,
    build_inputs,
    crop_center,
    required_lengths,
)
