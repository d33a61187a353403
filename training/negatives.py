"""Per-RBP rows (POLARIS): peak-centered positives and GC-matched, strand-matched negatives.

Positives are windows centered on each peak's summit (the midpoint where the file gives none),
on the peak's strand. Negatives are drawn from transcribed sequence (pre-mRNA by default:
exons and introns of annotated genes, on the gene's strand):

1. draw ``candidate_factor`` times as many candidate centers as negatives are needed,
   uniformly over the transcribed bases of each strand;
2. drop candidates whose window overlaps a peak of this RBP on the same strand, or whose
   window is more than ``max_n_fraction`` N;
3. stratify positives and candidates by (GC bin of the whole window, strand) and draw, in
   each stratum, ``ratio`` negatives per positive; a stratum short of candidates borrows the
   unused candidates of that strand nearest in GC.

So the negatives match the positives' GC distribution and strand balance.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from varbind.annotations.index import AnnotationIndex
from varbind.encoding import N_CODE
from varbind.genomics.genome import Genome, window_start
from varbind.genomics.peaks import PeakSet

log = logging.getLogger(__name__)


def positive_rows(peakset: PeakSet) -> pd.DataFrame:
    """One row per distinct (contig, strand, summit): DataFrame[chrom, strand, center]."""
    p = peakset.peaks
    rows = pd.DataFrame({"chrom": p["chrom"].to_numpy(), "strand": p["strand"].to_numpy(),
                         "center": p["summit"].to_numpy(np.int64)})
    return rows.drop_duplicates().sort_values(["chrom", "strand", "center"],
                                              kind="stable").reset_index(drop=True)


def window_stats(genome: Genome, rows: pd.DataFrame, length: int,
                 chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction (of called bases) and N fraction of each row's window, (N,) float64 each.

    Streams the windows in chunks; only the two numbers per window are kept.
    """
    gc = np.zeros(len(rows))
    nfrac = np.zeros(len(rows))
    for chrom, idx in rows.groupby("chrom", sort=False).indices.items():
        for lo in range(0, len(idx), chunk):
            sel = idx[lo:lo + chunk]
            codes = fetch_windows(genome, chrom, rows["center"].to_numpy()[sel], length,
                                  rows["strand"].to_numpy()[sel])
            called = (codes < N_CODE).sum(axis=1)
            gc[sel] = ((codes == 1) | (codes == 2)).sum(axis=1) / np.maximum(called, 1)
            nfrac[sel] = 1 - called / length
    return gc, nfrac


def fetch_windows(genome: Genome, chrom: str, centers: np.ndarray, length: int,
                  strands: np.ndarray, max_span: int = 2_000_000) -> np.ndarray:
    """``Genome.window_codes`` for scattered windows: nearby windows share one read, far
    apart ones are read separately, so a contig is never read whole for a few windows.

    Returns
    -------
    np.ndarray, shape (N, L), uint8, in the order of ``centers``
    """
    centers = np.asarray(centers, dtype=np.int64)
    strands = np.asarray(strands)
    out = np.empty((len(centers), length), dtype=np.uint8)
    if len(centers) == 0:
        return out
    order = np.argsort(centers, kind="stable")
    c = centers[order]
    # start a new read where the gap to the previous window exceeds a window or the read
    # would grow past max_span
    breaks = [0]
    for i in np.flatnonzero(np.diff(c) > 4 * length) + 1:
        breaks.append(int(i))
    breaks.append(len(c))
    groups = []
    for a, b in zip(breaks[:-1], breaks[1:], strict=True):
        lo = a
        for i in range(a + 1, b + 1):
            if i == b or c[i] - c[lo] > max_span:
                groups.append((lo, i))
                lo = i
    for a, b in groups:
        sel = order[a:b]
        out[sel] = genome.window_codes(chrom, centers[sel], length, strands[sel])
    return out


def sample_candidates(index: AnnotationIndex, genome: Genome, n_per_strand: dict[str, int],
                      rng: np.random.Generator, level: str = "premrna") -> pd.DataFrame:
    """Uniform random centers over the transcribed bases of each strand.

    Returns
    -------
    DataFrame[chrom, strand, center] on the FASTA's contig names (contigs not in the FASTA
    are skipped).
    """
    iv = index.transcribed_intervals(level)
    iv = iv.assign(chrom=[genome.resolve(c) for c in iv["chrom"]]).dropna(subset=["chrom"])
    frames = []
    for strand, n in n_per_strand.items():
        part = iv[iv["strand"] == strand]
        if n <= 0 or part.empty:
            continue
        lengths = (part["end"] - part["start"]).to_numpy(np.int64)
        cum = np.cumsum(lengths)
        draw = rng.integers(0, cum[-1], size=n)
        which = np.searchsorted(cum, draw, side="right")
        offset = draw - (cum[which] - lengths[which])
        frames.append(pd.DataFrame({"chrom": part["chrom"].to_numpy()[which],
                                    "strand": strand,
                                    "center": part["start"].to_numpy(np.int64)[which] + offset}))
    if not frames:
        return pd.DataFrame({"chrom": [], "strand": [], "center": np.zeros(0, np.int64)})
    return pd.concat(frames, ignore_index=True)


def overlaps_peaks(rows: pd.DataFrame, peaks: pd.DataFrame, length: int) -> np.ndarray:
    """True where a row's window (length L on its strand) overlaps a peak on the same strand."""
    from ncls import NCLS

    out = np.zeros(len(rows), dtype=bool)
    starts = window_start(rows["center"].to_numpy(np.int64), length, rows["strand"].to_numpy())
    for (chrom, strand), idx in rows.groupby(["chrom", "strand"], sort=False).indices.items():
        p = peaks[(peaks["chrom"] == chrom) & (peaks["strand"] == strand)]
        if p.empty:
            continue
        tree = NCLS(p["start"].to_numpy(np.int64), p["end"].to_numpy(np.int64),
                    np.arange(len(p), dtype=np.int64))
        q, _ = tree.all_overlaps_both(starts[idx], starts[idx] + length,
                                      np.arange(len(idx), dtype=np.int64))
        out[idx[np.unique(q)]] = True
    return out


def match_gc(pos_gc: np.ndarray, pos_strand: np.ndarray, cand_gc: np.ndarray,
             cand_strand: np.ndarray, ratio: float, n_bins: int,
             rng: np.random.Generator) -> np.ndarray:
    """Pick candidates matching the positives' GC and strand distribution.

    Parameters
    ----------
    pos_gc, pos_strand : (P,) GC fraction and strand of the positives
    cand_gc, cand_strand : (C,) the same for the candidates
    ratio : negatives per positive
    n_bins : GC bins of width ``1 / n_bins``

    Returns
    -------
    np.ndarray, indices into the candidates (no repeats), sorted
    """
    chosen: list[np.ndarray] = []
    pos_bin = np.minimum((pos_gc * n_bins).astype(np.int64), n_bins - 1)
    cand_bin = np.minimum((cand_gc * n_bins).astype(np.int64), n_bins - 1)
    short = 0
    for strand in np.unique(pos_strand):
        free = np.flatnonzero(cand_strand == strand)
        used = np.zeros(len(cand_gc), dtype=bool)
        need_by_bin = np.bincount(pos_bin[pos_strand == strand], minlength=n_bins) * ratio
        need_by_bin = _round_preserving_sum(need_by_bin, rng)
        for b in np.flatnonzero(need_by_bin):
            need = int(need_by_bin[b])
            pool = free[(cand_bin[free] == b) & ~used[free]]
            take = rng.choice(pool, size=min(need, len(pool)), replace=False)
            used[take] = True
            chosen.append(take)
            missing = need - len(take)
            if missing:
                short += missing
                # borrow the unused candidates of this strand nearest in GC to the bin center
                rest = free[~used[free]]
                center = (b + 0.5) / n_bins
                near = rest[np.argsort(np.abs(cand_gc[rest] - center), kind="stable")[:missing]]
                used[near] = True
                chosen.append(near)
    if short:
        log.info("GC matching: %d negatives borrowed from neighbouring GC bins", short)
    out = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return np.sort(out)


def _round_preserving_sum(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integers with the same total as ``x`` (rounded), rounding fractions at random."""
    floor = np.floor(x).astype(np.int64)
    rest = int(round(float(x.sum()))) - int(floor.sum())
    if rest > 0:
        frac = x - floor
        extra = rng.choice(len(x), size=rest, replace=False, p=frac / frac.sum())
        floor[extra] += 1
    return floor


def per_rbp_rows(peakset: PeakSet, index: AnnotationIndex, genome: Genome, length: int,
                 ratio: float = 1.0, n_bins: int = 100, candidate_factor: int = 10,
                 max_n_fraction: float = 0.1, level: str = "premrna",
                 rng: np.random.Generator | None = None) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Positives and matched negatives of one RBP.

    Returns
    -------
    rows : DataFrame[chrom, strand, center, gc], positives first then negatives, each in
        genomic order
    labels : (N, 1) uint8
    stats : {n_positive, n_negative, gc_mean_positive, gc_mean_negative, plus_fraction_*}
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    pos = positive_rows(peakset)
    pos_gc, _ = window_stats(genome, pos, length)
    pos = pos.assign(gc=pos_gc)
    n_neg = {s: int(np.ceil((pos["strand"] == s).sum() * ratio)) for s in "+-"}
    want = {s: max(n * candidate_factor, 200 if n else 0) for s, n in n_neg.items()}
    cand = sample_candidates(index, genome, want, rng, level)
    cand = cand.drop_duplicates().reset_index(drop=True)
    cand = cand[~overlaps_peaks(cand, peakset.peaks, length)].reset_index(drop=True)
    cand_gc, cand_n = window_stats(genome, cand, length)
    ok = cand_n <= max_n_fraction
    cand, cand_gc = cand[ok].reset_index(drop=True), cand_gc[ok]
    pick = match_gc(pos_gc, pos["strand"].to_numpy(), cand_gc, cand["strand"].to_numpy(),
                    ratio, n_bins, rng)
    neg = cand.iloc[pick].assign(gc=cand_gc[pick])
    neg = neg.sort_values(["chrom", "strand", "center"], kind="stable")
    if len(neg) < sum(n_neg.values()):
        log.warning("%s: only %d negatives for %d positives (too little transcribed sequence "
                    "free of its peaks)", peakset.label, len(neg), len(pos))
    rows = pd.concat([pos, neg], ignore_index=True)
    labels = np.r_[np.ones(len(pos), np.uint8), np.zeros(len(neg), np.uint8)][:, None]
    stats = {"n_positive": len(pos), "n_negative": len(neg),
             "gc_mean_positive": float(pos["gc"].mean()) if len(pos) else float("nan"),
             "gc_mean_negative": float(neg["gc"].mean()) if len(neg) else float("nan"),
             "plus_fraction_positive": float((pos["strand"] == "+").mean()) if len(pos) else 0.0,
             "plus_fraction_negative": float((neg["strand"] == "+").mean()) if len(neg) else 0.0}
    return rows, labels, stats
