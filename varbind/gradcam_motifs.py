"""GradCAM maps to motifs: weighted hierarchical clustering (POLARIS appendix), the
best-matching known motif, GradCAM diffusion (POLARIS eq. 3) and per-variant motif calls.

Clustering, as the POLARIS appendix describes it, for one map ``x`` of length L:

1. scale the map to 0..1 (``s = x / max(x)``; GradCAM maps are >= 0 after the ReLU);
2. distance between positions ``D_ij = a * |s_i - s_j| + (1 - a) * |i - j|``;
3. complete-linkage hierarchical clustering of D, tree cut at height ``h``;
4. clusters whose mean scaled score ``> m`` are motifs, the others valleys.

Positions ``i, j`` are in **nucleotides** of the (stretched) map, not rescaled to 0..1. That is
what the appendix's worked example shows (the sequence-distance matrix holds raw base-pair
gaps 0..8) and what makes its defaults sensible: with ``a = 0.9, h = 1`` complete linkage
keeps two positions together only if ``0.1 * |i - j| <= 1``, so a motif is at most 11 nt long
(RNAcompete motifs are 7 nt), and a plateau is split where scores differ by more than
``(1 - 0.1 |i - j|) / 0.9``. With positions scaled to 0..1 the position term would be
negligible and whole windows would merge.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from varbind.encoding import ALPHABET

ALPHA, HEIGHT, MIN_SCORE = 0.9, 1.0, 0.5
CALLS = ("LOST", "GAINED", "WEAKENED", "NONE")


@dataclass(frozen=True)
class Cluster:
    """One cluster of a map: positions ``[start, end)`` (0-based window indices, members may
    skip a base when a neighbour's score differs), mean scaled score, motif or valley."""

    start: int
    end: int
    score: float
    is_motif: bool
    members: tuple[int, ...]


def scale_map(x: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Map (L,) to 0..1 by dividing by ``scale`` (default its maximum); all-zero maps stay 0."""
    x = np.clip(np.nan_to_num(np.asarray(x, np.float64)), 0, None)
    top = float(x.max()) if scale is None and x.size else float(scale or 0)
    return x / top if top > 0 else np.zeros_like(x)


def distance_matrix(s: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """(L, L) ``alpha * |s_i - s_j| + (1 - alpha) * |i - j|`` for a scaled map ``s`` (L,)."""
    pos = np.arange(len(s), dtype=np.float64)
    gap = np.abs(pos[:, None] - pos[None, :])
    return alpha * np.abs(s[:, None] - s[None, :]) + (1 - alpha) * gap


def cluster_map(x: np.ndarray, alpha: float = ALPHA, height: float = HEIGHT,
                min_score: float = MIN_SCORE, scale: float | None = None) -> list[Cluster]:
    """Clusters of one GradCAM map (L,), ordered by start; see the module docstring.

    ``scale`` divides the map instead of its own maximum (use one scale for a ref and an
    alt map so that their scores compare).
    """
    s = scale_map(x, scale)
    if len(s) == 0:
        return []
    labels = complete_linkage_labels(s, alpha, height)
    clusters = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        score = float(s[members].mean())
        clusters.append(Cluster(int(members.min()), int(members.max()) + 1, score,
                                score > min_score, tuple(int(m) for m in members)))
    return sorted(clusters, key=lambda c: c.start)


def complete_linkage_labels(s: np.ndarray, alpha: float = ALPHA,
                            height: float = HEIGHT) -> np.ndarray:
    """Flat clusters (L,) labels of complete-linkage clustering of D cut at ``height``.

    Equal to ``fcluster(linkage(D, "complete"), height, "distance")`` (up to the order of
    merges at exactly equal distances), but only pairs closer than ``height / (1 - alpha)``
    nt are ever compared: farther pairs have ``D > height`` and complete linkage can never put
    them in one cluster below the cut. That makes a 1,000-nt map ~100x faster than scipy's
    O(L^2) linkage.
    """
    n = len(s)
    band = n if alpha >= 1 else int(np.floor(height / (1 - alpha) + 1e-9))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    dist: dict[int, dict[int, float]] = {i: {} for i in range(n)}
    heap: list[tuple[float, int, int]] = []
    for gap in range(1, min(band, n - 1) + 1):
        d = alpha * np.abs(s[gap:] - s[:-gap]) + (1 - alpha) * gap
        for i in np.flatnonzero(d <= height + 1e-12):
            a, b, value = int(i), int(i + gap), float(d[i])
            dist[a][b] = dist[b][a] = value
            heap.append((value, a, b))
    heapq.heapify(heap)
    next_id = n
    while heap:
        value, a, b = heapq.heappop(heap)
        if a not in members or b not in members or dist[a].get(b) != value:
            continue  # a merged-away cluster or a superseded distance
        c, next_id = next_id, next_id + 1
        members[c] = members.pop(a) + members.pop(b)
        da, db = dist.pop(a), dist.pop(b)
        dist[c] = {}
        for k in (set(da) | set(db)) - {a, b}:
            dist[k].pop(a, None)
            dist[k].pop(b, None)
            if k in da and k in db:  # complete linkage: the farther of the two; a missing
                merged = max(da[k], db[k])  # distance is > height, so the pair is out
                dist[c][k] = dist[k][c] = merged
                heapq.heappush(heap, (merged, min(c, k), max(c, k)))
    labels = np.zeros(n, np.int64)
    for label, (_, group) in enumerate(sorted(members.items(), key=lambda kv: min(kv[1]))):
        labels[group] = label + 1
    return labels


def motif_clusters(x: np.ndarray, **kwargs) -> list[Cluster]:
    """Only the motif clusters of a map."""
    return [c for c in cluster_map(x, **kwargs) if c.is_motif]


def span_sequences(codes: np.ndarray, clusters: Sequence[Cluster]) -> list[str]:
    """The window's bases under each cluster span; ``codes`` (L,) uint8."""
    letters = np.frombuffer(b"ACGTN", np.uint8)
    return [letters[codes[c.start:c.end]].tobytes().decode() for c in clusters]


# ----------------------------------------------------------------------------- known motifs


def best_match_score(seq: str, log_odds: np.ndarray) -> float:
    """Best log-odds of a PWM (W, 4) against ``seq`` over every offset, as a fraction of the
    PWM's best possible score (1 = the full consensus is in the span).

    The motif slides along the span and may hang off either end by up to ``W - 4`` columns;
    columns off the span score 0, so a partial match scores less than a whole one. N scores
    the column's worst letter.
    """
    codes = np.array([ALPHABET.find(b) for b in seq.upper().replace("U", "T")], dtype=np.int64)
    w, n = len(log_odds), len(codes)
    top = log_odds.max(axis=1).sum()
    overlap = min(4, w, n)
    offsets = np.arange(-(n - overlap), w - overlap + 1)  # motif column c <-> span c - offset
    pos = np.arange(w)[None, :] - offsets[:, None]  # (offsets, W) span index of each column
    inside = (pos >= 0) & (pos < n)
    letter = np.where(inside, codes[np.clip(pos, 0, max(n - 1, 0))], -2)
    worst = log_odds.min(axis=1)[None, :]
    picked = log_odds[np.arange(w)[None, :], np.clip(letter, 0, 3)]
    value = np.where(letter >= 0, picked, np.where(letter == -1, worst, 0.0))
    return float(value.sum(axis=1).max() / top)


def rank_known_motifs(seqs: Sequence[str], motifs=None, shuffles: int = 4,
                      seed: int = 0) -> list[tuple[str, str, float]]:
    """Known motifs ranked by how well they match a set of spans, beyond chance.

    Returns ``[(rbp, motif_id, score)]`` best first; ``score`` is the mean over spans of
    :func:`best_match_score` minus its mean over ``shuffles`` shuffles of each span (same
    letters, order destroyed). The subtraction keeps short, degenerate matrices (which match
    any sequence fairly well) from winning over the matrix the spans actually carry.
    """
    from varbind.motifs import read_meme

    motifs = read_meme() if motifs is None else motifs
    seqs = [s for s in seqs if len(s) >= 3]
    if not seqs:
        return []
    rng = np.random.default_rng(seed)
    background = ["".join(rng.permutation(list(s))) for s in seqs for _ in range(shuffles)]
    ranked = []
    for m in motifs:
        lo = m.log_odds()
        score = np.mean([best_match_score(s, lo) for s in seqs])
        if background:
            score -= np.mean([best_match_score(s, lo) for s in background])
        ranked.append((m.rbp, m.id, float(score)))
    return sorted(ranked, key=lambda r: -r[2])


def strongest_motif(x: np.ndarray, **kwargs) -> Cluster | None:
    """The motif cluster of a map with the highest mean score (None if it has none)."""
    motifs = motif_clusters(x, **kwargs)
    return max(motifs, key=lambda c: c.score) if motifs else None


# ----------------------------------------------------------------------------- diffusion


def map_diffusion(x: np.ndarray) -> float:
    """POLARIS eq. 3 for one map: ``sum(x log(1/x)) / sum(x)`` (0 log 0 = 0); NaN if empty."""
    x = np.clip(np.asarray(x, np.float64), 0, None)
    total = x.sum()
    if total <= 0:
        return float("nan")
    pos = x[x > 0]
    return float(-(pos * np.log(pos)).sum() / total)


def gradcam_diffusion(maps: np.ndarray) -> float:
    """Diffusion of an RBP: the mean of :func:`map_diffusion` over its positive windows'
    maps (N, L); all-zero maps are skipped."""
    values = np.array([map_diffusion(m) for m in maps])
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else float("nan")


# ----------------------------------------------------------------------------- variant calls


@dataclass(frozen=True)
class MotifCall:
    """The motif call at a variant: ``call`` in LOST / GAINED / WEAKENED / NONE, the ref and
    alt motif clusters touching the variant (or None), and the alt/ref GradCAM mass ratio
    over the ref motif."""

    call: str
    ref: Cluster | None
    alt: Cluster | None
    mass_ratio: float


def _touching(clusters: Sequence[Cluster], site: tuple[int, int], pad: int) -> Cluster | None:
    lo, hi = site
    hits = [c for c in clusters if c.is_motif and c.start < hi + pad and c.end > lo - pad]
    return max(hits, key=lambda c: c.score) if hits else None


def call_motif_change(ref_map: np.ndarray, alt_map: np.ndarray, ref_site: tuple[int, int],
                      alt_site: tuple[int, int], alpha: float = ALPHA, height: float = HEIGHT,
                      min_score: float = MIN_SCORE, pad: int = 0, lost: float = 0.5,
                      weakened: float = 0.75, clusters: tuple | None = None) -> MotifCall:
    """Compare the motifs of a ref and an alt GradCAM map at the variant.

    Each map is clustered on its own scale (as POLARIS does), and the motif clusters touching
    the variant are compared by their GradCAM mass, which is on one scale for both windows
    when the maps are GradCAMs of the logit. ``ref_site``/``alt_site`` are the ``[start, end)``
    window indices of the variant in each window (an insertion's inserted bases; the bases
    around a deletion's junction); ``pad`` widens them. ``clusters`` may pass the two maps'
    clusters, already computed.

    With ``ratio`` the alt map's mass over the ref motif's span (shifted by an indel) divided
    by the ref map's: LOST when a ref motif touches the site and the alt map has no motif
    there or ``ratio < lost``; WEAKENED when ``lost <= ratio < weakened``; GAINED when an alt
    motif touches the site and the ref has none there or keeps less than ``lost`` of the alt
    motif's mass; NONE otherwise.
    """
    ref_map = np.clip(np.nan_to_num(np.asarray(ref_map, np.float64)), 0, None)
    alt_map = np.clip(np.nan_to_num(np.asarray(alt_map, np.float64)), 0, None)
    if clusters is None:
        kwargs = dict(alpha=alpha, height=height, min_score=min_score)
        clusters = (cluster_map(ref_map, **kwargs), cluster_map(alt_map, **kwargs))
    ref_motif = _touching(clusters[0], ref_site, pad)
    alt_motif = _touching(clusters[1], alt_site, pad)
    shift = alt_site[0] - ref_site[0]  # the same genome bases before the variant
    ratio = _mass_ratio(ref_map, alt_map, ref_motif, shift)
    back = _mass_ratio(alt_map, ref_map, alt_motif, -shift)
    if ref_motif is not None and (alt_motif is None or ratio < lost):
        call = "LOST"
    elif ref_motif is not None and ratio < weakened:
        call = "WEAKENED"
    elif alt_motif is not None and (ref_motif is None or back < lost):
        call = "GAINED"
    else:
        call = "NONE"
    return MotifCall(call, ref_motif, alt_motif, ratio)


def _mass_ratio(first: np.ndarray, second: np.ndarray, motif: Cluster | None,
                shift: int) -> float:
    """``second``'s mass over ``motif``'s span (shifted) over ``first``'s mass there."""
    if motif is None:
        return float("nan")
    mass = first[motif.start:motif.end].sum()
    lo, hi = max(0, motif.start + shift), max(0, motif.end + shift)
    return float(second[lo:hi].sum() / mass) if mass > 0 else float("nan")
