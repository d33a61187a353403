"""Moved to :mod:`varbind.scoring.windows`; this import path is kept for one release."""

from varbind.scoring.windows import (  # noqa: F401
    FETCH_GAP,
    N_RICH_FRACTION,
    AlleleWindows,
    SpanReader,
    allele_centers,
    allele_coordinates,
    allele_windows,
    block_codes,
    gather_spans,
    genomic_positions,
)
