"""The typed tables of one chunk: its alleles (one per ALT) and its *units*.

A unit is one ALT allele on one strand: the thing a model scores (a reference window and an
alternate window). An allele gets one unit per strand it is scored on (the transcribed
strand(s), or both with ``all_strands``), none when it is not scored. Both tables hold
columns as NumPy arrays of one length (no DataFrame of Python objects).

:class:`Alleles` (A rows, in record then ALT order)

==========  ==========  ====================================================================
record      int64       row of the chunk's record list
alt_index   int64       index among the record's ALTs; -1 for a record without ALT
alt         object str  the ALT as written (``.`` for none)
status      object str  ``""`` when scorable, else why not (``ref_mismatch``, ...)
start, end  int64       normalised event span, 0-based half-open (-1 when not scorable)
inserted    object str  the bases that replace ``[start, end)`` (``""`` for a deletion)
==========  ==========  ====================================================================

:class:`Units` (U rows, by allele, then ``+`` before ``-``)

===========  ==========  ===================================================================
allele       int64       row of :class:`Alleles`
record       int64       row of the chunk's record list
alt_index    int64       index among the record's ALTs
chrom        object str  contig as the VCF names it
start, end   int64       the event span (0-based half-open)
strand       object str  ``+`` or ``-``
gene_id      object str  gene on that strand (``""`` outside genes)
gene_name    object str  its name (``""`` when none)
transcribed  bool        a gene is transcribed over the event on that strand
gene_row     int64       row of the annotation's gene table (-1: none; expression input)
gene_rows    int64 (U,C) the gene row chosen in each expression column C of the model set
                         (:attr:`varbind.scoring.scorer.Scorer.gene_columns` order)
region       object str  region class at the event's center (``varbind.encoding``)
ref_unit     int64       row of the reference window (units of one span and strand share it)
truncated    bool        a window ran off the contig (set with the windows)
n_rich       bool        a window has too many N (set with the windows)
long_indel   bool        an indel long against the smallest window (set with the windows)
===========  ==========  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from varbind.encoding import REGION_CLASSES
from varbind.genomics.genome import Genome
from varbind.genomics.variants import Record, Variant, classify_alt, normalize
from varbind.scoring.context import SiteContext
from varbind.scoring.windows import allele_centers


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _ints(values=()) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass
class Alleles:
    """One row per ALT allele of a chunk (schema in the module docstring)."""

    record: np.ndarray = field(default_factory=_ints)
    alt_index: np.ndarray = field(default_factory=_ints)
    alt: np.ndarray = field(default_factory=lambda: _objects([]))
    status: np.ndarray = field(default_factory=lambda: _objects([]))
    start: np.ndarray = field(default_factory=_ints)
    end: np.ndarray = field(default_factory=_ints)
    inserted: np.ndarray = field(default_factory=lambda: _objects([]))

    def __len__(self) -> int:
        return len(self.record)

    def scorable(self) -> np.ndarray:
        """(A,) bool: alleles with an event to score."""
        return self.status == ""


@dataclass
class Units:
    """One row per (allele, strand) to score (schema in the module docstring)."""

    allele: np.ndarray = field(default_factory=_ints)
    record: np.ndarray = field(default_factory=_ints)
    alt_index: np.ndarray = field(default_factory=_ints)
    chrom: np.ndarray = field(default_factory=lambda: _objects([]))
    start: np.ndarray = field(default_factory=_ints)
    end: np.ndarray = field(default_factory=_ints)
    strand: np.ndarray = field(default_factory=lambda: _objects([]))
    gene_id: np.ndarray = field(default_factory=lambda: _objects([]))
    gene_name: np.ndarray = field(default_factory=lambda: _objects([]))
    transcribed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    gene_row: np.ndarray = field(default_factory=_ints)
    gene_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    region: np.ndarray = field(default_factory=lambda: _objects([]))
    ref_unit: np.ndarray = field(default_factory=_ints)
    truncated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    n_rich: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    long_indel: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.allele)

    def take(self, rows) -> Units:
        """The units at ``rows`` (an index array or a boolean mask), every column."""
        return Units(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def reference_rows(self) -> np.ndarray:
        """(R,) the first unit of each reference window, in ``ref_unit`` order."""
        _, first = np.unique(self.ref_unit, return_index=True)
        return first


def build_alleles(records: list[Record], record_status: list[str | None],
                  genome: Genome) -> Alleles:
    """The alleles of ``records``: each ALT classified and, when scorable, normalised."""
    rec_i, alt_i, alts, statuses, starts, ends, inserted = [], [], [], [], [], [], []
    for i, rec in enumerate(records):
        if not rec.alts:
            rec_i.append(i), alt_i.append(-1), alts.append(".")
            statuses.append(record_status[i] or "no_alt")
            starts.append(-1), ends.append(-1), inserted.append("")
            continue
        for j, alt in enumerate(rec.alts):
            status = record_status[i] or classify_alt(rec.ref, alt)
            start = end = -1
            bases = ""
            if status is None:
                if len(rec.ref) == 1 and len(alt) == 1:  # SNV: nothing to normalise
                    start, end, bases = rec.start, rec.start + 1, alt
                else:
                    name = genome.resolve(rec.chrom)
                    event = normalize(Variant(rec.chrom, rec.pos, rec.ref, alt),
                                      lambda lo, hi, n=name: genome.fetch(n, lo, hi))
                    start, end, bases = event.start, event.end, event.inserted
            rec_i.append(i), alt_i.append(j), alts.append(alt)
            statuses.append(status or ""), starts.append(start), ends.append(end)
            inserted.append(bases)
    return Alleles(record=_ints(rec_i), alt_index=_ints(alt_i), alt=_objects(alts),
                   status=_objects(statuses), start=_ints(starts), end=_ints(ends),
                   inserted=_objects(inserted))


def build_units(records: list[Record], alleles: Alleles, annotation: SiteContext,
                all_strands: bool, gene_columns: list[str] = ()) -> Units:
    """The units of the scorable alleles; alleles that no strand covers get the status
    ``outside_transcript`` (in ``alleles``). ``gene_columns``: expression columns in which
    the gene of each unit is also chosen (``Units.gene_rows``)."""
    scorable = np.flatnonzero(alleles.scorable())
    parts: list[Units] = []
    outside = []
    chroms = [records[r].chrom for r in alleles.record[scorable]]
    for chrom, idx in group_by(scorable, chroms):
        idx = np.asarray(idx)
        positions = alleles.start[idx]
        sites = annotation.site_strands(chrom, positions, all_strands)
        covered = np.zeros(len(idx), dtype=bool)
        covered[sites.site] = True
        outside.extend(idx[~covered])
        if len(sites.site) == 0:
            continue
        starts = positions[sites.site]
        ends = alleles.end[idx][sites.site]
        centers = allele_centers(starts, ends - starts, sites.strand)
        region = annotation.region_at(chrom, centers, sites.strand)
        n = len(sites.site)
        parts.append(Units(
            allele=idx[sites.site], chrom=_objects([chrom] * n), start=starts, end=ends,
            strand=_objects(sites.strand), gene_id=_objects(sites.gene_id),
            gene_name=_objects(sites.gene_name), transcribed=np.asarray(sites.transcribed),
            gene_row=_ints(sites.gene_row),
            gene_rows=_gene_rows_per_column(annotation, chrom, starts, sites, gene_columns),
            region=np.asarray(REGION_CLASSES, dtype=object)[region]))
    if outside:
        alleles.status[np.asarray(outside)] = "outside_transcript"
    if not parts:
        return Units()
    units = _concat(parts)
    order = np.lexsort((units.strand == "-", units.allele))
    units = _with(units.take(order), record=alleles.record[units.allele[order]],
                  alt_index=alleles.alt_index[units.allele[order]])
    key = zip(units.chrom, units.start, units.end, units.strand, strict=True)
    ref_ids: dict = {}
    units.ref_unit = _ints([ref_ids.setdefault(k, len(ref_ids)) for k in key])
    return units


def _gene_rows_per_column(annotation: SiteContext, chrom: str, positions: np.ndarray, sites,
                          columns) -> np.ndarray:
    """(P, C) the gene chosen for each site in each expression column."""
    rows = [sites.gene_row if c == annotation.cell_type else
            annotation.gene_rows(chrom, positions, sites.strand, c) for c in columns]
    if not rows:
        return np.zeros((len(positions), 0), dtype=np.int64)
    return np.stack(rows, axis=1).astype(np.int64)


def group_by(items, keys) -> list[tuple[str, list]]:
    """``[(key, [items with that key])]`` in order of first appearance."""
    groups: dict[str, list] = {}
    for item, key in zip(items, keys, strict=True):
        groups.setdefault(key, []).append(item)
    return list(groups.items())


def _concat(parts: list[Units]) -> Units:
    names = [f.name for f in fields(Units)]
    n = sum(len(p) for p in parts)
    out = {}
    for name in names:
        arrays = [getattr(p, name) for p in parts]
        if all(len(a) == len(p) for a, p in zip(arrays, parts, strict=True)):
            out[name] = np.concatenate(arrays)
        else:  # filled after the concatenation
            out[name] = np.zeros(n, dtype=arrays[0].dtype)
    return Units(**out)


def _with(units: Units, **columns) -> Units:
    for name, values in columns.items():
        setattr(units, name, values)
    return units
