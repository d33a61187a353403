"""Reference and alternate windows on both strands, worked out by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varbind.encoding import decode, encode, reverse_complement
from varbind.scoring.windows import allele_centers, allele_windows, gather_spans

#      0         1
#      01234567890123456789
SEQ = "ACGTTGCAAGCTTACGGATC"


def reader(seq: str):
    """``read(lo, hi)`` -> codes of ``seq[lo:hi]``, N off its ends (a SpanReader)."""
    def read(lo, hi):
        out = np.full(hi - lo, 4, dtype=np.uint8)
        a, b = max(lo, 0), min(hi, len(seq))
        if b > a:
            out[a - lo:b - lo] = encode(seq[a:b])
        return out

    return read


read_seq = reader(SEQ)


def read_region(lo, hi, strand):
    """A fake annotation: class = position // 5 + 1 on '+', 7 - position // 5 on '-'."""
    pos = np.arange(lo, hi)
    codes = pos // 5 + 1 if strand == "+" else 7 - pos // 5
    return np.where((pos < 0) | (pos >= len(SEQ)), 0, codes).astype(np.int8)


def windows(starts, ends, blocks, strands, width, region_width=0):
    w = allele_windows(read_seq, len(SEQ), np.array(starts), np.array(ends), blocks,
                       np.array(strands), width, region_width, read_region)
    return w, [decode(row) for row in w.seq]


def test_snv_windows_on_both_strands():
    # SNV C>G at 0-based 10; window of 5 centered on it.
    _, seqs = windows([10, 10, 10, 10], [11, 11, 11, 11], [None, "G", None, "G"],
                      ["+", "+", "-", "-"], 5)
    assert seqs == ["AGCTT", "AGGTT", "AAGCT", "AACCT"]
    assert seqs[2] == reverse_complement("AGCTT")
    assert [s[2] for s in seqs] == ["C", "G", "G", "C"]  # center base at L // 2


def test_even_width_keeps_center_at_half_length():
    _, seqs = windows([10, 10], [11, 11], [None, None], ["+", "-"], 4)
    assert seqs == ["AGCT", "AAGC"]  # + [8, 12); - [9, 13) reverse complemented
    assert seqs[0][2] == "C" and seqs[1][2] == "G"


def test_deletion_windows():
    # Delete 'CT' at [10, 12): alt allele ...A8 G9 | T12 A13 C14...
    _, seqs = windows([10, 10, 10, 10], [12, 12, 12, 12], [None, "", None, ""],
                      ["+", "+", "-", "-"], 5)
    # ref +: center is the block's middle base (C10) -> [8, 13)
    # alt +: center is the first base after the junction (T12) -> A8 G9 T12 A13 C14
    # ref -: center is T11 (the block's 5' base on '-') -> [9, 14) reverse complemented
    # alt -: center is G9 (first base 3' of the junction on '-') -> A7 A8 G9 T12 A13, rc
    assert seqs == ["AGCTT", "AGTAC", "TAAGC", "TACTT"]


def test_insertion_windows():
    # Insert 'GG' between G9 and C10: alt allele ...A8 G9 G G C10 T11...
    _, seqs = windows([10, 10, 10, 10], [10, 10, 10, 10], [None, "GG", None, "GG"],
                      ["+", "+", "-", "-"], 5)
    assert seqs == ["AGCTT", "AGGGC", "AGCTT", "AGCCC"]


def test_mnv_window():
    # GC at [9, 11) -> TT: block of 2 centered on its first base on '+', second on '-'.
    _, seqs = windows([9, 9], [11, 11], ["TT", "TT"], ["+", "-"], 5)
    assert seqs == ["AATTT", reverse_complement("ATTTT")]  # [7, 12) and [8, 13)


def test_contig_end_is_padded_and_flagged():
    w, seqs = windows([1, 18, 10], [2, 19, 11], [None, None, None], ["+", "-", "+"], 5)
    assert seqs[0] == "NACGT"
    assert seqs[1] == reverse_complement("GATCN")
    assert w.truncated.tolist() == [True, True, False]
    assert w.n_fraction.tolist() == pytest.approx([0.2, 0.2, 0.0])
    assert w.n_rich.tolist() == [True, True, False]


def test_region_windows_follow_the_allele_coordinates():
    # '+' classes: pos // 5 + 1 -> positions 8, 9 -> 2; 10..14 -> 3.
    w, _ = windows([10, 10], [12, 12], [None, ""], ["+", "+"], 5, region_width=5)
    assert w.region[0].tolist() == [2, 2, 3, 3, 3]          # genome [8, 13)
    assert w.region[1].tolist() == [2, 2, 3, 3, 3]          # 8, 9, 12, 13, 14
    # Deletion of [8, 11) crosses a class boundary: alt is 6 7 | 11 12 13.
    w, _ = windows([8], [11], [""], ["+"], 5, region_width=5)
    assert w.region[0].tolist() == [2, 2, 3, 3, 3]
    w, _ = windows([9], [11], [""], ["+"], 5, region_width=5)
    assert w.region[0].tolist() == [2, 2, 3, 3, 3]          # 7 8 | 11 12 13
    # Minus strand: classes 7 - pos // 5, reversed onto the transcript strand.
    w, _ = windows([10], [11], [None], ["-"], 5, region_width=5)
    assert w.region[0].tolist() == [5, 5, 5, 6, 6]          # genome [8, 13) reversed


def test_inserted_bases_take_the_class_five_prime_of_them():
    # Insert 'AAAAAA' before 0-based 10 on '+': 5' neighbour is 9 (class 2). The first
    # inserted base is at the centre, after the 5' flank A8 G9.
    w, seqs = windows([10], [10], ["AAAAAA"], ["+"], 5, region_width=5)
    assert seqs[0] == "AGAAA"
    assert w.region[0].tolist() == [2, 2, 2, 2, 2]
    # On '-' the 5' neighbour is genomic 10 (class 7 - 2 = 5).
    w, _ = windows([10], [10], ["AAAAAA"], ["-"], 5, region_width=5)
    assert w.region[0].tolist() == [5, 5, 5, 5, 5]


def test_allele_centers():
    c = allele_centers(np.array([10, 10, 10, 10, 10, 10]), np.array([1, 2, 3, 0, 2, 0]),
                       np.array(["+", "+", "+", "+", "-", "-"]))
    # the 5'-most base of the block on the transcript strand; 3' of an empty block
    assert c.tolist() == [10, 10, 10, 10, 11, 9]


def test_indel_alleles_share_the_5prime_flank_on_both_strands():
    # [10, 14) 'CTTA' deleted, and replaced by 'GGG'; windows of 7 (anchor at index 3).
    _, seqs = windows([10, 10, 10, 10], [14, 14, 14, 14], [None, "", None, "GGG"],
                      ["+", "+", "-", "-"], 7)
    # '+': 5' flank A7 A8 G9 for both; then ref C10 T11 T12 A13, alt C14 G15 G16 A17
    assert seqs[:2] == ["AAGCTTA", "AAGCGGA"]
    # '-': 5' flank is genomic C14 G15 G16 (rc CCG); ref anchor A13, genome [10, 17);
    # alt anchor the last G, allele G9 GGG C14 G15 G16
    assert seqs[2:] == [reverse_complement("CTTACGG"), reverse_complement("GGGGCGG")]
    assert seqs[2][:3] == seqs[3][:3] == "CCG"


def test_gather_spans_reads_far_apart_rows_separately():
    calls = []

    def read(lo, hi):
        calls.append((lo, hi))
        return np.arange(lo, hi)

    pos = np.array([[5, 6], [10_000_000, 10_000_001], [7, 8]])
    out = gather_spans(read, pos, -1, np.int64, gap=100)
    assert out.tolist() == pos.tolist()
    assert calls == [(5, 9), (10_000_000, 10_000_002)]


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 19), width=st.integers(1, 12), alt=st.sampled_from("ACGT"))
def test_minus_window_is_plus_window_of_the_reverse_complement_contig(start, width, alt):
    """Property: a '-' window on the contig equals the '+' window of the same allele on the
    reverse-complemented contig (where the center's coordinate is mirrored)."""
    rc = reverse_complement(SEQ)
    read_rc = reader(rc)

    minus = allele_windows(read_seq, len(SEQ), np.array([start]), np.array([start + 1]),
                           [alt], np.array(["-"]), width)
    mirrored = len(SEQ) - 1 - start
    plus = allele_windows(read_rc, len(SEQ), np.array([mirrored]), np.array([mirrored + 1]),
                          [reverse_complement(alt)], np.array(["+"]), width)
    assert decode(minus.seq[0]) == decode(plus.seq[0])
    assert decode(minus.seq[0])[width // 2] == reverse_complement(alt)
