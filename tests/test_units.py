"""varbind.scoring.units: the typed allele and unit tables of a chunk."""

from dataclasses import fields

import numpy as np

from varbind.genomics.genome import Genome
from varbind.genomics.variants import Record
from varbind.scoring.context import SiteContext
from varbind.scoring.units import Alleles, Units, build_alleles, build_units

SEQ = "ACGTTGCAAC" * 20  # 200 nt


def _genome(tmp_path) -> Genome:
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + SEQ + "\n")
    return Genome(fasta)


def _records() -> list[Record]:
    return [Record("chr1", 11, ".", "A", ("G", "<DEL>")),   # SNV + symbolic ALT
            Record("chr1", 21, ".", "AC", ("A",)),          # deletion of C
            Record("chr1", 31, ".", "A", ()),               # no ALT
            Record("chr1", 41, ".", "T", ("C",))]           # REF mismatch (flagged below)


def test_alleles_are_typed_columns_with_empty_status_for_scorable(tmp_path):
    records = _records()
    alleles = build_alleles(records, [None, None, None, "ref_mismatch"], _genome(tmp_path))
    assert len(alleles) == 5
    assert alleles.record.dtype == np.int64 and alleles.record.tolist() == [0, 0, 1, 2, 3]
    assert alleles.alt_index.tolist() == [0, 1, 0, -1, 0]
    assert alleles.alt.tolist() == ["G", "<DEL>", "A", ".", "C"]
    assert alleles.status.dtype == object
    assert alleles.status.tolist() == ["", "symbolic_allele", "", "no_alt", "ref_mismatch"]
    assert alleles.scorable().tolist() == [True, False, True, False, False]
    # the SNV replaces [10, 11) by G; the deletion removes the C at 0-based 21
    assert (alleles.start[0], alleles.end[0], alleles.inserted[0]) == (10, 11, "G")
    assert (alleles.start[2], alleles.end[2], alleles.inserted[2]) == (21, 22, "")
    assert alleles.start[1] == alleles.end[1] == -1 and alleles.inserted[1] == ""


def test_units_one_per_allele_and_strand_sharing_reference_windows(tmp_path):
    records = _records()
    alleles = build_alleles(records, [None] * 4, _genome(tmp_path))
    units = build_units(records, alleles, SiteContext(), all_strands=True)
    scorable = np.flatnonzero(alleles.scorable())
    assert units.allele.tolist() == np.repeat(scorable, 2).tolist()
    assert units.strand.tolist() == ["+", "-"] * len(scorable)
    assert units.record.tolist() == alleles.record[units.allele].tolist()
    assert all(len(getattr(units, f.name)) == len(units) for f in fields(Units))
    assert units.start.dtype == np.int64 and units.strand.dtype == object
    assert not units.transcribed.any() and (units.gene_row == -1).all()
    # one reference window per (span, strand): every unit here has its own
    assert units.ref_unit.tolist() == list(range(len(units)))
    assert units.reference_rows().tolist() == list(range(len(units)))
    minus = units.take(units.strand == "-")
    assert len(minus) == len(scorable) and set(minus.strand) == {"-"}


def test_alleles_no_strand_covers_are_marked_outside_transcripts(tmp_path):
    records = _records()[:2]
    alleles = build_alleles(records, [None, None], _genome(tmp_path))
    units = build_units(records, alleles, SiteContext(), all_strands=False)
    assert len(units) == 0 and isinstance(units, Units)
    assert alleles.status.tolist() == ["outside_transcript", "symbolic_allele",
                                       "outside_transcript"]
    assert isinstance(alleles, Alleles)
