"""Moved to :mod:`varbind.model.structure` (scoring folds windows too); this import path is
kept for one release."""

from varbind.model.structure import (  # noqa: F401
    FULL_FOLD_MAX,
    LONG_SPAN,
    LONG_WINDOW,
    StructureProfiler,
    codes_to_rna,
    fold_parameters,
    unpaired_probabilities,
)
