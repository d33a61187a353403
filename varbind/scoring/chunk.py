"""One chunk of records through the stages (:class:`ChunkScorer`): checks -> alleles
-> units (one allele on one strand) -> reference and alternate windows -> model inputs ->
scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from varbind.errors import InputFileError
from varbind.genomics.variants import Record
from varbind.model.inputs import WindowBatch
from varbind.scoring.cell_types import merge_run_scores
from varbind.scoring.checks import check_records, strict_message
from varbind.scoring.predict import BatchFunction, build_allele_inputs, forward, predict_built
from varbind.scoring.results import ChunkResult
from varbind.scoring.units import Alleles, Units, build_alleles, build_units, group_by
from varbind.scoring.windows import (
    LONG_INDEL_FRACTION,
    AlleleWindows,
    allele_windows,
)

if TYPE_CHECKING:
    from varbind.scoring.scorer import Scorer


class ChunkScorer:
    """Scores one chunk of records with a :class:`Scorer`'s inputs."""

    def __init__(self, scorer: Scorer, func: BatchFunction = forward):
        self.scorer = scorer
        self.func = func

    def alleles(self, records: list[Record], record_status: list[str | None]) -> Alleles:
        """The chunk's alleles (:func:`varbind.scoring.units.build_alleles`)."""
        return build_alleles(records, record_status, self.scorer.genome)

    def units(self, records: list[Record], alleles: Alleles) -> Units:
        """The chunk's units; marks alleles outside transcripts
        (:func:`varbind.scoring.units.build_units`)."""
        return build_units(records, alleles, self.scorer.context,
                           self.scorer.options.all_strands, self.scorer.gene_columns)

    def windows(self, units: Units, alleles: Alleles
                ) -> tuple[WindowBatch, WindowBatch, AlleleWindows, AlleleWindows]:
        """Reference windows (one per ref_unit) and alternate windows (one per unit)."""
        refs = units.take(units.reference_rows())
        inserted = list(alleles.inserted[units.allele])
        ref_w = self._allele_windows(refs, [None] * len(refs))
        alt_w = self._allele_windows(units, inserted)
        ref_batch = WindowBatch(seq=ref_w.seq, region=ref_w.region,
                                extra=self._gene_extra(refs))
        alt_batch = WindowBatch(seq=alt_w.seq, region=alt_w.region,
                                extra=self._gene_extra(units))
        return ref_batch, alt_batch, ref_w, alt_w

    def _gene_extra(self, units: Units) -> dict:
        """``gene_row`` and ``gene_row:<column>`` of each row (the expression inputs)."""
        extra = {"gene_row": units.gene_row}
        for j, column in enumerate(self.scorer.gene_columns):
            extra[f"gene_row:{column}"] = units.gene_rows[:, j]
        return extra

    def _allele_windows(self, units: Units, blocks: list) -> AlleleWindows:
        width, rwidth = self.scorer.widths["sequence"], self.scorer.widths.get("region", 0)
        n = len(units)
        seq = np.zeros((n, width), dtype=np.uint8)
        region = np.zeros((n, rwidth), dtype=np.int8) if rwidth else None
        truncated = np.zeros(n, dtype=bool)
        n_frac = np.zeros(n, dtype=np.float32)
        for chrom, rows in group_by(np.arange(n), units.chrom):
            rows = np.asarray(rows)
            name = self.scorer.genome.resolve(chrom)
            w = allele_windows(
                lambda lo, hi, nm=name: self.scorer.genome.fetch_codes(nm, lo, hi),
                self.scorer.genome.lengths[name], units.start[rows], units.end[rows],
                [blocks[r] for r in rows], units.strand[rows], width, rwidth,
                self.scorer.context.region_reader(chrom))
            seq[rows], truncated[rows], n_frac[rows] = w.seq, w.truncated, w.n_fraction
            if region is not None:
                region[rows] = w.region
        return AlleleWindows(seq=seq, region=region, truncated=truncated, n_fraction=n_frac)

    def prepare(self, records: list[Record]) -> ChunkResult:
        """Steps 1-3 (no model call): checks, alleles, strands, windows. ``scores`` empty."""
        status = check_records(self.scorer.genome, records)
        if self.scorer.options.strict:
            for rec, st in zip(records, status, strict=True):
                if st is not None:
                    raise InputFileError(strict_message(rec, st, self.scorer.genome),
                                         path=self.scorer.options.vcf,
                                         fix="is the VCF on the same build as the FASTA? "
                                             "Without --strict such records are marked and "
                                             "skipped")
        alleles = self.alleles(records, status)
        units = self.units(records, alleles)
        if len(units) == 0:
            return ChunkResult(records, alleles, units, None, None, {})
        ref_batch, alt_batch, ref_w, alt_w = self.windows(units, alleles)
        units.truncated = alt_w.truncated | ref_w.truncated[units.ref_unit]
        units.n_rich = alt_w.n_rich | ref_w.n_rich[units.ref_unit]
        units.long_indel = long_indels(units, alleles, self.scorer.min_window)
        inputs = build_allele_inputs(self.scorer.runs, ref_batch, alt_batch,
                                     prepare=self.scorer.model_batch)
        return ChunkResult(records, alleles, units, ref_batch, alt_batch, {}, inputs)

    def predict(self, result: ChunkResult) -> ChunkResult:
        """Step 4: every model on the chunk's windows (fills ``result.scores``)."""
        if result.ref_windows is not None:
            if result.model_inputs is None:
                result.model_inputs = build_allele_inputs(
                    self.scorer.runs, result.ref_windows, result.alt_windows,
                    prepare=self.scorer.model_batch)
            scores = predict_built(self.scorer.runs, result.model_inputs,
                                   len(result.ref_windows),
                                   batch_size=self.scorer.options.batch_size, func=self.func)
            result.scores = merge_run_scores(self.scorer.bundles, self.scorer.runs, scores)
            result.model_inputs = None  # the arrays are large; the windows stay
        return result

    def __call__(self, records: list[Record]) -> ChunkResult:
        return self.predict(self.prepare(records))


def long_indels(units: Units, alleles: Alleles, window: int) -> np.ndarray:
    """(U,) bool: the unit's event is an indel whose longer allele exceeds
    :data:`varbind.scoring.windows.LONG_INDEL_FRACTION` of ``window`` (the smallest sequence
    window of the set)."""
    ref_len = units.end - units.start
    alt_len = np.array([len(b) for b in alleles.inserted[units.allele]], dtype=np.int64)
    return (ref_len != alt_len) & (np.maximum(ref_len, alt_len) > LONG_INDEL_FRACTION * window)
