"""What one scoring run is asked to do (:class:`ScoreOptions`) and the hooks by
which other stages (attribution) join a run (:class:`ScoreHooks`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from varbind.scoring.deltas import DEFAULT_EFFECT_THRESHOLD

if TYPE_CHECKING:
    from varbind.scoring.results import ChunkResult, RecordOutput


@dataclass
class ScoreOptions:
    """Everything one scoring run needs.

    vcf : input VCF, VCF.gz or BCF
    fasta : reference FASTA (plain or bgzip, indexed or indexable)
    models : a model bundle or a directory of bundles (a model set)
    output : annotated VCF to write (``.vcf`` or ``.vcf.gz``; bgzipped and indexed), or None
    table : per-allele table (``.tsv``, ``.tsv.gz`` or ``.parquet``), or None
    gtf : GTF/GFF3 annotation (strands, genes, region classes); None only with all_strands
    expression : expression table (needed by models with an expression input)
    rbps : RBP names to report, or None for every RBP of the set
    region : ``chrom``, ``chrom:start-end`` (1-based, inclusive) to score only that region,
        through the VCF's index
    batch_size : records per chunk and windows per model call; None: the device's
        (:func:`varbind.model.device.default_batch_size`: 1024 on a CPU, 8192 on a GPU)
    min_delta : VARBIND entries are written for |delta| >= this
    effect_threshold : |delta| from which Consequence is binding_loss / binding_gain
    strict : a REF mismatch (or unknown contig) stops the run with an error
    all_strands : score both strands of every variant, annotated or not
    cell_type : expression column; default each model's own cell line
    summary : JSON run summary; default ``<output>.summary.json`` (or beside the table)
    progress : show a tqdm progress bar on stderr
    command : the command line, for the provenance header
    annotation_cache : folder for the parsed-annotation cache (default: the index's own)
    """

    vcf: str | Path
    fasta: str | Path
    models: str | Path
    output: str | Path | None = None
    table: str | Path | None = None
    gtf: str | Path | None = None
    expression: str | Path | None = None
    rbps: list[str] | None = None
    region: str | None = None
    batch_size: int | None = 1024
    min_delta: float = 0.0
    effect_threshold: float = DEFAULT_EFFECT_THRESHOLD
    strict: bool = False
    all_strands: bool = False
    cell_type: str | None = None
    summary: str | Path | None = None
    progress: bool = False
    command: str = ""
    annotation_cache: str | Path | None = None


@dataclass
class ScoreHooks:
    """Ways for other stages (attribution) to join a scoring run without changing it.

    on_chunk : called with each scored :class:`ChunkResult` (windows, raw scores), before
        formatting
    on_output : called with the chunk and its :class:`RecordOutput` before writing; may add
        INFO values to ``out.info`` and columns to (or replace) ``out.table``
    header_lines : extra VCF header lines (``##INFO=<ID=...>`` for keys ``on_output`` adds)
    table_columns : extra table columns, written after :data:`varbind.scoring.writers.TABLE_COLUMNS`
    """

    on_chunk: Callable[[ChunkResult], None] | None = None
    on_output: Callable[[ChunkResult, RecordOutput], None] | None = None
    header_lines: list[str] = field(default_factory=list)
    table_columns: list[str] = field(default_factory=list)
