"""varbind.interpret.gradcam_motifs: clustering on synthetic maps, motif matching, diffusion,
calls."""

import numpy as np
import pytest

from varbind.encoding import encode
from varbind.genomics.motifs import read_meme
from varbind.interpret.gradcam_motifs import (
    base_composition,
    call_motif_change,
    cluster_map,
    distance_matrix,
    gradcam_diffusion,
    map_diffusion,
    match_span,
    motif_clusters,
    rank_known_motifs,
    span_sequences,
    touch_pad,
)


def test_distance_matrix_is_the_appendix_example():
    d = distance_matrix(np.array([1, 1, 1, 0, 0, 0, 1, 1, 1.0]), alpha=0.5)
    # POLARIS Supplementary Equation S1, first and fourth rows
    np.testing.assert_allclose(d[0], [0, 0.5, 1, 2, 2.5, 3, 3, 3.5, 4])
    np.testing.assert_allclose(d[3], [2, 1.5, 1, 0, 0.5, 1, 2, 2.5, 3])
    np.testing.assert_allclose(d, d.T)


def test_appendix_example_gives_two_motifs_and_a_valley():
    clusters = cluster_map(np.array([1, 1, 1, 0, 0, 0, 1, 1, 1.0]), alpha=0.5, height=1)
    assert [(c.start, c.end, c.is_motif) for c in clusters] == [
        (0, 3, True), (3, 6, False), (6, 9, True)]


def _two_peaks(length=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.05, length)
    x[10:17] = 1.0 + rng.uniform(-0.03, 0.03, 7)
    x[40:46] = 0.7 + rng.uniform(-0.03, 0.03, 6)
    return x * 3.0  # unscaled GradCAM units


def test_synthetic_peaks_are_found_as_motifs_with_defaults():
    motifs = motif_clusters(_two_peaks())
    assert [(c.start, c.end) for c in motifs] == [(10, 17), (40, 46)]
    assert motifs[0].score == pytest.approx(1.0, abs=0.05)
    assert motifs[1].score == pytest.approx(0.7, abs=0.05)
    # valleys cover the rest, no cluster is wider than 11 nt (0.1 * 10 <= h = 1)
    clusters = cluster_map(_two_peaks())
    covered = sorted(m for c in clusters for m in c.members)
    assert covered == list(range(60))
    assert max(c.end - c.start for c in clusters) <= 11


def test_strongest_motif_of_a_map():
    from varbind.interpret.gradcam_motifs import strongest_motif

    best = strongest_motif(_two_peaks())
    assert (best.start, best.end) == (10, 17)
    assert strongest_motif(np.zeros(20)) is None


def test_a_higher_threshold_keeps_only_the_strong_peak():
    assert [(c.start, c.end) for c in motif_clusters(_two_peaks(), min_score=0.8)] == [(10, 17)]


def test_flat_and_empty_maps():
    assert motif_clusters(np.zeros(30)) == []
    assert cluster_map(np.array([])) == []
    assert [c.is_motif for c in cluster_map(np.array([2.0]))] == [True]


def test_span_sequences():
    x = _two_peaks()
    codes = encode("A" * 10 + "TGCATGT" + "C" * 23 + "GGACUA" + "A" * 14)
    assert span_sequences(codes, motif_clusters(x)) == ["TGCATGT", "GGACTA"]


def _sampled_spans(motif, n, rng, flanks=(15, 18)):
    """``n`` spans: a site drawn from the motif's matrix between uniform random flanks."""
    def random(k):
        return "".join(rng.choice(list("ACGT"), k))

    return [random(flanks[0]) + "".join(rng.choice(list("ACGT"), p=row) for row in motif.pfm)
            + random(flanks[1]) for _ in range(n)]


def test_rank_known_motifs_puts_the_source_rbp_first():
    motifs = read_meme()
    by_id = {m.id: m for m in motifs}
    qki = next(m for m in motifs if m.rbp == "QKI")
    spans = _sampled_spans(qki, 20, np.random.default_rng(0))
    ranked = rank_known_motifs(spans, motifs)
    top_rbp, top_id, top_score = ranked[0]
    assert top_rbp == by_id[top_id].rbp == "QKI"
    assert top_score > 0 > ranked[-1][2]  # a log likelihood ratio: the misfits fall below 0
    assert rank_known_motifs(["AC"], motifs) == []


def test_rank_known_motifs_separates_near_identical_matrices():
    # BRUNOL4, BRUNOL5 and RBM24 all read UGUGUG; a best-hit score ranked RBM24 (the most
    # informative matrix) first on BRUNOL5 sites, the likelihood ranks the source first
    motifs = read_meme()
    brunol5 = next(m for m in motifs if m.rbp == "BRUNOL5")
    ranked = [r[0] for r in rank_known_motifs(_sampled_spans(brunol5, 100,
                                                              np.random.default_rng(1)), motifs)]
    assert ranked[0] == "BRUNOL5"
    assert ranked.index("BRUNOL4") < ranked.index("RBM24")


def test_rank_known_motifs_background_and_short_spans():
    motifs = read_meme()
    rbfox = next(m for m in motifs if m.rbp == "RBFOX1")
    site = rbfox.consensus()
    # N is neutral: a span of Ns scores log(1 - prior + prior * 1) = 0 for every motif
    assert {r[2] for r in rank_known_motifs(["N" * 30], motifs)} == {0.0}
    # a span shorter than the motif is padded with N, not dropped
    assert rank_known_motifs([site[1:-1]], motifs)[0][0] == "RBFOX1"
    # one offset, by hand: log(1 - prior + prior * prod M[i, x_i] / bg[x_i])
    gc = np.array([0.1, 0.4, 0.4, 0.1])
    letters = ["ACGT".index(b) for b in site]
    pfm = (rbfox.pfm + 1e-3) / (1 + 4e-3)
    for bg in (np.full(4, 0.25), gc):
        ratio = np.prod([pfm[i, b] / bg[b] for i, b in enumerate(letters)])
        got = rank_known_motifs([site], [rbfox], background=bg, prior=0.3)[0][2]
        assert got == pytest.approx(np.log(0.7 + 0.3 * ratio))
    np.testing.assert_allclose(base_composition(encode("AACG" + "N" * 5)),
                               [3 / 8, 2 / 8, 2 / 8, 1 / 8])


def test_match_span_covers_the_receptive_field():
    from varbind.interpret.gradcam_motifs import MATCH_WIDTH, Cluster

    c = Cluster(60, 66, 0.9, True, tuple(range(60, 66)))
    wide = match_span(c, 39, 400)
    assert (wide.start, wide.end) == (43, 82)  # 39 nt around the cluster (center 62.5)
    assert match_span(c, 0, 400).end - match_span(c, 0, 400).start == MATCH_WIDTH
    edge = match_span(Cluster(0, 4, 0.9, True, (0, 1, 2, 3)), 41, 150)
    assert (edge.start, edge.end) == (0, 41)  # kept inside the window
    assert match_span(Cluster(140, 150, 0.9, True, ()), 41, 150).end == 150
    assert match_span(c, 3, 400) == replace_span(c, 60, 66)  # never narrower than the cluster
    assert match_span(c, 41, 30).end == 30  # a window shorter than the field


def replace_span(c, start, end):
    from dataclasses import replace

    return replace(c, start=start, end=end)


def test_diffusion_by_hand():
    assert map_diffusion(np.array([1.0, 1.0])) == pytest.approx(0.0)
    assert map_diffusion(np.array([2.0, 0.0])) == pytest.approx(-np.log(2))
    assert map_diffusion(np.array([0.5, 0.5])) == pytest.approx(np.log(2))
    assert np.isnan(map_diffusion(np.zeros(3)))
    maps = np.array([[0.5, 0.5], [2.0, 0.0], [0.0, 0.0]])
    assert gradcam_diffusion(maps) == pytest.approx((np.log(2) - np.log(2)) / 2)


def _site_map(height, at=(20, 27), length=50):
    x = np.full(length, 0.02)
    x[at[0]:at[1]] = height
    x[35:40] = 1.0  # an untouched motif elsewhere
    return x


@pytest.mark.parametrize("ref_h, alt_h, expected", [
    (1.0, 0.02, "LOST"),
    (0.02, 1.0, "GAINED"),
    (1.0, 0.6, "WEAKENED"),
    (1.0, 1.0, "NONE"),
    (0.02, 0.02, "NONE"),
])
def test_variant_motif_calls(ref_h, alt_h, expected):
    call = call_motif_change(_site_map(ref_h), _site_map(alt_h), (23, 24), (23, 24))
    assert call.call == expected
    if expected in ("LOST", "WEAKENED"):
        assert (call.ref.start, call.ref.end) == (20, 27)
        assert call.mass_ratio == pytest.approx(alt_h / ref_h, rel=1e-6)


def test_call_follows_an_insertion_shift():
    ref = _site_map(1.0)
    alt = np.concatenate([[0.02, 0.02], ref[:-2]])  # motif moved 2 nt right, still whole
    call = call_motif_change(ref, alt, (23, 24), (25, 26))
    assert call.call == "NONE" and call.mass_ratio == pytest.approx(1.0)


def test_banded_linkage_equals_scipy_complete_linkage():
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from varbind.interpret.gradcam_motifs import complete_linkage_labels

    for seed in range(60):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 90))
        s = rng.random(n) if seed % 2 else np.convolve(rng.random(n), np.ones(5) / 5, "same")
        for alpha in (0.5, 0.9):
            condensed = squareform(distance_matrix(s, alpha), checks=False)
            expected = fcluster(linkage(condensed, "complete"), 1.0, "distance")
            got = complete_linkage_labels(s, alpha, 1.0)
            pairs = set(zip(expected.tolist(), got.tolist(), strict=True))
            assert len(pairs) == len(set(expected)) == len(set(got)), (seed, alpha)


def test_touch_pad_is_three_map_positions_unless_given():
    assert touch_pad(1.0) == 3 and touch_pad(4.0) == 12  # Multi-resBind; POLARIS conv2
    assert touch_pad(0.5) == 3  # never finer than a base
    assert touch_pad(4.0, 5) == 5 and touch_pad(1.0, 0) == 0
    # a coarse map's motif 10 nt from the variant: touching with the stride-4 slack only
    ref = np.zeros(100)
    ref[40:46] = 1.0
    alt = np.zeros(100)
    site = (55, 56)
    assert call_motif_change(ref, alt, site, site, pad=touch_pad(1.0)).call == "NONE"
    assert call_motif_change(ref, alt, site, site, pad=touch_pad(4.0)).call == "LOST"
