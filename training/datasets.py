"""Training datasets: CLIP peaks + genome + annotation + expression -> HDF5 windows.

Two kinds (layout in docs/ARCHITECTURE.md and the README's "Training data" section):

- ``multilabel`` (DeepRiPe / Multi-resBind): 50-nt bins with at least one positive RBP
  (:mod:`varbind.training.bins`); sequence window 150, region window 250 (DeepRiPe);
- ``per-rbp`` (POLARIS): peak-centred 1 kb windows and GC-/strand-matched negatives from
  transcribed sequence (:mod:`varbind.training.negatives`), one HDF5 group per RBP.

Every window is on the transcript strand (reverse complement on ``-``) with its centre base
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
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from varbind.annotations.expression import ExpressionTable
from varbind.annotations.index import AnnotationIndex
from varbind.training.bins import LABEL_RULES, multilabel_rows
from varbind.training.negatives import fetch_windows, per_rbp_rows
from varbind.training.peaks import (
    DEEPRIPE_GROUP_THRESHOLDS,
    PeakFilters,
    PeakSet,
    load_peaks,
    peak_sources,
    rbp_groups,
)

from varbind import __version__
from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output, file_digest
from varbind.genome import Genome, window_start
from varbind.inputs import WindowBatch

log = logging.getLogger(__name__)

KINDS = ("multilabel", "per-rbp")
SPLITS = {"train": 0, "validation": 1, "test": 2}
SPLIT_MODES = ("chrom", "random")
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
    split_block : block size (nt) for random and validation splits; None: 20 windows, or
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


# ----------------------------------------------------------------------------- splits


def choose_test_chroms(counts: pd.Series, contig_order: list[str], fraction: float) -> list[str]:
    """The last contigs (FASTA order) until they hold at least ``fraction`` of the rows,
    never all of the contigs that hold rows."""
    present = [c for c in contig_order if counts.get(c, 0) > 0]
    total = counts.sum()
    chosen: list[str] = []
    held = 0
    for c in reversed(present):
        if held >= fraction * total or len(chosen) == len(present) - 1:
            break
        chosen.append(c)
        held += counts[c]
    return chosen[::-1]


def auto_block(span: int, rows: pd.DataFrame) -> int:
    """Split block size: 20 windows, or more so that there are at most ~1000 blocks."""
    extent = rows.groupby("chrom")["center"].agg(lambda c: c.max() - c.min() + 1).sum() \
        if len(rows) else 0
    return int(max(20 * span, extent // 1000, 1))


def assign_splits(rows: pd.DataFrame, options: DatasetOptions, contig_order: list[str],
                  span: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split code of each row and whether the row is kept.

    Test: whole contigs (``chrom``) or random blocks (``random``); validation: random blocks
    of the remaining rows. A row is dropped when its window (``span`` nt on its strand,
    centred as the dataset centres it) reaches into a block with another split.

    Returns
    -------
    split : (N,) uint8 codes 0/1/2
    keep : (N,) bool
    test_chroms : the test contigs (``chrom`` mode), else []
    """
    rng = np.random.default_rng([options.seed, 7])
    chroms = rows["chrom"].to_numpy()
    centers = rows["center"].to_numpy(np.int64)
    lo = window_start(centers, span, rows["strand"].to_numpy())
    hi = lo + span - 1
    test_chroms: list[str] = []
    if options.split == "chrom":
        if options.test_chroms is None:
            counts = rows["chrom"].value_counts()
            test_chroms = choose_test_chroms(counts, contig_order, options.test_fraction)
        else:
            test_chroms = list(options.test_chroms)
    block = options.split_block or auto_block(span, rows)
    # a split code per (contig, block), keyed as one int64 per (contig, block)
    chrom_code = pd.factorize(chroms)[0].astype(np.int64) << 40

    def keys(positions):
        return chrom_code + np.maximum(positions, 0) // block

    test_contig = np.isin(chroms, test_chroms)
    uniq = np.unique(np.concatenate([keys(centers), keys(lo), keys(hi)]))
    codes = np.zeros(len(uniq), dtype=np.uint8)
    # blocks in a random order take test (random mode) then validation until those hold their
    # share of the rows, so the shares come out close to the fractions asked for
    held_out = ~test_contig
    block_of_row = np.searchsorted(uniq, keys(centers))
    counts = np.bincount(block_of_row[held_out], minlength=len(uniq))
    order = rng.permutation(len(uniq))
    order = order[counts[order] > 0]
    # a block joins a split while its middle row falls within that split's share
    mid = np.cumsum(counts[order]) - counts[order] / 2
    total = counts.sum()
    shares = [(1, options.val_fraction)]
    if options.split == "random":
        shares = [(2, options.test_fraction), (1, options.val_fraction)]
    start = 0.0
    for code, share in shares:
        take = (mid >= start * total) & (mid < (start + share) * total)
        codes[order[take]] = code
        start += share
    test_contig = np.isin(chroms, test_chroms)

    def split_of(positions):
        c = codes[np.searchsorted(uniq, keys(positions))]
        c[test_contig] = 2
        return c

    split = split_of(centers)
    keep = (split_of(lo) == split) & (split_of(hi) == split)
    if options.split == "chrom" and len(rows) and not (split[keep] == 2).any():
        log.warning("the test split is empty (test contigs: %s); pass --test-chroms with "
                    "contigs that hold windows, or --split random",
                    ", ".join(test_chroms) or "none: all windows are on one contig")
    return split, keep, test_chroms


# ----------------------------------------------------------------------------- writing


def _string_array(values, min_len: int = 1) -> np.ndarray:
    values = [str(v) for v in values]
    width = max([min_len] + [len(v.encode()) for v in values])
    return np.array(values, dtype=f"S{width}")


def _create(group, name: str, shape: tuple, dtype, chunk_rows: int):
    chunks = (max(1, min(shape[0], chunk_rows)),) + tuple(shape[1:]) if shape[0] else None
    kwargs = {"compression": "gzip", "compression_opts": 4, "shuffle": False} if chunks else {}
    return group.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks, **kwargs)


def write_rows(group, rows: pd.DataFrame, labels: np.ndarray, split: np.ndarray,
               genome: Genome, index: AnnotationIndex, gene_expression: np.ndarray,
               gene_ids: np.ndarray, options: DatasetOptions, progress: bool = False,
               desc: str = "windows") -> None:
    """Fetch each row's windows and write every dataset of the layout into ``group``.

    Parameters
    ----------
    group : h5py File or Group
    rows : DataFrame[chrom, strand, center, ...] (N rows, FASTA contig names)
    labels : (N, K) uint8; split : (N,) uint8
    gene_expression : (G,) log1p TPM per row of ``index.genes`` (for the nearest gene)
    gene_ids : (G,) the same genes' ids
    """
    from tqdm import tqdm

    n, ls, lr = len(rows), options.seq_length, options.region_length
    chunk = options.chunk_rows
    d_seq = _create(group, "seq", (n, ls), "u1", chunk)
    d_reg = _create(group, "region", (n, lr), "i1", chunk)
    d_expr = _create(group, "expression", (n,), "f4", chunk)
    _create(group, "labels", labels.shape, "u1", chunk)[...] = labels
    _create(group, "split", (n,), "u1", chunk)[...] = split
    _create(group, "center", (n,), "i8", chunk)[...] = rows["center"].to_numpy(np.int64)
    group.create_dataset("chrom", data=_string_array(rows["chrom"]))
    group.create_dataset("strand", data=_string_array(rows["strand"]))
    genes = np.full(n, "", dtype=object)
    chroms = rows["chrom"].to_numpy()
    strands = rows["strand"].to_numpy()
    centers = rows["center"].to_numpy(np.int64)
    bar = tqdm(total=n, desc=desc, unit="win", disable=not progress, file=sys.stderr,
               leave=False)
    for lo in range(0, n, chunk):
        sl = slice(lo, min(n, lo + chunk))
        seq = np.empty((sl.stop - lo, ls), dtype=np.uint8)
        reg = np.empty((sl.stop - lo, lr), dtype=np.int8)
        expr = np.zeros(sl.stop - lo, dtype=np.float32)
        for chrom in pd.unique(chroms[sl]):
            idx = np.flatnonzero(chroms[sl] == chrom)
            c, s = centers[sl][idx], strands[sl][idx]
            seq[idx] = fetch_windows(genome, chrom, c, ls, s)
            reg[idx] = index.region_codes(chrom, window_start(c, lr, s), lr, s)
            gene_rows = index.nearest_gene_rows(chrom, c, s, score=gene_expression)
            has = gene_rows >= 0
            expr[idx[has]] = gene_expression[gene_rows[has]]
            genes[lo + idx[has]] = gene_ids[gene_rows[has]]
        d_seq[sl] = seq
        d_reg[sl] = reg
        d_expr[sl] = expr
        bar.update(sl.stop - lo)
    bar.close()
    group.create_dataset("gene_id", data=_string_array(genes))


# ----------------------------------------------------------------------------- reading


def read_batches(h5, split: str | int, batch_size: int, group: str | None = None,
                 shuffle: bool = False, seed: int = 0,
                 block_rows: int = 16384) -> Iterator[tuple[WindowBatch, np.ndarray]]:
    """Stream ``(WindowBatch, labels)`` batches of one split from a training HDF5.

    Parameters
    ----------
    h5 : path, or an open ``h5py.File``
    split : ``"train"``, ``"validation"``, ``"test"`` or the code 0/1/2
    batch_size : rows per batch (the last may be smaller)
    group : the RBP group of a per-RBP file (required there)
    shuffle : visit blocks and rows within blocks in a random order (seeded)
    block_rows : rows read from disk at a time

    Yields
    ------
    WindowBatch (seq (B, Ls) u1, region (B, Lr) i1, expression (B,) f4; ``extra`` holds
    chrom, center, strand and gene_id), labels (B, K) uint8
    """
    import h5py

    if isinstance(h5, (str, os.PathLike)):
        with h5py.File(h5, "r") as fh:
            yield from read_batches(fh, split, batch_size, group, shuffle, seed, block_rows)
        return
    code = SPLITS.get(split, split) if isinstance(split, str) else int(split)
    if code not in (0, 1, 2):
        raise VarbindError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    g = _group(h5, group)
    split_codes = g["split"][...]
    n = len(split_codes)
    rng = np.random.default_rng(seed)
    starts = np.arange(0, n, block_rows)
    if shuffle:
        rng.shuffle(starts)
    names = ("seq", "region", "expression", "labels", "chrom", "center", "strand", "gene_id")
    buffer: dict | None = None  # rows read but not yet yielded
    for lo in starts:
        hi = min(n, lo + block_rows)
        rows = np.flatnonzero(split_codes[lo:hi] == code)
        if rows.size == 0:
            continue
        if shuffle:
            rng.shuffle(rows)
        block = {name: g[name][lo:hi][rows] for name in names}
        buffer = block if buffer is None else {k: np.concatenate([buffer[k], block[k]])
                                               for k in names}
        full = len(buffer["seq"]) // batch_size * batch_size
        for b in range(0, full, batch_size):
            yield _to_batch({k: v[b:b + batch_size] for k, v in buffer.items()})
        buffer = {k: v[full:] for k, v in buffer.items()}
    if buffer is not None and len(buffer["seq"]):
        yield _to_batch(buffer)


def _group(h5, group: str | None):
    kind = str(h5.attrs.get("kind", "multilabel"))
    if kind == "per-rbp":
        if group is None or group not in h5:
            names = ", ".join(json.loads(h5.attrs.get("rbps", "[]")))
            raise VarbindError(f"per-RBP dataset {h5.filename}: choose a group (RBP) among "
                               f"{names}; got {group!r}")
        return h5[group]
    return h5 if group is None else h5[group]


def _to_batch(d: dict) -> tuple[WindowBatch, np.ndarray]:
    extra = {"chrom": d["chrom"].astype(str), "center": d["center"],
             "strand": d["strand"].astype(str), "gene_id": d["gene_id"].astype(str)}
    return (WindowBatch(seq=d["seq"], region=d["region"], expression=d["expression"],
                        extra=extra), d["labels"])


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
                split, keep, test_chroms = assign_splits(rows, options, genome.contigs, span)
                rows, labels, split = rows[keep].reset_index(drop=True), labels[keep], split[keep]
                log.info("multilabel: %d bins (%d dropped at split borders), %d RBPs",
                         len(rows), int((~keep).sum()), len(labels_order))
                write_rows(h5, rows, labels, split, genome, index, gene_expr,
                           index.genes["gene_id"].to_numpy(), options, progress, "bins")
                _create(h5, "bin_start", (len(rows),), "i8", options.chunk_rows)[...] = \
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
        split, keep, test_chroms = assign_splits(rows, options, genome.contigs, span)
        test_chroms_all.update(test_chroms)
        rows, labels, split = rows[keep].reset_index(drop=True), labels[keep], split[keep]
        stats = dict(stats, **_gc_stats(rows, labels[:, 0]))
        g = h5.create_group(ps.label)
        write_rows(g, rows, labels, split, genome, index, gene_expr,
                   index.genes["gene_id"].to_numpy(), options, progress, ps.label)
        _create(g, "gc", (len(rows),), "f4", options.chunk_rows)[...] = \
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
