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
    """Split block size: 20 windows, or more so that there are at most ~1000 blocks."""
    extent = rows.groupby("chrom")["center"].agg(lambda c: c.max() - c.min() + 1).sum() \
        if len(rows) else 0
    return int(max(20 * span, extent // 1000, 1))


def assign_splits(rows: pd.DataFrame, options: DatasetOptions, contig_order: list[str],
                  span: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split code of each row and whether the row is kept.

    Test: whole contigs (``chrom``) or random blocks (``random``); validation: random blocks
    of the remaining rows. A row is dropped when its window (``span`` nt on its strand,
    centered as the dataset centers it) reaches into a block with another split.

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
