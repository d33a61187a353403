"""Training HDF5 files: writing a dataset's rows (windows fetched chunk by chunk) and
streaming batches of one split back (layout in docs/ARCHITECTURE.md)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from varbind.annotations.index import AnnotationIndex
from varbind.errors import VarbindError
from varbind.genomics.genome import Genome, window_start
from varbind.model.inputs import WindowBatch
from varbind.training.negatives import fetch_windows
from varbind.training.splits import SPLITS

if TYPE_CHECKING:
    from varbind.training.datasets import DatasetOptions


# ----------------------------------------------------------------------------- writing


def string_array(values, min_len: int = 1) -> np.ndarray:
    values = [str(v) for v in values]
    width = max([min_len] + [len(v.encode()) for v in values])
    return np.array(values, dtype=f"S{width}")


def chunked_dataset(group, name: str, shape: tuple, dtype, chunk_rows: int):
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
    d_seq = chunked_dataset(group, "seq", (n, ls), "u1", chunk)
    d_reg = chunked_dataset(group, "region", (n, lr), "i1", chunk)
    d_expr = chunked_dataset(group, "expression", (n,), "f4", chunk)
    chunked_dataset(group, "labels", labels.shape, "u1", chunk)[...] = labels
    chunked_dataset(group, "split", (n,), "u1", chunk)[...] = split
    chunked_dataset(group, "center", (n,), "i8", chunk)[...] = rows["center"].to_numpy(np.int64)
    group.create_dataset("chrom", data=string_array(rows["chrom"]))
    group.create_dataset("strand", data=string_array(rows["strand"]))
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
    group.create_dataset("gene_id", data=string_array(genes))


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
