"""Record checks against the FASTA: unknown contig, off the contig end, REF mismatch."""

from __future__ import annotations

import re

import numpy as np

from varbind.encoding import encode
from varbind.genomics.genome import Genome
from varbind.genomics.variants import Record, classify_alt
from varbind.scoring.windows import (
    gather_spans,
)

#: ALT classes that are not sequence: a record with only these ALTs is not REF-checked
#: (symbolic SV records often write REF as N).
NOT_SEQUENCE = frozenset({"symbolic_allele", "spanning_deletion", "no_alt"})

#: REFs up to this length are checked together as one (records x length) matrix; longer ones
#: one at a time, so memory stays flat whatever the allele lengths.
SHORT_REF = 64


def check_records(genome: Genome, records: list[Record]) -> list[str | None]:
    """Per record: ``unknown_contig``, ``off_contig``, ``ref_mismatch`` or None (fine).

    Records whose ALTs are all symbolic, ``*`` or ``.`` are not REF-checked."""
    out: list[str | None] = [None] * len(records)
    by_contig: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        name = genome.resolve(rec.chrom)
        if name is None:
            out[i] = "unknown_contig"
        elif rec.start < 0 or rec.end > genome.lengths[name]:
            out[i] = "off_contig"
        elif not rec.ref or not re.fullmatch(r"[ACGTN]+", rec.ref):
            continue  # the alleles report invalid_allele
        elif all(classify_alt(rec.ref, alt) in NOT_SEQUENCE for alt in rec.alts):
            continue  # nothing to score, nothing to check
        elif len(rec.ref) > SHORT_REF:
            found = genome.fetch_codes(name, rec.start, rec.end)
            if not np.array_equal(found, encode(rec.ref)):
                out[i] = "ref_mismatch"
        else:
            by_contig.setdefault(name, []).append(i)
    for name, rows in by_contig.items():
        width = max(len(records[i].ref) for i in rows)
        starts = np.array([records[i].start for i in rows], dtype=np.int64)
        positions = starts[:, None] + np.arange(width)[None, :]
        bases = gather_spans(lambda lo, hi, n=name: genome.fetch_codes(n, lo, hi),
                             positions, 4, np.uint8)
        for j, i in enumerate(rows):
            ref = records[i].ref
            if not np.array_equal(bases[j, :len(ref)], encode(ref)):
                out[i] = "ref_mismatch"
    return out


def strict_message(rec: Record, status: str, genome: Genome) -> str:
    where = f"{rec.chrom}:{rec.pos}"
    if status == "ref_mismatch":
        found = genome.fetch(rec.chrom, rec.start, rec.end)
        return f"REF mismatch at {where} (VCF {rec.ref}, genome {found})"
    if status == "unknown_contig":
        return f"contig {rec.chrom!r} at {where} is not in the FASTA"
    return f"{where} lies beyond the end of contig {rec.chrom!r}"
