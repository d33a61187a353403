"""Moved to :mod:`varbind.genomics.peaks` (``varbind motifs`` reads peaks too); this import
path is kept for one release."""

from varbind.genomics.peaks import (  # noqa: F401
    DEEPRIPE_GROUP_THRESHOLDS,
    PEAK_COLUMNS,
    PEAK_SUFFIXES,
    PeakFilters,
    PeakSet,
    apply_filters,
    isolated,
    load_peaks,
    match_contigs,
    parse_thresholds,
    peak_file_rbp,
    peak_sources,
    rbp_groups,
    read_peak_file,
)
