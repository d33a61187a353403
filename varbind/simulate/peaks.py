"""CLIP-like peaks: one per bound site (jittered width and summit) plus false positives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from varbind.simulate.sites import Site

#: Peak model parameters.
PEAKS = {
    "width_min": 20, "width_max": 80,
    "fp_fraction": 0.12,          # false positives, as a fraction of true peaks
    "weak_true": 0.05,            # true peaks with p > 0.01
    "weak_fp": 0.8,               # false positives with p > 0.01
    "fp_isolation": 500,          # weak false positives have no other peak this close
}


@dataclass
class PeakTable:
    """Peaks of one RBP (global coordinates, 0-based half-open), sorted by start.

    start, end, summit (offset from start) : (P,) int64; strand : (P,) '<U1';
    signal, pvalue, qvalue : (P,) float64 (p and q as -log10); true_site : (P,) int64
    index into the site list or -1 for a false positive."""

    start: np.ndarray
    end: np.ndarray
    summit: np.ndarray
    strand: np.ndarray
    signal: np.ndarray
    pvalue: np.ndarray
    qvalue: np.ndarray
    true_site: np.ndarray


def _bh_qvalues(neglog_p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (as -log10) from -log10 p-values."""
    n = neglog_p.size
    if n == 0:
        return neglog_p.copy()
    p = 10.0 ** -neglog_p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(ranked, 1.0)
    return -np.log10(q)


def draw_peaks(rng, sites: list[Site], site_index: np.ndarray, log_tpm: np.ndarray,
               fp_candidates: np.ndarray, fp_strand: np.ndarray,
               blocked: np.ndarray) -> PeakTable:
    """Peaks for one RBP.

    sites/site_index : the RBP's bound sites and their indices in the global site list;
    log_tpm : (len(sites),) log1p TPM of each site's gene; fp_candidates : global positions
    in transcribed sequence to draw false positives from, with their gene strand;
    blocked : sorted starts of this RBP's planted sites (false positives stay 100 nt away).
    """
    n = len(sites)
    site_start = np.array([s.start for s in sites], dtype=np.int64)
    site_end = np.array([s.end for s in sites], dtype=np.int64)
    width = rng.integers(PEAKS["width_min"], PEAKS["width_max"] + 1, n)
    width = np.maximum(width, site_end - site_start + 2)
    lead = rng.integers(0, width - (site_end - site_start) + 1)
    start = site_start - lead
    center = (site_start + site_end) // 2 - start
    summit = np.clip(center + np.round(rng.normal(0, 2, n)).astype(np.int64), 0, width - 1)
    pval = 2.3 + 0.6 * log_tpm + rng.gamma(2.0, 1.2, n)
    weak = rng.random(n) < PEAKS["weak_true"]
    pval[weak] = rng.uniform(0.8, 2.0, int(weak.sum()))
    signal = np.round(2 ** (0.8 + 0.25 * pval + rng.normal(0, 0.3, n)), 3)

    n_fp = int(round(PEAKS["fp_fraction"] * n))
    fp_start, fp_width, fp_strand_out, fp_p = [], [], [], []
    taken = np.sort(start)
    tries = 0
    while len(fp_start) < n_fp and tries < 50 * (n_fp + 1) and fp_candidates.size:
        tries += 1
        k = int(rng.integers(fp_candidates.size))
        pos = int(fp_candidates[k])
        j = np.searchsorted(blocked, pos)
        near = [blocked[i] for i in (j - 1, j) if 0 <= i < blocked.size]
        if any(abs(b - pos) < 100 for b in near):
            continue
        weak_fp = rng.random() < PEAKS["weak_fp"]
        if weak_fp:
            j = np.searchsorted(taken, pos)
            near = [taken[i] for i in (j - 1, j) if 0 <= i < taken.size]
            if any(abs(b - pos) < PEAKS["fp_isolation"] for b in near):
                continue
        w = int(rng.integers(PEAKS["width_min"], PEAKS["width_max"] + 1))
        fp_start.append(pos - w // 2)
        fp_width.append(w)
        fp_strand_out.append(fp_strand[k])
        fp_p.append(rng.uniform(0.5, 2.0) if weak_fp else 2.0 + rng.gamma(1.5, 1.0))
        taken = np.insert(taken, np.searchsorted(taken, pos - w // 2), pos - w // 2)
    fp_start_a = np.array(fp_start, dtype=np.int64)
    fp_width_a = np.array(fp_width, dtype=np.int64)
    fp_p_a = np.array(fp_p, dtype=np.float64)
    fp_signal = np.round(2 ** (0.5 + 0.2 * fp_p_a + rng.normal(0, 0.3, fp_p_a.size)), 3)

    all_start = np.concatenate([start, fp_start_a])
    all_end = np.concatenate([start + width, fp_start_a + fp_width_a])
    all_summit = np.concatenate([summit, rng.integers(0, np.maximum(fp_width_a, 1))])
    strand = np.concatenate([np.array([s.strand for s in sites], dtype="<U1"),
                             np.array(fp_strand_out, dtype="<U1")])
    pvalue = np.round(np.concatenate([pval, fp_p_a]), 3)
    signal_all = np.concatenate([signal, fp_signal])
    true_site = np.concatenate([site_index.astype(np.int64), np.full(fp_start_a.size, -1)])
    order = np.lexsort((all_end, all_start))
    qvalue = np.round(_bh_qvalues(pvalue), 3)
    return PeakTable(all_start[order], all_end[order], all_summit[order], strand[order],
                     signal_all[order], pvalue[order], qvalue[order], true_site[order])
