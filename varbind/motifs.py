"""Moved to :mod:`varbind.genomics.motifs`; this import path is kept for one release."""

from varbind.genomics.motifs import (  # noqa: F401
    Motif,
    motifs_by_rbp,
    packaged_meme_path,
    read_meme,
)
