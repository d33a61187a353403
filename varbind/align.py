"""Moved to :mod:`varbind.interpret.align`; this import path is kept for one release."""

from varbind.interpret.align import (  # noqa: F401
    AlignedMaps,
    DiffSummary,
    align_maps,
    summarize_diff,
    variant_mask,
)
from varbind.interpret.align import site_coordinates as allele_coordinates  # noqa: F401
