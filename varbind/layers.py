"""Moved to :mod:`varbind.model.layers`; this import path is kept for one release."""

from varbind.model.layers import (  # noqa: F401
    CUSTOM_OBJECTS,
    WeightedBinaryCrossentropy,
)
