"""The loaded inputs of one run (:class:`Scorer`): genome, annotation, models, the
window widths they need, RBP labels, provenance header lines and per-model inputs."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from varbind import __version__
from varbind.errors import InputFileError, ModelBundleError, VarbindError
from varbind.files import file_digest
from varbind.genomics.genome import Genome
from varbind.model.inputs import WindowBatch, crop_center, required_lengths
from varbind.model.rna_graph import add_pairs
from varbind.scoring.cell_types import ModelRun, expression_columns, model_runs
from varbind.scoring.context import SiteContext
from varbind.scoring.windows import (
    N_RICH_FRACTION,
)

if TYPE_CHECKING:
    from varbind.scoring.options import ScoreOptions

log = logging.getLogger(__name__)

_WARNED_WEAK: set[tuple[str, str]] = set()


def warn_weak_rbps(bundle, rbps: list[str] | None) -> None:
    """Warn once per process for each RBP of ``bundle`` (of ``rbps``, or all) that its
    training health check left weak (``model.json`` ``training.health``)."""
    for rbp, reason in bundle.meta.weak_rbps().items():
        key = (str(bundle.path), rbp)
        if (rbps is None or rbp in rbps) and key not in _WARNED_WEAK:
            _WARNED_WEAK.add(key)
            log.warning("model %s: RBP %s is weak (%s when trained); its scores are not "
                        "trustworthy", bundle.name, rbp, reason)


class Scorer:
    """Loaded inputs of one run: genome, annotation, models and the widths they need."""

    def __init__(self, options: ScoreOptions):
        if options.batch_size is None:  # the device's (varbind.model.device)
            from varbind.model.device import default_batch_size

            options = replace(options, batch_size=default_batch_size())
        self.options = options
        if options.batch_size < 1:
            raise VarbindError(f"--batch-size must be at least 1, got {options.batch_size}")
        self.genome = Genome(options.fasta)
        self.context = self._load_context()
        self.bundles = self._load_models()
        self.widths = self._widths()
        self.min_window = min(required_lengths(b.meta.inputs).get("sequence", 1)
                              for b in self.bundles)
        self.labels = self._rbp_labels()
        # expression column of each model output, the passes over a chunk, and the columns
        # genes are chosen in (varbind.scoring.cell_types)
        self.columns = expression_columns(self.bundles, self.context.expression,
                                          options.cell_type)
        self.cell_types = {b.name: self.columns[b.name][self.labels[b.name][0][0]]
                           if self.labels[b.name] else self.columns[b.name][0]
                           for b in self.bundles}
        if self.context.cell_type is None:  # used to choose among overlapping genes
            self.context.cell_type = next(iter(self.cell_types.values()), None)
        self.runs = model_runs(self.bundles, self.columns,
                               {n: [k for k, _, _ in lab] for n, lab in self.labels.items()})
        self.gene_columns = list(dict.fromkeys(
            self.columns[b.name][k] for b in self.bundles for k, _, _ in self.labels[b.name]
            if self.columns[b.name][k] is not None))
        #: what is made once per loaded scorer and shared by its :meth:`with_options` copies:
        #: the provenance lines (digests of the reference index, GTF, expression) and the
        #: RNAplfold profiler with its cache
        self._once: dict = {}
        self._pairs = None

    def _load_context(self) -> SiteContext:
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
        return SiteContext(index, expression, cell_type=opts.cell_type)

    def _load_models(self) -> list:
        from varbind.model.bundle import load_model_set

        rbps = self.options.rbps
        bundles = load_model_set(self.options.models, rbps=rbps)
        if not bundles:
            raise ModelBundleError("the model set is empty", path=self.options.models,
                                   fix="pass a bundle or a directory of bundles")
        for b in bundles:
            kinds = {c.kind for s in b.meta.inputs for c in s.components}
            if "region" in kinds and self.context.index is None:
                raise VarbindError(f"model {b.name} needs region classes",
                                   fix="pass --gtf with the annotation")
            if "expression" in kinds and self.context.expression is None:
                raise VarbindError(f"model {b.name} needs gene expression",
                                   fix="pass --expression with a TPM table")
            if b.meta.strand != "transcript":
                raise ModelBundleError(f"strand convention {b.meta.strand!r} is not supported",
                                       path=b.path, fix="set \"strand\": \"transcript\"")
            warn_weak_rbps(b, rbps)
        return bundles

    def _widths(self) -> dict[str, int]:
        need: dict[str, int] = {"sequence": 1, "region": 0}
        for b in self.bundles:
            for kind, length in required_lengths(b.meta.inputs).items():
                need[kind] = max(need.get(kind, 0), length)
        return need

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
        if options.batch_size is None:
            options = replace(options, batch_size=self.options.batch_size)
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
        digests, and each model's name, hash and settings (``##key=value`` lines).

        Computed once per loaded scorer (the digests read whole files) and shared by its
        :meth:`with_options` copies, such as the partitions a Dask worker scores."""
        if "provenance" not in self._once:
            self._once["provenance"] = self._provenance_lines()
        return list(self._once["provenance"])

    def _provenance_lines(self) -> list[str]:
        opts = self.options
        fai = Path(str(self.genome.path) + ".fai")
        lines = [f"##varbind_version={__version__}",
                 f"##varbind_reference=<File={header_value(self.genome.path.name)},"
                 f"Contigs={len(self.genome.lengths)},"
                 f"FaiHash={file_digest(fai) if fai.exists() else '.'}>"]
        if opts.gtf is not None:
            lines.append(f"##varbind_annotation=<File={header_value(Path(opts.gtf).name)},"
                         f"Hash={file_digest(opts.gtf)}>")
        if opts.expression is not None:
            lines.append(f"##varbind_expression=<File={header_value(Path(opts.expression).name)},"
                         f"Hash={file_digest(opts.expression)}>")
        for b in self.bundles:
            m = b.meta
            rbps = "/".join(lab for _, _, lab in self.labels[b.name])
            lines.append(f"##varbind_model=<ID={header_value(b.name)},Hash={b.digest},"
                         f"Architecture={header_value(m.architecture)},Output={header_value(m.output)},"
                         f"Window={m.window},CellLine={header_value(m.cell_line)},"
                         f"ExpressionColumn={header_value(self.cell_types[b.name] or '.')},"
                         f"GenomeBuild={header_value(m.genome_build)},RBPs={header_value(rbps)}>")
        return lines

    # -- per-model inputs

    def model_batch(self, bundle, batch: WindowBatch) -> WindowBatch:
        """The batch as ``bundle`` (or a :class:`varbind.scoring.cell_types.ModelRun` of it)
        needs it: its cell type's expression (of the gene chosen in that cell type), its
        structure."""
        kinds = {c.kind for s in bundle.meta.inputs for c in s.components}
        expression = structure = None
        if "expression" in kinds:
            column = bundle.cell_type if isinstance(bundle, ModelRun) else \
                self.cell_types[bundle.name]
            rows = batch.extra.get(f"gene_row:{column}", batch.extra["gene_row"])
            expression = self.context.expression_at(rows, column)
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

    prepare = model_batch  # the name of earlier releases

    def _fold(self, seq: np.ndarray, length: int) -> np.ndarray:
        """RNAplfold profiles of each model's own window, padded back to the full width."""
        if "structure" not in self._once:  # one profiler (and its cache) per loaded scorer
            from varbind.model.structure import StructureProfiler

            self._once["structure"] = StructureProfiler()
        profiles = self._once["structure"].profiles(crop_center(seq, length))
        out = np.zeros(seq.shape + (2,), dtype=np.float32)
        lo = seq.shape[1] // 2 - length // 2
        out[:, lo:lo + length] = profiles
        return out


def header_value(value) -> str:
    """A value for a structured header line (``<Key=value,...>``), quoted when needed."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_.:/@+\-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
