"""Ref and alt attribution maps aligned on genome coordinates, indels included.

A window is described by the genome coordinate of each of its bases (0-based), in window
(transcript-strand) order: :func:`site_coordinates`, which places windows exactly as
:mod:`varbind.scoring.windows` does for scoring. Bases that are not in the reference
(an insertion's new bases) have coordinate ``-1``. :func:`align_maps` puts a ref and an alt
map on the union of their positions: a deleted base is present in the ref map only, an
inserted base in the alt map only; the missing side is NaN and the difference treats it as 0,
so a deleted motif shows as lost attribution and an inserted one as gained attribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def site_coordinates(start: int, end: int, inserted: str | None, strand: str,
                       width: int) -> np.ndarray:
    """Genome coordinate of every base of an allele's window, in window (transcript) order.

    The window is placed exactly as :mod:`varbind.scoring.windows` builds it for scoring (centered
    on
    the event's block, flanks shifted by an indel).

    Parameters
    ----------
    start, end : the normalised event: reference ``[start, end)`` (0-based) ...
    inserted : ... replaced by these bases; ``None`` for the REF allele's window
    strand : ``+`` or ``-`` (a minus-strand window reads right to left)
    width : window length W

    Returns
    -------
    (W,) int64; -1 for bases that are not in the reference (an insertion's new bases, and the
    new bases of a complex event). A substitution's bases keep the coordinate they replace;
    a deletion's bases are simply absent from the alt window.
    """
    from varbind.scoring.windows import allele_coordinates as window_coords
    from varbind.scoring.windows import genomic_positions

    ref_len = end - start
    block = ref_len if inserted is None else len(inserted)
    coords = window_coords(np.array([start]), np.array([block]), np.array([strand]), width)
    if inserted is None:
        genomic = coords[0]  # the reference itself: allele coordinates are genomic
    else:
        genomic, index = genomic_positions(coords, np.array([start]), np.array([end]),
                                           np.array([block]))
        genomic, index = genomic[0], index[0]
        in_block = start + index if block == ref_len else np.full(width, -1)
        genomic = np.where(index >= 0, in_block, genomic)
    genomic = genomic.astype(np.int64)
    return genomic[::-1].copy() if strand == "-" else genomic


@dataclass
class AlignedMaps:
    """Two maps on the union of their positions, in transcript order.

    coord : (M,) genome coordinate; for an inserted base, that of the reference base before
        it along the transcript; insert : (M,) 0 for reference bases, 1, 2, ... for inserted ones
    ref, alt : (M, ...) the maps, NaN where a side lacks the base
    diff : (M, ...) alt - ref with a missing side counted as 0
    """

    coord: np.ndarray
    insert: np.ndarray
    ref: np.ndarray
    alt: np.ndarray

    @property
    def diff(self) -> np.ndarray:
        return np.nan_to_num(self.alt) - np.nan_to_num(self.ref)


def _keys(coords: np.ndarray, strand: str) -> tuple[np.ndarray, np.ndarray]:
    """(anchor coordinate, insert number) of each base in window order: an inserted base takes
    the reference base before it along the transcript and counts 1, 2, ... after it."""
    sign = -1 if strand == "-" else 1
    key, ins = coords.astype(np.int64).copy(), np.zeros(len(coords), np.int64)
    known = np.flatnonzero(coords >= 0)
    for j in range(len(coords)):
        if coords[j] >= 0:
            continue
        if j > 0:
            key[j], ins[j] = key[j - 1], ins[j - 1] + 1
        else:  # the window opens inside an insertion: anchor before the first known base
            first = known[0] if len(known) else 0
            key[j] = (coords[first] if len(known) else 0) - sign
            ins[j] = 1
    return key, ins


def align_maps(ref_map: np.ndarray, ref_coords: np.ndarray, alt_map: np.ndarray,
               alt_coords: np.ndarray, strand: str) -> AlignedMaps:
    """Align two maps (L, ...) whose bases have the given coordinates (from
    :func:`site_coordinates`); positions in transcript order."""
    rk, ri = _keys(np.asarray(ref_coords), strand)
    ak, ai = _keys(np.asarray(alt_coords), strand)
    sign = -1 if strand == "-" else 1
    # inserted bases follow their anchor along the transcript
    ref_keys = list(zip((sign * rk).tolist(), ri.tolist(), strict=True))
    alt_keys = list(zip((sign * ak).tolist(), ai.tolist(), strict=True))
    union = sorted(set(ref_keys) | set(alt_keys))
    index = {k: n for n, k in enumerate(union)}
    shape = (len(union), *np.shape(ref_map)[1:])
    ref = np.full(shape, np.nan, np.float32)
    alt = np.full(shape, np.nan, np.float32)
    ref[[index[k] for k in ref_keys]] = ref_map
    alt[[index[k] for k in alt_keys]] = alt_map
    coord = np.array([sign * c for c, _ in union], np.int64)
    insert = np.array([i for _, i in union], np.int64)
    return AlignedMaps(coord, insert, ref, alt)


def variant_mask(aligned: AlignedMaps, start: int, end: int) -> np.ndarray:
    """(M,) True at the variant of the event ``[start, end)``: its reference bases and any
    inserted bases; for a pure insertion (``start == end``) the two bases around it too."""
    ref_part = (aligned.insert == 0) & (aligned.coord >= start) & (aligned.coord < end)
    if end == start:
        ref_part = (aligned.insert == 0) & ((aligned.coord == start - 1) | (aligned.coord == start))
    return ref_part | (aligned.insert > 0)


@dataclass(frozen=True)
class DiffSummary:
    """Summaries of an aligned per-position difference ``alt - ref``.

    at_variant : sum of the difference over the variant's bases
    max_abs : the signed difference of largest magnitude within +-k nt of the variant
    max_offset : its distance from the variant in nt along the transcript (negative:
        upstream/5'; 0: at the variant)
    """

    at_variant: float
    max_abs: float
    max_offset: int


def summarize_diff(aligned: AlignedMaps, mask: np.ndarray, flank: int = 10) -> DiffSummary:
    """:class:`DiffSummary` of a per-position (M,) aligned map (sum channels first)."""
    diff = aligned.diff
    if diff.ndim > 1:
        diff = diff.reshape(len(diff), -1).sum(axis=1)
    where = np.flatnonzero(mask)
    if len(where) == 0:
        return DiffSummary(float("nan"), float("nan"), 0)
    lo, hi = where.min(), where.max()
    idx = np.arange(len(diff))
    offset = np.where(idx < lo, idx - lo, np.where(idx > hi, idx - hi, 0))
    near = np.abs(offset) <= flank
    best = np.flatnonzero(near)[np.argmax(np.abs(diff[near]))]
    return DiffSummary(float(diff[mask].sum()), float(diff[best]), int(offset[best]))
