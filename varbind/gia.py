"""Moved to :mod:`varbind.interpret.gia`; this import path is kept for one release."""

from varbind.interpret.gia import (  # noqa: F401
    BACKGROUNDS,
    Background,
    Importance,
    background_codes,
    centered_start,
    count_effect,
    count_positions,
    dinucleotide_shuffle,
    embed,
    importance,
    importance_many,
    kmer_arrangements,
    kmer_importance,
    known_motif_arrangements,
    known_motif_importance,
    make_background,
    mutation_effect,
    plot_gia,
    position_effect,
    read_observed,
    results_table,
    spacing_effect,
)
from varbind.interpret.gia import centered_start as centred_start  # noqa: F401
