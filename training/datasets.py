"""Training datasets: CLIP peaks + genome + annotation + expression -> HDF5 windows.

Two kinds (layout in docs/ARCHITECTURE.md and the README's "Training data" section):

- ``multilabel`` (DeepRiPe / Multi-resBind): 50-nt bins with at least one positive RBP
  (:mod:`varbind.training.bins`); sequence window 150, region window 250 (DeepRiPe);
- ``per-rbp`` (POLARIS): peak-centered 1 kb windows and GC-/strand-matched negatives from
  transcribed sequence (:mod:`varbind.training.negatives`), one HDF5 group per RBP.

Every window is on the transcript strand (reverse complement on ``-``) with its center base
at index ``L // 2``; region codes line up with it. Rows are split into train (0), validation
(1) and test (2): held-out test contigs (``split="chrom"``) or random genomic blocks
(``split="random"``); validation is drawn by genomic blocks (``split_block``), and a window that
reaches into a block of another split is dropped, so no sequence is shared across splits.

Windows are fetched and written in chunks (``chunk_rows``) into chunked, compressed datasets,
so memory holds one chunk of windows at a time plus one small row table.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from varbind import __version__
from varbind.annotations.expression import ExpressionTable
from varbind.annotations.index import AnnotationIndex
from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output, file_digest
from varbind.genomics.genome import Genome
from varbind.genomics.peaks import (
    DEEPRIPE_GROUP_THRESHOLDS,
    PeakFilters,
    PeakSet,
    load_peaks,
    peak_sources,
    rbp_groups,
)
from varbind.training.bins import LABEL_RULES, multilabel_rows
from varbind.training.dataset_io import (  # read_batches: re-exported, it lived here
    chunked_dataset,
    read_batches,  # noqa: F401
    write_rows,
)
from varbind.training.negatives import per_rbp_rows
from varbind.training.splits import (
    SPLIT_MODES,
    SPLITS,
    assign_splits,
    auto_block,  # noqa: F401  (re-exported, it lived here)
    choose_test_chroms,
)

log = logging.getLogger(__name__)

KINDS = ("multilabel", "per-rbp")
DEFAULT_LENGTHS = {"multilabel": (150, 250), "per-rbp": (1000, 1000)}


@dataclass
class DatasetOptions:
    """Parameters of a dataset build (all recorded in the file's provenance).

    kind : ``multilabel`` or ``per-rbp``
    seq_length, region_length : window lengths (None: 150/250 multilabel, 1000/1000 per-rbp)
    bin_size : multilabel bin width (50; 100 is usual for eCLIP)
    label_rule : ``half-peak`` or ``summit`` (multilabel)
    transcribed : ``premrna`` (exons and introns) or ``exon``: what counts as transcribed for
        keeping bins and drawing negatives
    split : ``chrom`` (held-out test contigs) or ``random`` (random blocks)
    test_chroms : test contigs for ``split="chrom"``; None picks the last contigs of the FASTA
        until they hold ``test_fraction`` of the peaks (rows, in ``assign_splits``)
    test_fraction, val_fraction : shares of rows (by blocks) for test (random mode) and
        validation
    split_block : block size (nt) for random and validation splits; None: 5 windows, or
        larger so that the genome holds at most ~1000 blocks
    negatives_ratio : negatives per positive (per-rbp)
    gc_bins : GC strata for negatives (bins of width 1/gc_bins)
    candidate_factor : candidate negatives drawn per needed negative
    max_n_fraction : negatives with more N than this are not used
    cell_type : expression column; None uses the RBP's manifest cell line if the table has
        it, else the table's only column
    group_thresholds : peak counts splitting RBPs into low/medium/high, or ``"tertiles"``
    seed : the one random seed (negatives, random splits)
    chunk_rows : rows fetched and written at a time
    filters : peak filters; None: the POLARIS singleton filter for ``per-rbp``, none for
        ``multilabel``
    """

    kind: str = "multilabel"
    seq_length: int | None = None
    region_length: int | None = None
    bin_size: int = 50
    label_rule: str = "half-peak"
    transcribed: str = "premrna"
    split: str = "chrom"
    test_chroms: list[str] | None = None
    test_fraction: float = 0.1
    val_fraction: float = 0.2
    split_block: int | None = None
    negatives_ratio: float = 1.0
    gc_bins: int = 100
    candidate_factor: int = 10
    max_n_fraction: float = 0.1
    cell_type: str | None = None
    group_thresholds: tuple[int, int] | str = DEEPRIPE_GROUP_THRESHOLDS
    seed: int = 0
    chunk_rows: int = 4096
    filters: PeakFilters | None = None

    def resolved(self) -> DatasetOptions:
        """Check the options and fill the window lengths from the kind."""
        if self.kind not in KINDS:
            raise VarbindError(f"--kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.split not in SPLIT_MODES:
            raise VarbindError(f"--split must be one of {', '.join(SPLIT_MODES)}, "
                               f"got {self.split!r}")
        if self.label_rule not in LABEL_RULES:
            raise VarbindError(f"--label-rule must be one of {', '.join(LABEL_RULES)}")
        if self.transcribed not in ("premrna", "exon"):
            raise VarbindError("--transcribed must be 'premrna' or 'exon'")
        seq, reg = DEFAULT_LENGTHS[self.kind]
        filters = self.filters
        if filters is None:
            filters = PeakFilters.polaris() if self.kind == "per-rbp" else PeakFilters()
        out = DatasetOptions(**{**self.__dict__, "seq_length": self.seq_length or seq,
                                "region_length": self.region_length or reg,
                                "filters": filters})
        for name in ("seq_length", "region_length", "bin_size", "chunk_rows",
                     "gc_bins", "candidate_factor"):
            if int(getattr(out, name)) <= 0:
                raise VarbindError(f"--{name.replace('_', '-')} must be positive, "
                                   f"got {getattr(out, name)}")
        for name in ("test_fraction", "val_fraction", "max_n_fraction"):
            if not 0 <= float(getattr(out, name)) < 1:
                raise VarbindError(f"--{name.replace('_', '-')} must be in [0, 1), "
                                   f"got {getattr(out, name)}")
        if out.split_block is not None and out.split_block <= 0:
            raise VarbindError(f"--split-block must be positive, got {out.split_block}")
        if out.negatives_ratio <= 0:
            raise VarbindError(f"--negatives-ratio must be positive, got {out.negatives_ratio}")
        return out

    def to_json(self) -> dict:
        d = asdict(self)
        d["filters"] = asdict(self.filters) if self.filters is not None else None
        return d


@dataclass
class DatasetSummary:
    """What a build wrote: per group (root ``""`` for multilabel) the row counts per split."""

    path: Path
    kind: str
    rbps: list[str]
    rbp_groups: dict[str, str]
    rows: dict[str, dict[str, int]]
    positives: dict[str, int]
    stats: dict[str, dict] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the build


def _cell_types(table: ExpressionTable | None, options: DatasetOptions,
                cell_lines: list[str]) -> list[str]:
    """The expression column(s) for RBPs from ``cell_lines``.

    ``--cell-type`` if given; else the RBPs' manifest cell lines that the table has (several:
    their values are averaged, with a warning); else the table's only column.
    """
    if table is None:
        return []
    if options.cell_type is not None:
        return [table.resolve_cell_type(options.cell_type)]
    lines = sorted({c for c in cell_lines if c})
    known = {c.lower(): c for c in table.cell_types}
    found = [known[c.lower()] for c in lines if c.lower() in known]
    if found and len(found) == len(lines):
        if len(found) > 1:
            log.warning("the RBPs come from cell lines %s: expression is their mean log1p TPM "
                        "(choose one with --cell-type)", ", ".join(found))
        return found
    if len(table.cell_types) == 1:
        return table.cell_types
    raise VarbindError(f"expression table {table.source} has cell types "
                       f"{', '.join(table.cell_types)} but the peaks' cell lines are "
                       f"{', '.join(lines) or 'not given'}; choose one with --cell-type")


def _gene_expression(index: AnnotationIndex, table: ExpressionTable | None,
                     cell_types: list[str]) -> np.ndarray:
    """log1p TPM of every row of ``index.genes`` (mean over ``cell_types``), (G,) float32."""
    if table is None:
        return np.zeros(len(index.genes), dtype=np.float32)
    ids, names = index.genes["gene_id"].to_numpy(), index.genes["gene_name"].to_numpy()
    values = [table.lookup(ids, names, cell_type=c) for c in cell_types]
    return np.mean(values, axis=0).astype(np.float32)


def _provenance(peaks: Path, fasta: Path, gtf: Path, expression: Path | None,
                options: DatasetOptions, peaksets: list[PeakSet], test_chroms) -> str:
    files = {"peaks": {"path": str(peaks)}, "fasta": {"path": str(fasta),
                                                       "digest": file_digest(fasta)},
             "gtf": {"path": str(gtf), "digest": file_digest(gtf)}}
    if peaks.is_file():
        files["peaks"]["digest"] = file_digest(peaks)
    if expression is not None:
        files["expression"] = {"path": str(expression), "digest": file_digest(expression)}
    files["peak_files"] = {ps.label: {"path": str(ps.path), "digest": file_digest(ps.path),
                                      "cell_line": ps.cell_line, "peaks_read": ps.n_read,
                                      "peaks_used": len(ps), "dropped": ps.dropped}
                           for ps in peaksets}
    return json.dumps({"varbind_version": __version__, "inputs": files,
                       "parameters": options.to_json(), "test_chroms": list(test_chroms)},
                      default=str)


def _root_attrs(h5, kind: str, labels: list[str], groups: dict, options: DatasetOptions,
                provenance: str) -> None:
    h5.attrs["kind"] = kind
    h5.attrs["rbps"] = json.dumps(labels)
    h5.attrs["rbp_groups"] = json.dumps(groups)
    h5.attrs["seq_length"] = int(options.seq_length)
    h5.attrs["region_length"] = int(options.region_length)
    h5.attrs["bin_size"] = int(options.bin_size)
    h5.attrs["provenance"] = provenance
    h5.attrs["split_codes"] = json.dumps(SPLITS)
    h5.attrs["varbind_version"] = __version__


def _split_counts(split: np.ndarray) -> dict[str, int]:
    return {name: int((split == code).sum()) for name, code in SPLITS.items()}


def build_dataset(output: str | os.PathLike, peaks: str | os.PathLike, fasta: str | os.PathLike,
                  gtf: str | os.PathLike, expression: str | os.PathLike | None = None,
                  options: DatasetOptions | None = None, rbps: list[str] | None = None,
                  on_missing_contig: str = "warn", expression_units: str | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  progress: bool = False) -> DatasetSummary:
    """Build a training HDF5 (the one function behind ``varbind dataset``).

    Parameters
    ----------
    output : the .h5 to write (atomically: nothing at this path unless the build succeeds)
    peaks : manifest TSV or folder of peak files
    fasta, gtf : genome and annotation (contig names may differ by ``chr``)
    expression : expression table, or None (expression 0 everywhere, with a warning)
    options : :class:`DatasetOptions`
    rbps : keep only these RBPs
    """
    options = (options or DatasetOptions()).resolved()
    peaks, fasta, gtf = Path(peaks), Path(fasta), Path(gtf)
    expression = Path(expression) if expression is not None else None
    peak_sources(peaks)  # check the manifest before the slow steps
    genome = Genome(fasta)
    index = AnnotationIndex.from_gtf(gtf, cache_dir=cache_dir, progress=progress)
    if not any(genome.resolve(c) for c in index.contigs):
        raise InputFileError(f"no contig of the annotation ({', '.join(index.contigs[:3])}...) "
                             f"is in the FASTA ({', '.join(genome.contigs[:3])}...)", path=gtf,
                             fix="use an annotation and a FASTA of the same genome build")
    if options.test_chroms is not None:
        unknown = [c for c in options.test_chroms if genome.resolve(c) is None]
        if unknown:
            raise VarbindError(f"--test-chroms: {', '.join(unknown)} not in {fasta} "
                               f"(it has {', '.join(genome.contigs[:10])})",
                               fix="name contigs of the FASTA")
        options.test_chroms = [genome.resolve(c) for c in options.test_chroms]
    table = ExpressionTable.read(expression, units=expression_units) if expression else None
    if table is None:
        log.warning("no expression table: every window gets log1p TPM 0")
    peaksets = load_peaks(peaks, options.filters, contigs=genome.contigs,
                          on_missing_contig=on_missing_contig, rbps=rbps)
    labels_order = [ps.label for ps in peaksets]
    if options.split == "chrom" and options.test_chroms is None:
        # one set of test contigs for the whole file, from where the peaks are
        counts = pd.concat([ps.peaks["chrom"] for ps in peaksets]).value_counts()
        options.test_chroms = choose_test_chroms(counts, genome.contigs, options.test_fraction)
        log.info("test contigs: %s (%.0f%% of the peaks)", ", ".join(options.test_chroms),
                 100 * counts.reindex(options.test_chroms).sum() / counts.sum())
    groups = rbp_groups({ps.label: len(ps) for ps in peaksets}, options.group_thresholds)
    output = Path(output)
    span = max(options.seq_length, options.region_length)
    summary = DatasetSummary(output, options.kind, labels_order, groups, {}, {})
    with atomic_output(output) as tmp:
        import h5py

        with h5py.File(tmp, "w") as h5:
            if options.kind == "multilabel":
                cells = _cell_types(table, options, [ps.cell_line for ps in peaksets])
                gene_expr = _gene_expression(index, table, cells)
                rows, labels = multilabel_rows(peaksets, index, options.bin_size,
                                               options.label_rule, options.transcribed)
                if len(rows) == 0:
                    raise VarbindError(f"no bin of {options.bin_size} nt holds a peak on "
                                       "transcribed sequence; check the peaks, the annotation "
                                       "and --label-rule (half-peak needs peaks shorter than "
                                       "2 bins)")
                split, keep, test_chroms = assign_splits(
                    rows, options, genome.contigs, span,
                    balance=np.column_stack([np.ones(len(rows)), labels]))
                rows, labels, split = rows[keep].reset_index(drop=True), labels[keep], split[keep]
                log.info("multilabel: %d bins (%d dropped at split borders), %d RBPs",
                         len(rows), int((~keep).sum()), len(labels_order))
                write_rows(h5, rows, labels, split, genome, index, gene_expr,
                           index.genes["gene_id"].to_numpy(), options, progress, "bins")
                chunked_dataset(h5, "bin_start", (len(rows),), "i8", options.chunk_rows)[...] = \
                    rows["bin_start"].to_numpy(np.int64)
                h5.attrs["cell_type"] = ",".join(cells)
                summary.rows[""] = _split_counts(split)
                summary.positives = {r: int(labels[:, k].sum())
                                     for k, r in enumerate(labels_order)}
            else:
                test_chroms = _per_rbp(h5, peaksets, genome, index, table, options, span,
                                       summary, progress)
            _root_attrs(h5, options.kind, labels_order, groups, options,
                        _provenance(peaks, fasta, gtf, expression, options, peaksets,
                                    test_chroms))
    log.info("wrote %s", output)
    return summary


def _gc_stats(rows: pd.DataFrame, label: np.ndarray) -> dict:
    pos, neg = rows[label == 1], rows[label == 0]
    return {"n_positive": len(pos), "n_negative": len(neg),
            "gc_mean_positive": float(pos["gc"].mean()) if len(pos) else float("nan"),
            "gc_mean_negative": float(neg["gc"].mean()) if len(neg) else float("nan"),
            "plus_fraction_positive": float((pos["strand"] == "+").mean()) if len(pos) else 0.0,
            "plus_fraction_negative": float((neg["strand"] == "+").mean()) if len(neg) else 0.0}


def _per_rbp(h5, peaksets, genome, index, table, options, span, summary, progress):
    test_chroms_all: set[str] = set()
    for k, ps in enumerate(peaksets):
        rng = np.random.default_rng([options.seed, k])
        cells = _cell_types(table, options, [ps.cell_line])
        gene_expr = _gene_expression(index, table, cells)
        rows, labels, stats = per_rbp_rows(ps, index, genome, options.seq_length,
                                           options.negatives_ratio, options.gc_bins,
                                           options.candidate_factor, options.max_n_fraction,
                                           options.transcribed, rng)
        split, keep, test_chroms = assign_splits(
            rows, options, genome.contigs, span,
            balance=np.column_stack([labels[:, 0] == 1, labels[:, 0] == 0]))
        test_chroms_all.update(test_chroms)
        rows, labels, split = rows[keep].reset_index(drop=True), labels[keep], split[keep]
        stats = dict(stats, **_gc_stats(rows, labels[:, 0]))
        g = h5.create_group(ps.label)
        write_rows(g, rows, labels, split, genome, index, gene_expr,
                   index.genes["gene_id"].to_numpy(), options, progress, ps.label)
        chunked_dataset(g, "gc", (len(rows),), "f4", options.chunk_rows)[...] = \
            rows["gc"].to_numpy(np.float32)
        g.attrs["rbp"] = ps.rbp
        g.attrs["cell_line"] = ps.cell_line
        g.attrs["cell_type"] = ",".join(cells)
        g.attrs["test_chroms"] = json.dumps(test_chroms)
        for key, value in stats.items():
            g.attrs[key] = value
        summary.rows[ps.label] = _split_counts(split)
        summary.positives[ps.label] = int(labels.sum())
        summary.stats[ps.label] = stats
        log.info("%s: %d positives, %d negatives (GC %.3f vs %.3f), %d dropped at split "
                 "borders", ps.label, stats["n_positive"], stats["n_negative"],
                 stats["gc_mean_positive"], stats["gc_mean_negative"], int((~keep).sum()))
    return sorted(test_chroms_all)
