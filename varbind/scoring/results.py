"""What scoring produces: per chunk (:class:`ChunkResult`, its formatted
:class:`RecordOutput`) and per run (:class:`RunSummary`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from varbind.model.inputs import WindowBatch

if TYPE_CHECKING:
    from varbind.scoring.units import Alleles, Units


@dataclass
class RunSummary:
    """What a run did. ``alleles`` counts every ALT of every record, and a missing ALT
    (``.``, status ``no_alt``) as one allele, so ``alleles_scored`` plus the counts of
    ``alleles_not_scored`` is ``alleles``."""

    records: int = 0
    records_scored: int = 0
    records_not_scored: dict = field(default_factory=dict)
    alleles: int = 0
    alleles_scored: int = 0
    alleles_not_scored: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    strands_scored: dict = field(default_factory=dict)
    windows: int = 0
    models: list = field(default_factory=list)
    rbps: int = 0
    seconds: float = 0.0
    variants_per_second: float = 0.0
    outputs: dict = field(default_factory=dict)
    top_effects: list = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """A few lines for the terminal."""
        lines = [f"records: {self.records} read, {self.records_scored} scored"
                 f" ({self.alleles_scored} of {self.alleles} alleles) with "
                 f"{len(self.models)} model(s), {self.rbps} RBPs in {self.seconds:.1f} s "
                 f"({self.variants_per_second:.0f} variants/s)"]
        if self.alleles_not_scored:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.alleles_not_scored.items()))
            lines.append(f"alleles not scored: {reasons}")
        if self.flags:
            lines.append("flagged: " + ", ".join(f"{k} {v}" for k, v in sorted(self.flags.items())))
        for eff in self.top_effects[:5]:
            lines.append(f"  {eff['chrom']}:{eff['pos']} {eff['ref']}>{eff['alt']} "
                         f"{eff['strand']} {eff['gene'] or '-'} {eff['rbp']} "
                         f"delta {eff['delta']:+.3f}")
        for kind, path in self.outputs.items():
            lines.append(f"{kind}: {path}")
        return "\n".join(lines)


@dataclass
class ChunkResult:
    """What one chunk produced; passed to ``on_chunk`` observers (e.g. attribution).

    records : the chunk's :class:`Record` objects, in input order
    alleles : :class:`varbind.scoring.units.Alleles`, one row per ALT
    units : :class:`varbind.scoring.units.Units`, one row per scored (allele, strand); the
        schemas are in :mod:`varbind.scoring.units`
    ref_windows, alt_windows : the windows the models saw (widest lengths of the set)
    scores : model name -> :class:`varbind.scoring.predict.AlleleScores`
    model_inputs : model name -> input arrays (ref rows then alt rows), built ahead in the
        prefetch thread and dropped once the models have run
    """

    records: list
    alleles: Alleles
    units: Units
    ref_windows: WindowBatch | None
    alt_windows: WindowBatch | None
    scores: dict
    model_inputs: dict | None = None


@dataclass
class RecordOutput:
    """Formatted INFO values per record and the table rows of a chunk.

    info : per record, INFO key -> formatted value
    table : rows with :data:`varbind.scoring.writers.TABLE_COLUMNS`
    allele_status : per allele (row of ``ChunkResult.alleles``), its VARBIND_STATUS value
    top : (|delta|, description) of the chunk's strongest effects
    """

    info: list[dict[str, str]]
    table: pd.DataFrame
    allele_status: list[str]
    top: list[tuple]
