"""varbind.interpret.align: ref/alt maps on genome coordinates, worked out by hand (W = 7, center
3)."""

import numpy as np
import pytest

from varbind.interpret.align import align_maps, site_coordinates, summarize_diff, variant_mask


def test_snv_coordinates_are_the_same_on_both_alleles():
    ref = site_coordinates(103, 104, None, "+", 7)
    alt = site_coordinates(103, 104, "G", "+", 7)
    assert ref.tolist() == alt.tolist() == list(range(100, 107))
    assert site_coordinates(103, 104, "G", "-", 7).tolist() == list(range(106, 99, -1))


def test_insertion_plus_strand():
    # TT inserted after base 103: event [104, 104) -> "TT"
    ref_c = site_coordinates(104, 104, None, "+", 7)
    alt_c = site_coordinates(104, 104, "TT", "+", 7)
    assert ref_c.tolist() == list(range(101, 108))
    assert alt_c.tolist() == [101, 102, 103, -1, -1, 104, 105]
    al = align_maps(np.arange(7.0), ref_c, np.arange(7.0) * 10, alt_c, "+")
    assert al.coord.tolist() == [101, 102, 103, 103, 103, 104, 105, 106, 107]
    assert al.insert.tolist() == [0, 0, 0, 1, 2, 0, 0, 0, 0]
    np.testing.assert_array_equal(al.ref, [0, 1, 2, np.nan, np.nan, 3, 4, 5, 6])
    np.testing.assert_array_equal(al.alt, [0, 10, 20, 30, 40, 50, 60, np.nan, np.nan])
    np.testing.assert_array_equal(al.diff, [0, 9, 18, 30, 40, 47, 56, -5, -6])
    assert variant_mask(al, 104, 104).astype(int).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]


def test_deletion_plus_strand():
    # bases 104 and 105 deleted: event [104, 106) -> ""
    ref_c = site_coordinates(104, 106, None, "+", 7)
    alt_c = site_coordinates(104, 106, "", "+", 7)
    assert ref_c.tolist() == list(range(101, 108))
    assert alt_c.tolist() == [101, 102, 103, 106, 107, 108, 109]
    al = align_maps(np.ones(7), ref_c, np.full(7, 2.0), alt_c, "+")
    assert al.coord.tolist() == list(range(101, 110))
    assert np.isnan(al.alt[[3, 4]]).all() and np.isnan(al.ref[[7, 8]]).all()
    # the deleted bases' attribution is lost: a missing side counts as 0
    np.testing.assert_array_equal(al.diff, [1, 1, 1, -1, -1, 1, 1, 2, 2])
    assert variant_mask(al, 104, 106).astype(int).tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_insertion_minus_strand_sits_between_its_neighbours():
    ref_c = site_coordinates(104, 104, None, "-", 7)
    alt_c = site_coordinates(104, 104, "TT", "-", 7)
    assert ref_c.tolist() == list(range(106, 99, -1))
    assert alt_c.tolist() == [106, 105, 104, -1, -1, 103, 102]
    al = align_maps(np.arange(7.0), ref_c, np.arange(7.0), alt_c, "-")
    assert al.coord.tolist() == [106, 105, 104, 104, 104, 103, 102, 101, 100]
    assert al.insert.tolist() == [0, 0, 0, 1, 2, 0, 0, 0, 0]
    np.testing.assert_array_equal(al.ref, [0, 1, 2, np.nan, np.nan, 3, 4, 5, 6])
    np.testing.assert_array_equal(al.alt, [0, 1, 2, 3, 4, 5, 6, np.nan, np.nan])


def test_channels_are_carried_and_summed_in_summaries():
    ref_c = site_coordinates(2, 3, None, "+", 5)
    alt_c = site_coordinates(2, 3, "G", "+", 5)
    assert ref_c.tolist() == alt_c.tolist() == [0, 1, 2, 3, 4]
    ref = np.zeros((5, 4))
    ref[2, 1] = 1.0  # the C carried attribution 1
    alt = np.zeros((5, 4))
    alt[4, 0] = -0.5  # 2 nt downstream something fell
    al = align_maps(ref, ref_c, alt, alt_c, "+")
    assert al.ref.shape == (5, 4)
    mask = variant_mask(al, 2, 3)
    s = summarize_diff(al, mask, flank=3)
    assert s.at_variant == pytest.approx(-1.0)
    assert (s.max_abs, s.max_offset) == (pytest.approx(-1.0), 0)
    alt[2, 2] = 0.9  # the G carries 0.9: -0.1 at the variant, the largest change 2 nt away
    s = summarize_diff(align_maps(ref, ref_c, alt, alt_c, "+"), mask)
    assert s.at_variant == pytest.approx(-0.1)
    assert (s.max_abs, s.max_offset) == (pytest.approx(-0.5), 2)
    assert summarize_diff(al, mask, flank=1).max_offset == 0
