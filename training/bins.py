"""Multi-label rows (DeepRiPe / Multi-resBind): fixed genomic bins labelled by CLIP peaks.

The genome is cut into non-overlapping bins of ``bin_size`` nt (``[k·b, (k+1)·b)`` on each
contig) on each strand. An RBP's label is 1 in a bin when more than half of one of its peaks
(same strand) falls in the bin (the *half-peak* rule; a peak longer than ``2·b`` can never
qualify, as in the papers), or, with ``rule="summit"``, when the peak's summit falls in it.
Only bins with at least one positive label that overlap the transcriptome on their strand are
kept, so one RBP's negatives are other RBPs' positives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from varbind.annotations.index import AnnotationIndex
from varbind.genomics.peaks import PeakSet

LABEL_RULES = ("half-peak", "summit")
#: Classes that count as transcribed, per ``transcribed`` level.
TRANSCRIBED_CLASSES = {
    "exon": (1, 2, 3, 4),          # 5utr, cds, 3utr, ncrna_exon
    "premrna": (1, 2, 3, 4, 5),    # ... and intron
}


def peak_bins(peaks: pd.DataFrame, bin_size: int, rule: str = "half-peak") -> np.ndarray:
    """Bin index of each peak under the labelling rule, -1 where no bin qualifies.

    Parameters
    ----------
    peaks : DataFrame[start, end, summit] (0-based half-open)
    bin_size : b
    rule : ``"half-peak"`` (more than half of the peak inside the bin) or ``"summit"``

    Returns
    -------
    np.ndarray, shape (P,), int64 bin index ``k`` (bin ``[k·b, (k+1)·b)``) or -1
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"rule must be one of {LABEL_RULES}, got {rule!r}")
    if rule == "summit":
        return peaks["summit"].to_numpy(np.int64) // bin_size
    s = peaks["start"].to_numpy(np.int64)
    e = peaks["end"].to_numpy(np.int64)
    width = e - s
    out = np.full(len(s), -1, dtype=np.int64)
    # a bin holding more than half the peak holds its midpoint; test the bins of both middle
    # bases (they differ only when the midpoint falls on a bin edge)
    for mid in ((s + e - 1) // 2, (s + e) // 2):
        k = mid // bin_size
        overlap = np.minimum(e, (k + 1) * bin_size) - np.maximum(s, k * bin_size)
        ok = 2 * overlap > width
        out = np.where(ok, k, out)
    return out


def bin_center(bin_start: np.ndarray, bin_size: int, strands: np.ndarray) -> np.ndarray:
    """Center base of each bin on its transcript strand, so that a window of even length L
    centered on it (``Genome.window_codes``) covers the same genomic span on both strands."""
    bin_start = np.asarray(bin_start, dtype=np.int64)
    minus = np.asarray(strands) == "-"
    return np.where(minus, bin_start + bin_size - 1 - bin_size // 2, bin_start + bin_size // 2)


def multilabel_rows(peaksets: list[PeakSet], index: AnnotationIndex, bin_size: int = 50,
                    rule: str = "half-peak", transcribed: str = "premrna"
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """Bins with at least one positive label, on transcribed sequence.

    Parameters
    ----------
    peaksets : one per RBP, label column order; peaks on the FASTA's contig names
    index : the annotation (its contig names may be aliases of the FASTA's)
    bin_size, rule : see :func:`peak_bins`
    transcribed : ``"premrna"`` (introns count) or ``"exon"``

    Returns
    -------
    rows : DataFrame[chrom, strand, bin_start, center], sorted by contig, strand, position
    labels : (N, K) uint8
    """
    frames = []
    for k, ps in enumerate(peaksets):
        bins = peak_bins(ps.peaks, bin_size, rule)
        ok = bins >= 0
        frames.append(pd.DataFrame({"chrom": ps.peaks["chrom"].to_numpy()[ok],
                                    "strand": ps.peaks["strand"].to_numpy()[ok],
                                    "bin": bins[ok], "k": k}))
    hits = pd.concat(frames, ignore_index=True).drop_duplicates()
    if hits.empty:
        return _empty_rows(), np.zeros((0, len(peaksets)), dtype=np.uint8)
    keys = hits[["chrom", "strand", "bin"]].drop_duplicates().sort_values(
        ["chrom", "strand", "bin"], kind="stable").reset_index(drop=True)
    row_of = pd.MultiIndex.from_frame(keys).get_indexer(
        pd.MultiIndex.from_frame(hits[["chrom", "strand", "bin"]]))
    labels = np.zeros((len(keys), len(peaksets)), dtype=np.uint8)
    labels[row_of, hits["k"].to_numpy()] = 1
    bin_start = keys["bin"].to_numpy(np.int64) * bin_size
    keep = transcribed_mask(index, keys["chrom"].to_numpy(), bin_start, bin_size,
                            keys["strand"].to_numpy(), transcribed)
    rows = pd.DataFrame({"chrom": keys["chrom"].to_numpy()[keep],
                         "strand": keys["strand"].to_numpy()[keep],
                         "bin_start": bin_start[keep]})
    rows["center"] = bin_center(rows["bin_start"].to_numpy(), bin_size, rows["strand"].to_numpy())
    return rows, labels[keep]


def transcribed_mask(index: AnnotationIndex, chroms: np.ndarray, starts: np.ndarray,
                     length: int, strands: np.ndarray, level: str = "premrna") -> np.ndarray:
    """True where ``[start, start + length)`` overlaps a transcribed base on its strand."""
    classes = np.array(TRANSCRIBED_CLASSES[level], dtype=np.int8)
    out = np.zeros(len(starts), dtype=bool)
    for chrom in pd.unique(chroms):
        rows = np.flatnonzero(chroms == chrom)
        codes = index.region_codes(chrom, starts[rows], length, strands[rows])
        out[rows] = np.isin(codes, classes).any(axis=1)
    return out


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({"chrom": pd.Series(dtype=object), "strand": pd.Series(dtype=object),
                         "bin_start": pd.Series(dtype=np.int64),
                         "center": pd.Series(dtype=np.int64)})
