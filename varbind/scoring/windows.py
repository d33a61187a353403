"""Reference and alternate windows on the transcript strand, centered on the event.

An allele is the reference with ``[start, end)`` (0-based) replaced by a *block*: the reference
bases themselves for the REF allele, the inserted bases for an ALT. Its window of length ``W``
is cut from that allele's own sequence, so an indel shifts the flanks and the window keeps its
fixed length. The window is built in numbered steps:

1. anchor: the 5'-most base of the block on the transcript strand (the first base on ``+``,
   the last genomic base on ``-``); for an empty block (the alt of a deletion, the ref of an
   insertion) the first base 3' of the junction on the transcript strand. The anchor sits at
   index ``W // 2``, so both alleles of an event share the same 5' flank (``W // 2`` bases)
   and their 3' flanks start at the same genomic base after the event, as in SpliceAI and
   kipoiseq's variant extractor;
2. the window's span in allele coordinates, as :func:`varbind.genomics.genome.window_start`
   places it;
3. each allele position mapped back to the genome (left flank, block, right flank);
4. bases and region classes gathered for the whole batch from a few genome spans;
5. minus-strand rows reverse complemented (region rows reversed), center at index ``W // 2``.

Region classes follow the allele's coordinates: flank bases take the class of their genomic
base; block bases of a substitution take the class of the reference base they replace; bases
of a pure insertion take the class of the reference base 5' of it on the transcript strand.

Windows that run off a contig end are padded with N (``truncated``); ``n_fraction`` is the
share of N bases, and a window with more than :data:`N_RICH_FRACTION` N is flagged ``n_rich``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from varbind.encoding import N_CODE, encode, reverse_complement_codes
from varbind.genomics.genome import window_start

#: A window with more than this fraction of N bases (assembly gaps, contig-end padding) is
#: scored but flagged ``n_rich``.
N_RICH_FRACTION = 0.1

#: An indel whose longer allele exceeds this fraction of the smallest sequence window of the
#: model set is scored and flagged ``long_indel``: its 3' flanks then share little or nothing.
LONG_INDEL_FRACTION = 0.5

#: Rows whose genomic spans lie closer than this are read with one FASTA fetch.
FETCH_GAP = 20_000

SpanReader = Callable[[int, int], np.ndarray]  # (lo, hi) -> (hi - lo,) codes, genomic order


@dataclass
class AlleleWindows:
    """Windows for N alleles.

    seq : (N, W) uint8 nucleotide codes on the transcript strand
    region : (N, Wr) int8 region classes on the transcript strand, or None
    truncated : (N,) bool, the sequence window runs off the contig
    n_fraction : (N,) float32, share of N in the sequence window
    """

    seq: np.ndarray
    region: np.ndarray | None
    truncated: np.ndarray
    n_fraction: np.ndarray

    @property
    def n_rich(self) -> np.ndarray:
        """(N,) bool, more than :data:`N_RICH_FRACTION` of the window is N."""
        return self.n_fraction > N_RICH_FRACTION


def allele_centers(starts: np.ndarray, block_lengths: np.ndarray,
                   strands: np.ndarray) -> np.ndarray:
    """Step 1: the anchor (window center) of each allele's block, in allele coordinates: its
    5'-most base on the transcript strand, or for an empty block the first base 3' of it.

    Parameters
    ----------
    starts : (N,) 0-based block starts
    block_lengths : (N,) block lengths (0 for an empty block)
    strands : (N,) ``'+'`` / ``'-'``

    Returns
    -------
    (N,) int64 center positions in allele coordinates (equal to genomic ones left of the block)
    """
    starts = np.asarray(starts, dtype=np.int64)
    b = np.asarray(block_lengths, dtype=np.int64)
    minus = np.asarray(strands) == "-"
    minus_center = np.where(b > 0, starts + b - 1, starts - 1)
    return np.where(minus, minus_center, starts)


def allele_coordinates(starts, block_lengths, strands, width: int) -> np.ndarray:
    """Step 2: allele coordinates ``(N, width)`` of every window position (genomic order)."""
    centers = allele_centers(starts, block_lengths, strands)
    first = window_start(centers, width, np.asarray(strands))
    return np.asarray(first, dtype=np.int64)[:, None] + np.arange(width, dtype=np.int64)[None, :]


def genomic_positions(coords: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      block_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: map allele coordinates back to the genome.

    Returns
    -------
    genomic : (N, W) int64 genomic position of each flank base (block positions hold the
        block start; they are filled from the block instead)
    block_index : (N, W) int64 index into the block, or -1 for flank positions
    """
    s = np.asarray(starts, dtype=np.int64)[:, None]
    e = np.asarray(ends, dtype=np.int64)[:, None]
    b = np.asarray(block_lengths, dtype=np.int64)[:, None]
    in_block = (coords >= s) & (coords < s + b)
    right = coords >= s + b
    genomic = np.where(right, coords - (s + b) + e, coords)
    genomic = np.where(in_block, s, genomic)
    block_index = np.where(in_block, coords - s, -1)
    return genomic, block_index


def gather_spans(read: SpanReader, positions: np.ndarray, fill, dtype,
                 gap: int = FETCH_GAP) -> np.ndarray:
    """Step 4: values at genomic ``positions`` (N, W), reading nearby rows in one span.

    Parameters
    ----------
    read : ``read(lo, hi)`` -> (hi - lo,) values of ``[lo, hi)`` in genomic order
    positions : (N, W) int64 genomic positions (any order, may fall off the contig)
    fill : value for rows left empty (unused when every row is read)
    gap : rows whose spans are closer than this share one read
    """
    out = np.full(positions.shape, fill, dtype=dtype)
    if positions.size == 0:
        return out
    lo, hi = positions.min(axis=1), positions.max(axis=1) + 1
    order = np.argsort(lo, kind="stable")
    group: list[int] = []
    g_lo = g_hi = 0
    for row in order:
        if group and lo[row] <= g_hi + gap:
            g_hi = max(g_hi, int(hi[row]))
            group.append(row)
            continue
        if group:
            _fill_group(out, read, positions, group, g_lo, g_hi)
        group, g_lo, g_hi = [row], int(lo[row]), int(hi[row])
    _fill_group(out, read, positions, group, g_lo, g_hi)
    return out


def _fill_group(out, read, positions, rows, lo, hi) -> None:
    rows = np.asarray(rows)
    span = read(lo, hi)
    out[rows] = span[positions[rows] - lo]


def block_codes(blocks: Sequence[str | None], width: int,
                offsets: np.ndarray | None = None) -> np.ndarray:
    """Inserted sequences as a padded ``(N, width)`` code matrix (None or '' rows all N).

    offsets : (N,) first block index of each row (default 0): row i holds
        ``blocks[i][offsets[i]:offsets[i] + width]``, so a window needs only its own part of a
        long insertion.
    """
    out = np.full((len(blocks), max(width, 1)), N_CODE, dtype=np.uint8)
    for i, block in enumerate(blocks):
        if block:
            lo = 0 if offsets is None else int(offsets[i])
            part = block[lo:lo + width]
            out[i, :len(part)] = encode(part)
    return out


def fill_blocks(seq: np.ndarray, blocks: Sequence[str | None],
                block_index: np.ndarray) -> None:
    """Write the block bases into ``seq`` (N, W) where ``block_index`` (N, W) is >= 0.

    Only the part of each block that falls in its window is encoded, so memory is (N, W)
    whatever the block lengths."""
    in_block = block_index >= 0
    if not in_block.any():
        return
    width = block_index.shape[1]
    offsets = np.where(in_block, block_index, np.iinfo(np.int64).max).min(axis=1)
    offsets = np.where(in_block.any(axis=1), offsets, 0)
    inserted = block_codes([b or "" for b in blocks], width, offsets)
    rows = np.nonzero(in_block)[0]
    seq[in_block] = inserted[rows, block_index[in_block] - offsets[rows]]


def allele_windows(read_seq: SpanReader, contig_length: int, starts: np.ndarray,
                   ends: np.ndarray, blocks: Sequence[str | None], strands: np.ndarray,
                   width: int, region_width: int = 0,
                   read_region: Callable[[int, int, str], np.ndarray] | None = None
                   ) -> AlleleWindows:
    """Windows of ``width`` (and region windows of ``region_width``) for N alleles on a contig.

    Parameters
    ----------
    read_seq : ``read_seq(lo, hi)`` -> (hi - lo,) uint8 codes, N off the contig
    contig_length : length of the contig (for the ``truncated`` flag)
    starts, ends : (N,) 0-based reference span replaced by the block
    blocks : N items; None for the reference allele (block = reference ``[start, end)``),
        else the inserted bases (``''`` for a deletion)
    strands : (N,) ``'+'`` / ``'-'``
    width : sequence window length W
    region_width : region window length Wr (0: no region windows)
    read_region : ``read_region(lo, hi, strand)`` -> (hi - lo,) int8 classes for that strand in
        genomic order, 0 off the annotation

    Returns
    -------
    AlleleWindows with seq (N, W) and region (N, Wr) on the transcript strand.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    strands = np.asarray(strands)
    is_ref = np.array([b is None for b in blocks], dtype=bool)
    lengths = np.array([0 if b is None else len(b) for b in blocks], dtype=np.int64)
    lengths = np.where(is_ref, ends - starts, lengths)
    # A reference allele is the genome itself: treat its block as flank.
    flank_lengths = np.where(is_ref, 0, lengths)
    flank_ends = np.where(is_ref, starts, ends)

    coords = allele_coordinates(starts, lengths, strands, width)
    genomic, block_index = genomic_positions(coords, starts, flank_ends, flank_lengths)
    seq = gather_spans(read_seq, genomic, N_CODE, np.uint8)
    fill_blocks(seq, blocks, block_index)
    in_block = block_index >= 0
    off_contig = ~in_block & ((genomic < 0) | (genomic >= contig_length))
    truncated = off_contig.any(axis=1)

    region = None
    if region_width and read_region is not None:
        region = _region_windows(read_region, starts, ends, blocks, strands, lengths,
                                 region_width)
    minus = strands == "-"
    seq[minus] = reverse_complement_codes(seq[minus])
    if region is not None:
        region[minus] = region[minus, ::-1]
    n_fraction = (seq == N_CODE).mean(axis=1).astype(np.float32)
    return AlleleWindows(seq=seq, region=region, truncated=truncated, n_fraction=n_fraction)


def _region_windows(read_region, starts, ends, blocks, strands, lengths, width) -> np.ndarray:
    """Region classes of each allele window in genomic order, (N, width) int8."""
    is_ref = np.array([b is None for b in blocks], dtype=bool)
    coords = allele_coordinates(starts, lengths, strands, width)
    flank_lengths = np.where(is_ref, 0, lengths)
    flank_ends = np.where(is_ref, starts, ends)
    genomic, block_index = genomic_positions(coords, starts, flank_ends, flank_lengths)
    # Block bases read the class of the reference base they replace; insertion bases the
    # class of the reference base 5' of the insertion on the transcript strand.
    ref_len = (ends - starts)[:, None]
    minus = (strands == "-")[:, None]
    five_prime = np.where(minus, ends[:, None], starts[:, None] - 1)
    replaced = starts[:, None] + np.minimum(block_index, np.maximum(ref_len - 1, 0))
    block_source = np.where(ref_len > 0, replaced, five_prime)
    genomic = np.where(block_index >= 0, block_source, genomic)
    out = np.zeros(genomic.shape, dtype=np.int8)
    for strand in ("+", "-"):
        rows = np.asarray(strands) == strand
        if rows.any():
            out[rows] = gather_spans(lambda lo, hi, s=strand: read_region(lo, hi, s),
                                     genomic[rows], 0, np.int8)
    return out
