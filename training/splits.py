"""Train / validation / test splits of a dataset's rows: held-out test contigs or random
genomic blocks, validation by blocks, and no window reaching across two splits."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from varbind.genomics.genome import window_start

if TYPE_CHECKING:
    from varbind.training.datasets import DatasetOptions

log = logging.getLogger(__name__)

SPLITS = {"train": 0, "validation": 1, "test": 2}
SPLIT_MODES = ("chrom", "random")


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
    """Split block size: 5 windows, or more so that there are at most ~1000 blocks. Small
    blocks let a small data set's validation split reach its share of positives and
    negatives; rows whose window crosses into another split's block (a few %) are dropped."""
    extent = rows.groupby("chrom")["center"].agg(lambda c: c.max() - c.min() + 1).sum() \
        if len(rows) else 0
    return int(max(5 * span, extent // 1000, 1))


def fill_share(counts: np.ndarray, target: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """The ``blocks`` (in their given, random order) that bring every column's count closest
    to ``target``: a block joins when it lowers the summed relative shortfall and excess, so
    a block too large for the share is skipped rather than ending the fill.

    counts : (B, S) counts per block and column; target : (S,) counts wanted per column
    """
    scale = np.maximum(target, 1.0)
    held = np.zeros(counts.shape[1])
    chosen = []
    for i, row in enumerate(counts):
        if np.abs(held + row - target).dot(1 / scale) < np.abs(held - target).dot(1 / scale):
            held += row
            chosen.append(blocks[i])
    return np.asarray(chosen, dtype=np.int64)


def assign_splits(rows: pd.DataFrame, options: DatasetOptions, contig_order: list[str],
                  span: int, balance: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split code of each row and whether the row is kept.

    Test: whole contigs (``chrom``) or random blocks (``random``); validation: random blocks
    of the remaining rows, chosen so that every column of ``balance`` (e.g. the positives and
    the negatives) gets close to its share. A row is dropped when its window (``span`` nt on
    its strand, centered as the dataset centers it) reaches into a block with another split.

    balance : (N, S) non-negative counts per row to share out evenly (None: rows, (N, 1))

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
    held_out = ~test_contig
    block_of_row = np.searchsorted(uniq, keys(centers))
    weights = np.ones((len(rows), 1)) if balance is None else \
        np.asarray(balance, float).reshape(len(rows), -1)
    counts = np.zeros((len(uniq), weights.shape[1]))
    np.add.at(counts, block_of_row[held_out], weights[held_out])
    order = rng.permutation(len(uniq))
    order = order[counts[order].sum(axis=1) > 0]
    shares = [(1, options.val_fraction)]
    if options.split == "random":
        shares = [(2, options.test_fraction), (1, options.val_fraction)]
    for code, share in shares:
        free = order[codes[order] == 0]
        codes[fill_share(counts[free], share * counts.sum(axis=0), free)] = code

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
