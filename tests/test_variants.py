"""Variant types, ALT classification and normalisation, worked out by hand."""

import pytest

from varbind.genomics.variants import (
    Event,
    Record,
    Variant,
    classify_alt,
    event_to_vcf,
    left_align,
    normalize,
    to_event,
)

#          0123456789
REPEAT = "TTCACACAGG"


def fetch(start, end):
    """Reference of the CA-repeat contig; off the contig reads as N."""
    return "".join(REPEAT[i] if 0 <= i < len(REPEAT) else "N" for i in range(start, end))


def test_record_coordinates_are_one_based_pos_and_zero_based_start():
    rec = Record("chr1", 10, "rs1", "CAT", ("C", "G"))
    assert (rec.start, rec.end) == (9, 12)
    assert [v.alt for v in rec.variants()] == ["C", "G"]
    assert rec.variants()[0] == Variant("chr1", 10, "CAT", "C")


def test_record_from_cyvcf(tmp_path):
    from cyvcf2 import VCF

    path = tmp_path / "x.vcf"
    path.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                    "chr1\t5\trs7\tac\tg,<DEL>\t.\t.\t.\n"
                    "chr1\t9\t.\tA\t.\t.\t.\t.\n")
    recs = [Record.from_cyvcf(r) for r in VCF(str(path))]
    assert recs[0] == Record("chr1", 5, "rs7", "AC", ("G", "<DEL>"))
    assert recs[1] == Record("chr1", 9, ".", "A", ())


@pytest.mark.parametrize("ref,alt,status", [
    ("A", "<DEL>", "symbolic_allele"),
    ("A", "<INS:ME>", "symbolic_allele"),
    ("A", "A[chr2:500[", "symbolic_allele"),
    ("A", ".A", "symbolic_allele"),
    ("A", "*", "spanning_deletion"),
    ("A", ".", "no_alt"),
    ("A", "R", "invalid_allele"),
    ("AX", "A", "invalid_allele"),
    ("AC", "AC", "ref_equals_alt"),
    ("A", "G", None),
    ("ACG", "A", None),
    ("A", "N", None),
])
def test_classify_alt(ref, alt, status):
    assert classify_alt(ref, alt) == status


@pytest.mark.parametrize("pos,ref,alt,event,kind", [
    (5, "A", "G", Event("c", 4, 5, "G"), "snv"),
    (5, "AC", "GT", Event("c", 4, 6, "GT"), "mnv"),
    (5, "ACG", "ATG", Event("c", 5, 6, "T"), "snv"),       # shared bases trimmed
    (10, "CAT", "C", Event("c", 10, 12, ""), "deletion"),
    (10, "C", "CAT", Event("c", 10, 10, "AT"), "insertion"),
    (10, "CAT", "GC", Event("c", 9, 12, "GC"), "complex"),
])
def test_to_event_trims_shared_bases(pos, ref, alt, event, kind):
    v = Variant("c", pos, ref, alt)
    assert to_event(v) == event
    assert v.kind == kind


def test_left_align_deletion_through_a_repeat():
    # Deleting 'AC' at 0-based 5-6 equals deleting 'CA' at 2-3: TT|CA|CACAGG.
    v = Variant("c", 6, "ACA", "A")  # POS 6 is A (0-based 5)
    ev = normalize(v, fetch)
    assert ev == Event("c", 2, 4, "")
    assert fetch(0, 2) + fetch(4, 10) == fetch(0, 5) + fetch(7, 10)  # same alt sequence
    assert event_to_vcf(ev, fetch) == Variant("c", 2, "TCA", "T")


def test_left_align_insertion_through_a_repeat():
    v = Variant("c", 8, "A", "ACA")  # insert 'AC' before 0-based 7
    ev = normalize(v, fetch)
    assert ev == Event("c", 2, 2, "CA")
    assert "TT" + "CA" + REPEAT[2:] == REPEAT[:7] + "AC" + REPEAT[7:]
    assert event_to_vcf(ev, fetch) == Variant("c", 2, "T", "TCA")


def test_left_align_stops_at_contig_start_and_leaves_substitutions():
    # Deleting the first T of 'TT' shifts to position 0 and stops there.
    assert left_align(Event("c", 1, 2, ""), fetch) == Event("c", 0, 1, "")
    assert event_to_vcf(Event("c", 0, 1, ""), fetch) == Variant("c", 1, "TT", "T")
    snv = Event("c", 5, 6, "G")
    assert left_align(snv, fetch) == snv


def test_left_align_does_not_cross_n():
    seq = "ANNAAT"

    def fetch_n(s, e):
        return seq[s:e]

    assert left_align(Event("c", 4, 5, ""), fetch_n) == Event("c", 3, 4, "")
