"""Moved to :mod:`varbind.genomics.genome`; this import path is kept for one release."""

from varbind.genomics.genome import (  # noqa: F401
    ContigResolver,
    Genome,
    contig_aliases,
    window_start,
)
