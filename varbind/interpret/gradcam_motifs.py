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
from dataclasses import dataclass, replace

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


#: Known motifs are matched on at least this many nt around a motif cluster when the GradCAM
#: layer's receptive field is unknown (the demo models' layers see 39 and 41 nt).
MATCH_WIDTH = 40


def match_span(cluster: Cluster, field: int, length: int) -> Cluster:
    """The bases to match known motifs on for one motif cluster: ``max(field, cluster width)``
    nt centered on the cluster, inside a window of ``length``.

    A GradCAM map weighs feature-map positions, and the evidence of one position lies
    anywhere in its receptive field (``field`` nt,
    :func:`varbind.interpret.receptive.receptive_field`;
    <= 0 for unknown: :data:`MATCH_WIDTH`). On the demo models the strongest position sits a
    median 1-13 nt from the planted site, so matching on the cluster's own few nt misses it.
    """
    width = max(field if field > 0 else MATCH_WIDTH, cluster.end - cluster.start)
    width = min(width, length)
    lo = min(max(0, (cluster.start + cluster.end - width) // 2), length - width)
    return replace(cluster, start=lo, end=lo + width)


def base_composition(codes: np.ndarray) -> np.ndarray:
    """(4,) ACGT frequencies of codes (any shape, N ignored), with one pseudocount each."""
    codes = np.asarray(codes).ravel()
    return (np.bincount(codes[codes < 4], minlength=4)[:4] + 1.0) / ((codes < 4).sum() + 4.0)


def rank_known_motifs(seqs: Sequence[str], motifs=None, background: np.ndarray | None = None,
                      prior: float = 0.5) -> list[tuple[str, str, float]]:
    """Known motifs ranked by how well they explain a set of spans, best first.

    Returns ``[(rbp, motif_id, score)]``. ``score`` is the mean over spans of the log
    likelihood ratio (nats) of MEME's ZOOPS model, "zero or one occurrence of the motif at an
    unknown offset, background elsewhere", against "background only":

        LR(x) = (1 - prior) + prior * mean_o prod_i M[i, x[o + i]] / bg[x[o + i]]

    over the offsets ``o`` where the motif (W, 4) fits in the span (spans shorter than W are
    padded with N, which is neutral). ``background`` (4,) is the ACGT composition the spans
    come from (default uniform; pass the windows' :func:`base_composition`).

    Averaged over spans drawn from a matrix P, this expected log-likelihood is highest for P
    itself (Gibbs' inequality), so near-identical matrices (BRUNOL4/5 and RBM24, all UGUGUG)
    are told apart by their letter frequencies, where a best-hit score favours the most
    informative matrix; the "no occurrence" term keeps spans without the motif from
    deciding the ranking.
    """
    from varbind.genomics.motifs import read_meme

    motifs = read_meme() if motifs is None else motifs
    seqs = [s for s in seqs if len(s) >= 3]
    if not seqs or not motifs:
        return []
    bg = np.full(4, 0.25) if background is None else np.asarray(background, np.float64)
    log_prior = np.log([1 - prior, prior]) if 0 < prior < 1 else None
    stacked: dict[int, list[np.ndarray]] = {}  # motif width -> the spans, stacked by length
    ranked = []
    for m in motifs:
        ratio = np.zeros((m.width, 5))  # log M / bg per column and letter; N (4) is neutral
        ratio[:, :4] = np.log((m.pfm + 1e-3) / (1 + 4e-3)) - np.log(bg)[None, :]
        groups = stacked.setdefault(m.width, _by_length(seqs, m.width))
        total = sum(_zoops(group, ratio, log_prior).sum() for group in groups)
        ranked.append((m.rbp, m.id, float(total / len(seqs))))
    return sorted(ranked, key=lambda r: -r[2])


def _by_length(seqs: list[str], width: int) -> list[np.ndarray]:
    """Spans as letter codes 0-4 (U = T, anything else N = 4), padded to ``width`` with N,
    stacked by length: a list of (n, L) arrays."""
    lookup = np.full(256, 4, np.int64)
    for i, b in enumerate(ALPHABET):
        lookup[ord(b)] = lookup[ord(b.lower())] = i
    lookup[ord("U")] = lookup[ord("u")] = 3
    groups: dict[int, list[np.ndarray]] = {}
    for s in seqs:
        c = lookup[np.frombuffer(s.encode(), np.uint8)]
        if len(c) < width:
            pad = width - len(c)
            c = np.concatenate([np.full(pad // 2, 4), c, np.full(pad - pad // 2, 4)])
        groups.setdefault(len(c), []).append(c)
    return [np.stack(g) for g in groups.values()]


def _zoops(codes: np.ndarray, ratio: np.ndarray, log_prior: np.ndarray | None) -> np.ndarray:
    """(n,) ZOOPS log likelihood ratios of spans ``codes`` (n, L) for ``ratio`` (W, 5)."""
    w = len(ratio)
    offsets = np.arange(codes.shape[1] - w + 1)[:, None] + np.arange(w)[None, :]  # (O, W)
    site = ratio[np.arange(w)[None, None, :], codes[:, offsets]].sum(-1)  # (n, O)
    top = site.max(axis=1, keepdims=True)
    mean = np.log(np.exp(site - top).mean(axis=1)) + top[:, 0]  # log mean_o exp(site)
    if log_prior is None:
        return mean
    return np.logaddexp(log_prior[0], log_prior[1] + mean)


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


#: A motif cluster within this many GradCAM map positions of a variant touches it.
TOUCH_POSITIONS = 3


def touch_pad(stride: float, pad: int | None = None) -> int:
    """nt of slack for a motif cluster to touch a variant: ``pad`` when given, else
    :data:`TOUCH_POSITIONS` positions of a map with ``stride`` nt per position. A coarse map
    also places its peak less exactly: on the simulated demo, POLARIS's stride-4 ``conv2``
    peaks a median 11-13 nt from the planted site, Multi-resBind's full-resolution map 2-4 nt
    (``tests/benchmarks/bench_explain.py --demo --only-calls --motif-pad N`` compares)."""
    return int(pad) if pad is not None else int(round(TOUCH_POSITIONS * max(stride, 1.0)))


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
