"""Score a VCF: every allele's windows on its transcribed strand(s) through every model.

:func:`score_vcf` is the one function that does the work (the CLI and the Dask layer both call
it). It streams the VCF in chunks of ``batch_size`` records, so memory does not grow with the
number of variants, and for each chunk:

1. reads the records (:mod:`varbind.variants`), checks contig, position and REF against the
   FASTA and classifies ALTs that are not sequence;
2. normalises each ALT to an event and finds its strand(s), gene and expression
   (:mod:`varbind.context`);
3. builds reference windows (one per distinct event span and strand, shared by the ALTs) and
   alternate windows with their region classes (:mod:`varbind.windows`);
4. runs every model on them in batches (:mod:`varbind.predict`) and takes deltas
   (:mod:`varbind.deltas`);
5. writes the annotated VCF and the table (:mod:`varbind.writers`).

Steps 1-3 run in a background thread for the next chunk while the models run on this one,
and step 5 in a writer thread, so the model is rarely idle (see
``tests/benchmarks/bench_score.py``). Output order is input order.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from varbind import __version__
from varbind.context import Annotation
from varbind.contig_names import check_annotation_contigs
from varbind.deltas import DEFAULT_EFFECT_THRESHOLD, compute_deltas, consequence
from varbind.encoding import REGION_CLASSES, encode
from varbind.errors import InputFileError, ModelBundleError, VarbindError
from varbind.files import atomic_output, file_digest
from varbind.genome import ContigResolver, Genome
from varbind.inputs import WindowBatch, crop_center, required_lengths
from varbind.model.rna_graph import add_pairs
from varbind.predict import BatchFunction, build_allele_inputs, forward, predict_built
from varbind.variants import Event, Record, Variant, classify_alt, normalize
from varbind.windows import (
    N_RICH_FRACTION,
    AlleleWindows,
    allele_centers,
    allele_windows,
    gather_spans,
)
from varbind.writers import (
    TABLE_COLUMNS,
    TableWriter,
    VcfWriter,
    info_escape_all,
    table_kind,
    vcf_kind,
)

log = logging.getLogger(__name__)

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
    batch_size : records per chunk and windows per model call
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
    batch_size: int = 1024
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
class RunSummary:
    """What a run did. Counts of alleles by reason include every ALT of every record."""

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
                 f" ({self.alleles_scored} of {self.alleles} ALT alleles) with "
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
    alleles : DataFrame, one row per ALT (record, alt_index, status, event)
    units : DataFrame, one row per scored (allele, strand): record, alt_index, strand, gene,
        region, ref_unit, flags
    ref_windows, alt_windows : the windows the models saw (widest lengths of the set)
    scores : model name -> :class:`varbind.predict.AlleleScores`
    model_inputs : model name -> input arrays (ref rows then alt rows), built ahead in the
        prefetch thread and dropped once the models have run
    """

    records: list
    alleles: pd.DataFrame
    units: pd.DataFrame
    ref_windows: WindowBatch | None
    alt_windows: WindowBatch | None
    scores: dict
    model_inputs: dict | None = None


@dataclass
class ScoreHooks:
    """Ways for other stages (attribution) to join a scoring run without changing it.

    on_chunk : called with each scored :class:`ChunkResult` (windows, raw scores), before
        formatting
    on_output : called with the chunk and its :class:`RecordOutput` before writing; may add
        INFO values to ``out.info`` and columns to (or replace) ``out.table``
    header_lines : extra VCF header lines (``##INFO=<ID=...>`` for keys ``on_output`` adds)
    table_columns : extra table columns, written after :data:`varbind.writers.TABLE_COLUMNS`
    """

    on_chunk: Callable[[ChunkResult], None] | None = None
    on_output: Callable[[ChunkResult, RecordOutput], None] | None = None
    header_lines: list[str] = field(default_factory=list)
    table_columns: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- set-up


class Scorer:
    """Loaded inputs of one run: genome, annotation, models and the widths they need."""

    def __init__(self, options: ScoreOptions):
        self.options = options
        if options.batch_size < 1:
            raise VarbindError(f"--batch-size must be at least 1, got {options.batch_size}")
        self.genome = Genome(options.fasta)
        self.annotation = self._load_annotation()
        self.bundles = self._load_models()
        self.widths = self._widths()
        self.cell_types = self._cell_types()
        if self.annotation.cell_type is None:  # used to choose among overlapping genes
            self.annotation.cell_type = next(iter(self.cell_types.values()), None)
        self.labels = self._rbp_labels()
        self._structure = None
        self._pairs = None

    def _load_annotation(self) -> Annotation:
        opts = self.options
        index = expression = None
        if opts.gtf is not None:
            from varbind.annotations.index import AnnotationIndex

            path = Path(opts.gtf)
            if not path.exists():
                raise InputFileError("annotation file not found", path=path,
                                     fix="pass --gtf with an existing GTF/GFF3")
            index = AnnotationIndex.from_gtf(path, cache_dir=opts.annotation_cache)
        elif not opts.all_strands:
            raise VarbindError("no annotation given: varbind needs the transcribed strand of "
                               "each variant", fix="pass --gtf GTF (or --all-strands to score "
                                                   "both strands without one)")
        if opts.expression is not None:
            from varbind.annotations.expression import ExpressionTable

            path = Path(opts.expression)
            if not path.exists():
                raise InputFileError("expression table not found", path=path,
                                     fix="pass --expression with an existing TSV/CSV")
            expression = ExpressionTable.read(path)
            if opts.cell_type is not None and opts.cell_type not in expression.cell_types:
                raise VarbindError(f"--cell-type {opts.cell_type!r} is not a column of "
                                   f"{path}", fix="choose from: "
                                   + ", ".join(expression.cell_types))
        return Annotation(index, expression, cell_type=opts.cell_type)

    def _load_models(self) -> list:
        from varbind.bundle import load_model_set

        rbps = self.options.rbps
        bundles = load_model_set(self.options.models, rbps=rbps)
        if not bundles:
            raise ModelBundleError("the model set is empty", path=self.options.models,
                                   fix="pass a bundle or a directory of bundles")
        for b in bundles:
            kinds = {c.kind for s in b.meta.inputs for c in s.components}
            if "region" in kinds and self.annotation.index is None:
                raise VarbindError(f"model {b.name} needs region classes",
                                   fix="pass --gtf with the annotation")
            if "expression" in kinds and self.annotation.expression is None:
                raise VarbindError(f"model {b.name} needs gene expression",
                                   fix="pass --expression with a TPM table")
            if b.meta.strand != "transcript":
                raise ModelBundleError(f"strand convention {b.meta.strand!r} is not supported",
                                       path=b.path, fix="set \"strand\": \"transcript\"")
        return bundles

    def _widths(self) -> dict[str, int]:
        need: dict[str, int] = {"sequence": 1, "region": 0}
        for b in self.bundles:
            for kind, length in required_lengths(b.meta.inputs).items():
                need[kind] = max(need.get(kind, 0), length)
        return need

    def _cell_types(self) -> dict[str, str | None]:
        """Expression column per model: --cell-type, else the model's cell line if the table
        has it, else the table's first column."""
        table = self.annotation.expression
        out: dict[str, str | None] = {}
        for b in self.bundles:
            if table is None:
                out[b.name] = None
            elif self.options.cell_type:
                out[b.name] = self.options.cell_type
            elif b.meta.cell_line in table.cell_types:
                out[b.name] = b.meta.cell_line
            else:
                out[b.name] = table.cell_types[0]
                if any(c.kind == "expression" for s in b.meta.inputs for c in s.components):
                    log.warning("model %s was trained on %s, which the expression table lacks;"
                                " using %s (set --cell-type)", b.name, b.meta.cell_line,
                                out[b.name])
        return out

    def _rbp_labels(self) -> dict[str, list[tuple[int, str, str]]]:
        """Per model: (output column, RBP, label) of every reported RBP. The label is the RBP
        name, or ``RBP@model`` when several models of the set predict that RBP."""
        wanted = set(self.options.rbps) if self.options.rbps else None
        counts = Counter(r for b in self.bundles for r in b.meta.rbps
                         if wanted is None or r in wanted)
        out = {}
        for b in self.bundles:
            out[b.name] = [(k, r, r if counts[r] == 1 else f"{r}@{b.name}")
                           for k, r in enumerate(b.meta.rbps) if wanted is None or r in wanted]
        return out

    def with_options(self, options: ScoreOptions) -> Scorer:
        """This scorer's loaded inputs under ``options`` that differ only in what is not
        loaded (region, outputs, thresholds): a shallow copy."""
        import copy

        other = copy.copy(self)
        other.options = options
        return other

    @property
    def n_rbps(self) -> int:
        return sum(len(v) for v in self.labels.values())

    # -- provenance

    def header_lines(self) -> list[str]:
        """Provenance header lines; run-specific ones start with ``##varbind_run``."""
        opts = self.options
        lines = self.provenance_lines()
        lines.append(f"##varbind_parameters=<MinDelta={opts.min_delta},"
                     f"EffectThreshold={opts.effect_threshold},AllStrands={opts.all_strands},"
                     f"Strict={opts.strict},NRichFraction={N_RICH_FRACTION},"
                     f"Region={opts.region or '.'}>")
        if opts.command:
            lines.append(f"##varbind_runCommand={opts.command}")
        lines.append(f"##varbind_runDate={time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
        return lines

    def provenance_lines(self) -> list[str]:
        """What the results come from: varbind version, reference, annotation and expression
        digests, and each model's name, hash and settings (``##key=value`` lines)."""
        opts = self.options
        fai = Path(str(self.genome.path) + ".fai")
        lines = [f"##varbind_version={__version__}",
                 f"##varbind_reference=<File={_hval(self.genome.path.name)},"
                 f"Contigs={len(self.genome.lengths)},"
                 f"FaiHash={file_digest(fai) if fai.exists() else '.'}>"]
        if opts.gtf is not None:
            lines.append(f"##varbind_annotation=<File={_hval(Path(opts.gtf).name)},"
                         f"Hash={file_digest(opts.gtf)}>")
        if opts.expression is not None:
            lines.append(f"##varbind_expression=<File={_hval(Path(opts.expression).name)},"
                         f"Hash={file_digest(opts.expression)}>")
        for b in self.bundles:
            m = b.meta
            rbps = "/".join(lab for _, _, lab in self.labels[b.name])
            lines.append(f"##varbind_model=<ID={_hval(b.name)},Hash={b.digest},"
                         f"Architecture={_hval(m.architecture)},Output={_hval(m.output)},"
                         f"Window={m.window},CellLine={_hval(m.cell_line)},"
                         f"ExpressionColumn={_hval(self.cell_types[b.name] or '.')},"
                         f"GenomeBuild={_hval(m.genome_build)},RBPs={_hval(rbps)}>")
        return lines

    # -- per-model inputs

    def prepare(self, bundle, batch: WindowBatch) -> WindowBatch:
        """The batch as ``bundle`` needs it: its cell type's expression, its structure."""
        kinds = {c.kind for s in bundle.meta.inputs for c in s.components}
        expression = structure = None
        if "expression" in kinds:
            expression = self.annotation.expression_at(batch.extra["gene_row"],
                                                       self.cell_types[bundle.name])
        if "structure" in kinds:
            structure = self._fold(batch.seq, required_lengths(bundle.meta.inputs)["structure"])
        prepared = WindowBatch(seq=batch.seq, region=batch.region, expression=expression,
                               structure=structure, extra=batch.extra)
        if "pairs" in kinds:  # ref and alt windows each folded: RNASSR-Net's graph
            if self._pairs is None:
                from varbind.model.rna_graph import PairFolder, default_cache_dir

                self._pairs = PairFolder(cache_dir=default_cache_dir(), processes=1)
            add_pairs(bundle.meta.inputs, prepared, self._pairs)
        return prepared

    def _fold(self, seq: np.ndarray, length: int) -> np.ndarray:
        """RNAplfold profiles of each model's own window, padded back to the full width."""
        if self._structure is None:
            from varbind.model.structure import StructureProfiler

            self._structure = StructureProfiler()
        profiles = self._structure.profiles(crop_center(seq, length))
        out = np.zeros(seq.shape + (2,), dtype=np.float32)
        lo = seq.shape[1] // 2 - length // 2
        out[:, lo:lo + length] = profiles
        return out


def _hval(value) -> str:
    """A value for a structured header line (``<Key=value,...>``), quoted when needed."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_.:/@+\-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- reading


_REGION = re.compile(r"^(\{[^}]+\}|[^:\s]+)(?::(\d[\d,]*)(?:-(\d[\d,]*))?)?$")


def parse_region(region: str, contigs: list[str]) -> str:
    """A region string in the VCF's contig naming, checked (``chr1``, ``chr1:100-200``).

    Contigs whose names hold ``:`` (HLA alleles) are written in braces, as htslib reads them:
    ``{HLA-A*01:01:01:01}:1-500``.
    """
    m = _REGION.match(region.strip())
    if not m:
        raise VarbindError(f"--region {region!r} is not a region",
                           fix="write chrom, chrom:start or chrom:start-end (1-based)")
    chrom, start, end = m.group(1).strip("{}"), m.group(2), m.group(3)
    name = ContigResolver(contigs).resolve(chrom) if contigs else chrom
    if name is None:
        raise VarbindError(f"--region contig {chrom!r} is not in the VCF",
                           fix=f"choose from: {', '.join(contigs[:10])}")
    if start is None:
        return name
    s = int(start.replace(",", ""))
    e = int(end.replace(",", "")) if end else None
    if s < 1 or (e is not None and e < s):
        raise VarbindError(f"--region {region!r} has an empty or invalid span",
                           fix="use 1-based start <= end")
    if ":" in name:
        name = f"{{{name}}}"
    return f"{name}:{s}-{e}" if e is not None else f"{name}:{s}"


def open_vcf(path: str | Path):
    """Open a VCF/VCF.gz/BCF with cyvcf2, with htslib's own messages silenced."""
    import cyvcf2
    from cyvcf2.cyvcf2 import set_htslib_log_level

    set_htslib_log_level(0)  # errors are reported by varbind, on one line
    path = Path(path)
    if not path.exists():
        raise InputFileError("VCF not found", path=path, fix="check the path")
    try:
        return cyvcf2.VCF(str(path), lazy=True, threads=1)
    except (OSError, ValueError, Exception) as exc:
        raise InputFileError(f"cannot read as VCF/BCF ({exc})", path=path,
                             fix="check it is VCF, bgzipped VCF or BCF with a #CHROM header") \
            from None


def iter_records(vcf, path, region: str | None) -> Iterator:
    """cyvcf2 records of the file or of one region, with parse errors made one-line."""
    if region is not None:
        try:
            it = vcf(region)
        except Exception as exc:
            raise InputFileError(f"cannot query region {region} ({exc})", path=path,
                                 fix="index the VCF (tabix -p vcf, or bcftools index) or "
                                     "drop --region") from None
    else:
        it = iter(vcf)
    n = 0
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as exc:
            if region is not None and n == 0 and "index" in str(exc):
                raise InputFileError(f"cannot query region {region} (no index)", path=path,
                                     fix="index the VCF (tabix -p vcf, or bcftools index) or "
                                         "drop --region") from None
            line = _bad_line(path, n) if region is None else ""
            where = f"record {n + 1}" + (f" ({line})" if line else "")
            raise InputFileError(f"malformed VCF {where}: {exc}", path=path,
                                 fix="fix or remove the record (bcftools view reports it "
                                     "too)") from None
        n += 1
        yield rec


def _bad_line(path, n_good: int) -> str:
    """First 60 characters of the data line after ``n_good`` good records (text VCF only)."""
    from varbind.files import open_text

    try:
        with open_text(path) as fh:
            seen = 0
            for line in fh:
                if line.startswith("#"):
                    continue
                if seen == n_good:
                    text = line.rstrip("\n").replace("\t", " ")
                    return text[:60] + ("..." if len(text) > 60 else "")
                seen += 1
    except (OSError, UnicodeDecodeError, EOFError):
        return ""
    return ""


def chunks(iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- one chunk


def check_records(genome: Genome, records: list[Record]) -> list[str | None]:
    """Per record: ``unknown_contig``, ``off_contig``, ``ref_mismatch`` or None (fine)."""
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


class ChunkScorer:
    """Scores one chunk of records with a :class:`Scorer`'s inputs."""

    def __init__(self, scorer: Scorer, func: BatchFunction = forward):
        self.s = scorer
        self.func = func

    def alleles(self, records: list[Record], record_status: list[str | None]) -> pd.DataFrame:
        """One row per ALT: record, alt_index, alt, status (None = scorable), event."""
        rec_i, alt_i, alts, statuses, events = [], [], [], [], []
        genome = self.s.genome
        for i, rec in enumerate(records):
            if not rec.alts:
                rec_i.append(i), alt_i.append(-1), alts.append(".")
                statuses.append(record_status[i] or "no_alt"), events.append(None)
                continue
            for j, alt in enumerate(rec.alts):
                status = record_status[i] or classify_alt(rec.ref, alt)
                event = None
                if status is None:
                    if len(rec.ref) == 1 and len(alt) == 1:  # SNV: nothing to normalise
                        event = Event(rec.chrom, rec.start, rec.start + 1, alt)
                    else:
                        name = genome.resolve(rec.chrom)
                        event = normalize(Variant(rec.chrom, rec.pos, rec.ref, alt),
                                          lambda lo, hi, n=name: genome.fetch(n, lo, hi))
                rec_i.append(i), alt_i.append(j), alts.append(alt)
                statuses.append(status), events.append(event)
        return pd.DataFrame({"record": np.array(rec_i, dtype=np.int64),
                             "alt_index": np.array(alt_i, dtype=np.int64),
                             "alt": np.array(alts, dtype=object),
                             "status": np.array(statuses, dtype=object),
                             "event": np.array(events, dtype=object)})

    def units(self, records: list[Record], alleles: pd.DataFrame) -> pd.DataFrame:
        """One row per scorable (allele, strand); marks alleles outside transcripts."""
        status = alleles["status"].to_numpy()
        event_col = alleles["event"].to_numpy()
        record_col = alleles["record"].to_numpy()
        scorable = np.array([i for i, st in enumerate(status) if not isinstance(st, str)],
                            dtype=np.int64)
        parts = []
        outside = []
        for chrom, idx in _group_by(scorable, [records[r].chrom for r in record_col[scorable]]):
            idx = np.asarray(idx)
            events: list[Event] = list(event_col[idx])
            positions = np.array([e.start for e in events], dtype=np.int64)
            sites = self.s.annotation.site_strands(chrom, positions, self.s.options.all_strands)
            covered = np.zeros(len(idx), dtype=bool)
            covered[sites.site] = True
            outside.extend(idx[~covered])
            if len(sites.site) == 0:
                continue
            starts = positions[sites.site]
            ends = np.array([events[k].end for k in sites.site], dtype=np.int64)
            centres = allele_centers(starts, ends - starts, sites.strand)
            region = self.s.annotation.region_at(chrom, centres, sites.strand)
            parts.append(pd.DataFrame({
                "allele": idx[sites.site], "chrom": chrom, "start": starts,
                "end": ends, "strand": sites.strand, "gene_id": sites.gene_id,
                "gene_name": sites.gene_name, "transcribed": sites.transcribed,
                "gene_row": sites.gene_row,
                "region": np.asarray(REGION_CLASSES, dtype=object)[region]}))
        if outside:
            status = np.array([st if isinstance(st, str) else None for st in status],
                              dtype=object)
            status[np.asarray(outside)] = "outside_transcript"
            alleles["status"] = pd.Series(status, index=alleles.index, dtype=object)
        if not parts:
            return pd.DataFrame(columns=["allele", "chrom", "start", "end", "strand", "gene_id",
                                         "gene_name", "transcribed", "gene_row", "region",
                                         "record", "alt_index", "ref_unit"])
        units = pd.concat(parts, ignore_index=True)
        allele = units["allele"].to_numpy()
        order = np.lexsort((units["strand"].to_numpy() == "-", allele))
        units = units.iloc[order].reset_index(drop=True)
        allele = units["allele"].to_numpy()
        units["record"] = record_col[allele]
        units["alt_index"] = alleles["alt_index"].to_numpy()[allele]
        key = zip(units["chrom"].to_numpy(), units["start"].to_numpy(),
                  units["end"].to_numpy(), units["strand"].to_numpy(), strict=True)
        ref_ids: dict = {}
        units["ref_unit"] = np.array([ref_ids.setdefault(k, len(ref_ids)) for k in key],
                                     dtype=np.int64)
        return units

    def windows(self, units: pd.DataFrame, alleles: pd.DataFrame
                ) -> tuple[WindowBatch, WindowBatch, AlleleWindows, AlleleWindows]:
        """Reference windows (one per ref_unit) and alternate windows (one per unit)."""
        refs = units.drop_duplicates("ref_unit").sort_values("ref_unit")
        event_col = alleles["event"].to_numpy()
        inserted = [event_col[a].inserted for a in units["allele"].to_numpy()]
        ref_w = self._allele_windows(refs, [None] * len(refs))
        alt_w = self._allele_windows(units, inserted)
        ref_batch = WindowBatch(seq=ref_w.seq, region=ref_w.region,
                                extra={"gene_row": refs["gene_row"].to_numpy()})
        alt_batch = WindowBatch(seq=alt_w.seq, region=alt_w.region,
                                extra={"gene_row": units["gene_row"].to_numpy()})
        return ref_batch, alt_batch, ref_w, alt_w

    def _allele_windows(self, frame: pd.DataFrame, blocks: list) -> AlleleWindows:
        width, rwidth = self.s.widths["sequence"], self.s.widths.get("region", 0)
        n = len(frame)
        seq = np.zeros((n, width), dtype=np.uint8)
        region = np.zeros((n, rwidth), dtype=np.int8) if rwidth else None
        truncated = np.zeros(n, dtype=bool)
        n_frac = np.zeros(n, dtype=np.float32)
        chroms = frame["chrom"].to_numpy()
        for chrom, rows in _group_by(np.arange(n), chroms):
            rows = np.asarray(rows)
            name = self.s.genome.resolve(chrom)
            w = allele_windows(
                lambda lo, hi, nm=name: self.s.genome.fetch_codes(nm, lo, hi),
                self.s.genome.lengths[name], frame["start"].to_numpy()[rows],
                frame["end"].to_numpy()[rows], [blocks[r] for r in rows],
                frame["strand"].to_numpy()[rows], width, rwidth,
                self.s.annotation.region_reader(chrom))
            seq[rows], truncated[rows], n_frac[rows] = w.seq, w.truncated, w.n_fraction
            if region is not None:
                region[rows] = w.region
        return AlleleWindows(seq=seq, region=region, truncated=truncated, n_fraction=n_frac)

    def prepare(self, records: list[Record]) -> ChunkResult:
        """Steps 1-3 (no model call): checks, alleles, strands, windows. ``scores`` empty."""
        status = check_records(self.s.genome, records)
        if self.s.options.strict:
            for rec, st in zip(records, status, strict=True):
                if st is not None:
                    raise InputFileError(_strict_message(rec, st, self.s.genome),
                                         path=self.s.options.vcf,
                                         fix="is the VCF on the same build as the FASTA? "
                                             "Without --strict such records are marked and "
                                             "skipped")
        alleles = self.alleles(records, status)
        units = self.units(records, alleles)
        if len(units) == 0:
            return ChunkResult(records, alleles, units, None, None, {})
        ref_batch, alt_batch, ref_w, alt_w = self.windows(units, alleles)
        ref_ix = units["ref_unit"].to_numpy()
        units["truncated"] = alt_w.truncated | ref_w.truncated[ref_ix]
        units["n_rich"] = alt_w.n_rich | ref_w.n_rich[ref_ix]
        inputs = build_allele_inputs(self.s.bundles, ref_batch, alt_batch,
                                     prepare=self.s.prepare)
        return ChunkResult(records, alleles, units, ref_batch, alt_batch, {}, inputs)

    def predict(self, result: ChunkResult) -> ChunkResult:
        """Step 4: every model on the chunk's windows (fills ``result.scores``)."""
        if result.ref_windows is not None:
            if result.model_inputs is None:
                result.model_inputs = build_allele_inputs(
                    self.s.bundles, result.ref_windows, result.alt_windows,
                    prepare=self.s.prepare)
            result.scores = predict_built(self.s.bundles, result.model_inputs,
                                          len(result.ref_windows),
                                          batch_size=self.s.options.batch_size,
                                          func=self.func)
            result.model_inputs = None  # the arrays are large; the windows stay
        return result

    def __call__(self, records: list[Record]) -> ChunkResult:
        return self.predict(self.prepare(records))


def _strict_message(rec: Record, status: str, genome: Genome) -> str:
    where = f"{rec.chrom}:{rec.pos}"
    if status == "ref_mismatch":
        found = genome.fetch(rec.chrom, rec.start, rec.end)
        return f"REF mismatch at {where} (VCF {rec.ref}, genome {found})"
    if status == "unknown_contig":
        return f"contig {rec.chrom!r} at {where} is not in the FASTA"
    return f"{where} lies beyond the end of contig {rec.chrom!r}"


def _group_by(items, keys) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for item, key in zip(items, keys, strict=True):
        groups.setdefault(key, []).append(item)
    return list(groups.items())


# --------------------------------------------------------------------------- results


def effect_table(scorer: Scorer, result: ChunkResult) -> pd.DataFrame:
    """One row per scored (allele, strand, model, RBP) with the deltas, in output order."""
    units = result.units
    frames = []
    for m, bundle in enumerate(scorer.bundles):
        labels = scorer.labels[bundle.name]
        if not labels or bundle.name not in result.scores:
            continue
        cols = np.array([k for k, _, _ in labels])
        sc = result.scores[bundle.name]
        d = compute_deltas(sc.ref[:, cols], sc.alt[:, cols], units["ref_unit"].to_numpy(),
                           output=bundle.meta.output)
        n_units, k = d.delta.shape
        rep = np.repeat(np.arange(n_units), k)
        frames.append(pd.DataFrame({
            "unit": rep, "model_order": m, "rbp_order": np.tile(np.arange(k), n_units),
            "rbp": np.tile(np.array([r for _, r, _ in labels], dtype=object), n_units),
            "label": np.tile(np.array([lab for _, _, lab in labels], dtype=object), n_units),
            "model": bundle.name, "ref_score": d.ref.ravel(), "alt_score": d.alt.ravel(),
            "delta": d.delta.ravel(), "logit_delta": d.logit_delta.ravel()}))
    if not frames:
        return pd.DataFrame(columns=["unit", "model_order", "rbp_order", "rbp", "label",
                                     "model", "ref_score", "alt_score", "delta", "logit_delta"])
    return pd.concat(frames, ignore_index=True).sort_values(
        ["unit", "model_order", "rbp_order"], kind="stable").reset_index(drop=True)


def unit_flags(units: pd.DataFrame) -> np.ndarray:
    """(U,) status text per unit: ``ok``, then its flags, joined by ``&``
    (``ok&n_rich&truncated``)."""
    if len(units) == 0:
        return np.zeros(0, dtype=object)
    out = np.full(len(units), "ok", dtype=object)
    out = out + np.where(units["n_rich"].to_numpy(bool), "&n_rich", "")
    out = out + np.where(units["truncated"].to_numpy(bool), "&truncated", "")
    return out + np.where(units["transcribed"].to_numpy(bool), "", "&outside_transcript")


@dataclass
class RecordOutput:
    """Formatted INFO values per record and the table rows of a chunk.

    info : per record, INFO key -> formatted value
    table : rows with :data:`varbind.writers.TABLE_COLUMNS`
    allele_status : per allele (row of ``ChunkResult.alleles``), its VARBIND_STATUS value
    top : (|delta|, description) of the chunk's strongest effects
    """

    info: list[dict[str, str]]
    table: pd.DataFrame
    allele_status: list[str]
    top: list[tuple]


def format_floats(values) -> np.ndarray:
    """Floats as INFO text (4 significant digits, '.' for NaN), object array."""
    values = np.asarray(values, dtype=np.float64)
    out = np.char.mod("%.4g", values).astype(object)
    out[~np.isfinite(values)] = "."
    out[out == "-0"] = "0"
    return out


def allele_statuses(result: ChunkResult, flags: np.ndarray) -> list[str]:
    """VARBIND_STATUS of each allele: its reason, or ``ok`` and the flags of its windows."""
    allele_flags: dict[int, set] = {}
    for a, f in zip(result.units["allele"].to_numpy() if len(result.units) else [], flags,
                    strict=True):
        if f != "ok":
            allele_flags.setdefault(int(a), set()).update(f.split("&")[1:])
    out = []
    for a, st in enumerate(result.alleles["status"].to_numpy()):
        if isinstance(st, str):
            out.append(st)
        else:
            out.append("&".join(["ok", *sorted(allele_flags.get(a, ()))]))
    return out


def format_chunk(scorer: Scorer, result: ChunkResult) -> RecordOutput:
    """INFO values for each record and the table rows of a chunk."""
    opts = scorer.options
    alleles, units = result.alleles, result.units
    effects = effect_table(scorer, result)
    flags = unit_flags(units)
    allele_status = allele_statuses(result, flags)
    n_alleles = len(alleles)
    loss = np.full(n_alleles, -np.inf)
    gain = np.full(n_alleles, -np.inf)
    loss_label = np.full(n_alleles, ".", dtype=object)
    gain_label = np.full(n_alleles, ".", dtype=object)
    entries: dict[int, list[str]] = {}
    top: list[tuple] = []
    if len(effects):
        u = effects["unit"].to_numpy()
        allele_of = units["allele"].to_numpy()[u]
        record_of = units["record"].to_numpy()[u]
        delta = effects["delta"].to_numpy(np.float64)
        labels = effects["label"].to_numpy()
        alt_text = alleles["alt"].to_numpy()[allele_of]
        gene = units["gene_name"].to_numpy()[u]
        gene = np.where(gene == "", units["gene_id"].to_numpy()[u], gene)
        info_labels = info_escape_all(labels)
        texts = (alt_text + "|" + consequence(delta, opts.effect_threshold) + "|"
                 + units["strand"].to_numpy()[u].astype(object) + "|" + info_escape_all(gene)
                 + "|" + units["region"].to_numpy()[u] + "|" + info_labels + "|"
                 + format_floats(effects["ref_score"]) + "|"
                 + format_floats(effects["alt_score"]) + "|" + format_floats(delta) + "|"
                 + format_floats(effects["logit_delta"]))
        keep = np.abs(delta) >= opts.min_delta
        for r, t in zip(record_of[keep].tolist(), texts[keep].tolist(), strict=True):
            entries.setdefault(r, []).append(t)
        # strongest loss / gain per allele (first in output order wins ties)
        for arr, lab, values in ((loss, loss_label, -delta), (gain, gain_label, delta)):
            order = np.lexsort((-values, allele_of))
            first = np.r_[True, allele_of[order][1:] != allele_of[order][:-1]]
            best = order[first]
            arr[allele_of[best]] = values[best]
            lab[allele_of[best]] = np.where(values[best] > 0, info_labels[best], ".")
        for i in np.argsort(-np.abs(delta), kind="stable")[:5]:
            rec = result.records[record_of[i]]
            top.append((abs(float(delta[i])), {
                "chrom": rec.chrom, "pos": rec.pos, "ref": rec.ref, "alt": alt_text[i],
                "strand": units["strand"].to_numpy()[u[i]], "gene": gene[i],
                "rbp": labels[i], "delta": float(delta[i])}))
    loss_text = np.where(np.isfinite(loss), format_floats(np.maximum(loss, 0)), ".")
    gain_text = np.where(np.isfinite(gain), format_floats(np.maximum(gain, 0)), ".")
    info = [{} for _ in result.records]
    per_record: list[list[int]] = [[] for _ in result.records]
    for a, r in enumerate(alleles["record"].to_numpy().tolist()):
        per_record[r].append(a)
    for r, idx in enumerate(per_record):
        d = info[r]
        if r in entries:
            d["VARBIND"] = ",".join(entries[r])
        if result.records[r].alts:
            d["VARBIND_MAX_LOSS"] = ",".join(loss_text[idx])
            d["VARBIND_MAX_GAIN"] = ",".join(gain_text[idx])
            d["VARBIND_MAX_LOSS_RBP"] = ",".join(loss_label[idx])
            d["VARBIND_MAX_GAIN_RBP"] = ",".join(gain_label[idx])
        d["VARBIND_STATUS"] = ",".join(allele_status[a] for a in idx)
    table = _table_rows(result, effects, flags, allele_status)
    return RecordOutput(info=info, table=table, allele_status=allele_status, top=top)


def _table_rows(result: ChunkResult, effects: pd.DataFrame, flags: np.ndarray,
                allele_status: list[str]) -> pd.DataFrame:
    """The chunk's table: scored rows (unit x model x RBP) and one row per unscored allele,
    in record, ALT, strand, model, RBP order."""
    recs = result.records
    alleles, units = result.alleles, result.units
    a_record = alleles["record"].to_numpy()
    a_alt_index = alleles["alt_index"].to_numpy()
    a_alt = alleles["alt"].to_numpy()
    cols: dict[str, list] = {c: [] for c in TABLE_COLUMNS}
    keys: list[np.ndarray] = []
    if len(effects):
        u = effects["unit"].to_numpy()
        allele = units["allele"].to_numpy()[u]
        keys.append(np.stack([a_record[allele], a_alt_index[allele],
                              (units["strand"].to_numpy()[u] == "-").astype(np.int64),
                              effects["model_order"].to_numpy(np.int64),
                              effects["rbp_order"].to_numpy(np.int64)], axis=1))
        part = {"_allele": allele, "alt": a_alt[allele],
                "strand": units["strand"].to_numpy()[u].astype(object),
                "gene_id": units["gene_id"].to_numpy()[u],
                "gene_name": units["gene_name"].to_numpy()[u],
                "region": units["region"].to_numpy()[u], "rbp": effects["label"].to_numpy(),
                "model": effects["model"].to_numpy(),
                "ref_score": effects["ref_score"].to_numpy(np.float32),
                "alt_score": effects["alt_score"].to_numpy(np.float32),
                "delta": effects["delta"].to_numpy(np.float32),
                "logit_delta": effects["logit_delta"].to_numpy(np.float32),
                "status": flags[u]}
        for c, v in part.items():
            cols.setdefault(c, []).append(v)
    scored = np.zeros(len(alleles), dtype=bool)
    if len(units):
        scored[units["allele"].to_numpy()] = True
    unscored = np.flatnonzero(~scored)
    if len(unscored):
        n = len(unscored)
        keys.append(np.stack([a_record[unscored], a_alt_index[unscored], np.zeros(n, np.int64),
                              np.zeros(n, np.int64), np.zeros(n, np.int64)], axis=1))
        empty = np.full(n, "", dtype=object)
        nan = np.full(n, np.nan, dtype=np.float32)
        part = {"_allele": unscored, "alt": a_alt[unscored], "strand": empty,
                "gene_id": empty, "gene_name": empty, "region": empty, "rbp": empty,
                "model": empty, "ref_score": nan, "alt_score": nan, "delta": nan,
                "logit_delta": nan,
                "status": np.array([allele_status[a] for a in unscored], dtype=object)}
        for c, v in part.items():
            cols.setdefault(c, []).append(v)
    if not keys:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    key = np.concatenate(keys)
    order = np.lexsort(key.T[::-1])
    joined = {c: np.concatenate(v)[order] for c, v in cols.items() if v}
    r = a_record[joined.pop("_allele")]
    chrom = np.array([rec.chrom for rec in recs], dtype=object)
    pos = np.array([rec.pos for rec in recs], dtype=np.int64)
    ids = np.array([rec.id for rec in recs], dtype=object)
    ref = np.array([rec.ref for rec in recs], dtype=object)
    joined.update({"chrom": chrom[r], "pos": pos[r], "id": ids[r], "ref": ref[r]})
    return pd.DataFrame({c: joined[c] for c in TABLE_COLUMNS})


# --------------------------------------------------------------------------- the run


def default_summary_path(options: ScoreOptions) -> Path | None:
    if options.summary is not None:
        return Path(options.summary)
    main = options.output or options.table
    return Path(str(main) + ".summary.json") if main is not None else None


def score_vcf(options: ScoreOptions,
              on_chunk: Callable[[ChunkResult], None] | None = None,
              func: BatchFunction = forward, scorer: Scorer | None = None,
              hooks: ScoreHooks | None = None) -> RunSummary:
    """Score every record of ``options.vcf`` (or of ``options.region``) and write the outputs.

    Parameters
    ----------
    options : the run's inputs, outputs and parameters
    on_chunk : called with each :class:`ChunkResult` (windows and raw scores) after scoring,
        before writing; attribution hooks in here
    func : per-batch model function (see :mod:`varbind.predict`)
    scorer : inputs already loaded for these options (genome, annotation, models); the Dask
        layer keeps one per worker process so that models load once per worker
    hooks : extra header lines, table columns and per-chunk callbacks (see
        :class:`ScoreHooks`; ``on_chunk`` above is a shorthand for ``hooks.on_chunk``)

    Returns
    -------
    RunSummary (also written as JSON beside the output).
    """
    t0 = time.perf_counter()
    hooks = hooks or ScoreHooks()
    if on_chunk is not None:
        hooks = replace(hooks, on_chunk=on_chunk)
    if options.output is None and options.table is None:
        raise VarbindError("no output given", fix="pass -o out.vcf.gz and/or --tsv out.tsv")
    vcf_out_kind = vcf_kind(options.output) if options.output is not None else None
    table_out_kind = table_kind(options.table) if options.table is not None else None
    vcf = open_vcf(options.vcf)
    region = parse_region(options.region, list(vcf.seqnames)) if options.region else None
    scorer = Scorer(options) if scorer is None else scorer.with_options(options)
    chunk_scorer = ChunkScorer(scorer, func=func)
    summary = RunSummary(models=[{"name": b.name, "hash": b.digest, "rbps": len(scorer.labels[
        b.name])} for b in scorer.bundles], rbps=scorer.n_rbps)
    tally = _Tally()

    summary_path = default_summary_path(options)
    with contextlib.ExitStack() as stack:
        vcf_writer = table_writer = None
        if options.output is not None:
            tmp = stack.enter_context(atomic_output(options.output, suffixes=(".tbi",)))
            vcf_writer = VcfWriter(tmp, vcf, scorer.header_lines() + list(hooks.header_lines),
                                   compressed=vcf_out_kind == "vcf.gz")
            summary.outputs["vcf"] = str(options.output)
        if options.table is not None:
            tmp_t = stack.enter_context(atomic_output(options.table))
            table_writer = TableWriter(tmp_t, table_out_kind, hooks.table_columns)
            summary.outputs["table"] = str(options.table)
        progress = stack.enter_context(_progress(vcf, options.progress, region))

        def emit(item: tuple[list, ChunkResult]) -> None:
            """Format and write one scored chunk (runs in the writer thread)."""
            lines, result = item
            out = format_chunk(scorer, result)
            if hooks.on_output is not None:
                hooks.on_output(result, out)
            if vcf_writer is not None:
                vcf_writer.write_lines(lines, out.info)
            if table_writer is not None:
                table_writer.write(out.table)
            tally.add(result, out)
            progress.update(len(result.records))

        stream = chunks(iter_records(vcf, options.vcf, region), options.batch_size)
        stream = check_contig_names(scorer, list(vcf.seqnames), stream)
        # Three stages overlap: reading + windows (prefetch thread), the models (this
        # thread), formatting + writing (writer thread), so the model is rarely idle.
        with InOrderWorker(emit) as writer:
            for lines, prepared in prefetch(stream, chunk_scorer.prepare):
                result = chunk_scorer.predict(prepared)
                if hooks.on_chunk is not None:
                    hooks.on_chunk(result)
                writer.submit((lines, result))
        if vcf_writer is not None:
            vcf_writer.close()
        if table_writer is not None:
            table_writer.close()
        tally.fill(summary)
        summary.seconds = time.perf_counter() - t0
        summary.variants_per_second = summary.records / max(summary.seconds, 1e-9)
        if summary_path is not None:
            summary.outputs["summary"] = str(summary_path)
            with atomic_output(summary_path) as tmp_s:
                tmp_s.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    log.info("scored %d records in %.1f s", summary.records, summary.seconds)
    return summary


def check_contig_names(scorer: Scorer, vcf_contigs: list[str],
                       stream: Iterator[list]) -> Iterator[list]:
    """``stream`` after checking that the annotation names the VCF's contigs (see
    :func:`varbind.contig_names.check_annotation_contigs`); the contigs come from the VCF's
    index or header, else from the first chunk's records. No check with --all-strands."""
    index = scorer.annotation.index
    if index is None or scorer.options.all_strands:
        yield from stream
        return

    def check(names) -> None:
        check_annotation_contigs(scorer.genome.lengths, scorer.genome.resolve, index.resolve,
                                 names, scorer.options.gtf)

    if vcf_contigs:
        check(vcf_contigs)
    for n, chunk in enumerate(stream):
        if n == 0 and not vcf_contigs:
            check(dict.fromkeys(rec.CHROM for rec in chunk))
        yield chunk


class InOrderWorker:
    """Runs ``fn(item)`` for submitted items, in order, in one background thread.

    An exception in ``fn`` is raised in the submitting thread at the next :meth:`submit` or
    on leaving the ``with`` block; leaving the block on an exception stops the worker.
    """

    _DONE = object()

    def __init__(self, fn: Callable, depth: int = 2):
        import queue
        import threading

        self.fn = fn
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name="varbind-writer", daemon=True)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if self.error is None:
                try:
                    self.fn(item)
                except BaseException as exc:  # handed to the submitting thread
                    self.error = exc

    def submit(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(item)

    def __enter__(self) -> InOrderWorker:
        self.thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.error = self.error or exc  # the worker drains without writing
        self.queue.put(self._DONE)
        self.thread.join()
        if exc_type is None and self.error is not None:
            raise self.error
        return False


class _Tally:
    """Counts for the run summary, added chunk by chunk."""

    def __init__(self):
        self.records = self.records_scored = self.alleles = self.alleles_scored = 0
        self.windows = 0
        self.not_scored: Counter = Counter()
        self.records_not_scored: Counter = Counter()
        self.flags: Counter = Counter()
        self.strands: Counter = Counter()
        self.top: list[tuple] = []

    def add(self, result: ChunkResult, out: RecordOutput) -> None:
        n = len(result.records)
        self.records += n
        status = np.array(out.allele_status, dtype=object)
        record = result.alleles["record"].to_numpy()
        scored = np.array([s.startswith("ok") for s in status], dtype=bool)
        has_alt = np.array([bool(r.alts) for r in result.records], dtype=bool)[record]
        self.alleles += int(has_alt.sum())
        self.alleles_scored += int((scored & has_alt).sum())
        self.not_scored.update(status[~scored].tolist())
        for s in status[scored]:
            if "&" in s:
                self.flags.update(s.split("&")[1:])
        record_scored = np.bincount(record[scored], minlength=n) > 0
        self.records_scored += int(record_scored.sum())
        first = np.searchsorted(record, np.flatnonzero(~record_scored))
        self.records_not_scored.update(status[first].tolist())
        if len(result.units):
            self.strands.update(result.units["strand"].tolist())
            self.windows += len(result.units) + result.units["ref_unit"].nunique()
        self.top = heapq.nlargest(5, self.top + out.top, key=lambda t: t[0])

    def fill(self, summary: RunSummary) -> None:
        summary.records, summary.records_scored = self.records, self.records_scored
        summary.alleles, summary.alleles_scored = self.alleles, self.alleles_scored
        summary.windows = self.windows
        summary.alleles_not_scored = dict(sorted(self.not_scored.items()))
        summary.records_not_scored = dict(sorted(self.records_not_scored.items()))
        summary.flags = dict(sorted(self.flags.items()))
        summary.strands_scored = dict(sorted(self.strands.items()))
        summary.top_effects = [t[1] for t in self.top]


def prefetch(stream: Iterator[list], prepare: Callable[[list[Record]], ChunkResult],
             depth: int = 2) -> Iterator[tuple[list, ChunkResult]]:
    """Read and prepare chunks in a background thread while the caller runs the models.

    Yields ``(records as VCF text lines, prepared ChunkResult)`` in input order; the text is
    taken here, so no other thread touches cyvcf2 objects. An exception in the thread (a
    malformed record, a REF mismatch under --strict) is raised here, in order.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for cy_chunk in stream:
                lines = [str(r) for r in cy_chunk]
                if not put((lines, prepare([Record.from_cyvcf(r) for r in cy_chunk]))):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=work, name="varbind-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _progress(vcf, enabled: bool, region):
    from tqdm import tqdm

    total = None
    if enabled and region is None:
        with contextlib.suppress(Exception):
            total = int(vcf.num_records)
    return tqdm(total=total, unit=" variants", disable=not enabled or not sys.stderr.isatty(),
                file=sys.stderr, smoothing=0.1, dynamic_ncols=True)
