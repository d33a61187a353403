import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varbind.encoding import (
    REGION_CODE,
    decode,
    encode,
    encode_batch,
    gc_fraction,
    one_hot,
    one_hot_regions,
    reverse_complement,
    reverse_complement_codes,
)

dna = st.text(alphabet="ACGTN", min_size=1, max_size=200)


def test_encode_known_letters():
    assert encode("ACGTNacgu-").tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]


def test_reverse_complement_by_hand():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert decode(reverse_complement_codes(encode("AACGTN"))) == "NACGTT"


@given(dna)
def test_decode_encode_roundtrip(seq):
    assert decode(encode(seq)) == seq


@given(dna)
def test_reverse_complement_is_an_involution_and_matches_codes(seq):
    assert reverse_complement(reverse_complement(seq)) == seq
    assert decode(reverse_complement_codes(encode(seq))) == reverse_complement(seq)


@settings(deadline=None)  # timing on a loaded 2-core machine is not what this tests
@given(dna)
def test_one_hot_rows(seq):
    oh = one_hot(encode(seq))
    assert oh.shape == (len(seq), 4)
    called = np.array([c != "N" for c in seq])
    assert np.all(oh[called].sum(axis=1) == 1)
    assert np.all(oh[~called] == 0)
    assert np.allclose(one_hot(encode(seq), unknown="uniform")[~called], 0.25)


def test_encode_batch_shape_and_unequal_lengths():
    assert encode_batch(["ACG", "TTT"]).shape == (2, 3)
    with pytest.raises(ValueError, match="equal length"):
        encode_batch(["ACG", "TT"])


def test_region_channels_and_groups():
    codes = np.array([REGION_CODE["cds"], REGION_CODE["ncrna_exon"], REGION_CODE["none"]])
    out = one_hot_regions(codes, ["intron", "exon", "none"])
    assert out.tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="unknown region channel"):
        one_hot_regions(codes, ["exonic"])


def test_gc_fraction_ignores_n():
    assert gc_fraction(encode_batch(["GCAT", "GGNN"])).tolist() == [0.5, 1.0]
