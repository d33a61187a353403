"""Where to cut a VCF so that every partition holds about the same number of records.

Work per partition is about proportional to its records, not to its bases: a dense VCF over a
small genome cut into fixed windows gives one partition per contig and leaves workers idle.
This module estimates how many records lie before each candidate cut of a contig, a
*work profile*, from the index (the uncompressed bytes of each bin, scaled to the contig's
record count, see :mod:`varbind.parallel.index_bins`) or, for small files and for stretches
denser than the index can resolve, by reading the records' positions. It then chooses cuts
that split each contig's records into pieces of at most :func:`records_per_partition`
records; a ``partition_size`` adds cuts every so many bases as a cap on the width.

Positions are 1-based, as in VCF ``POS``; a cut at ``c`` starts a new partition at ``c``.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: Partitions per task slot (worker thread running partitions): enough that a slot finishing
#: early finds more work, so that no worker idles while one ends the run.
PARTITIONS_PER_SLOT = 4
#: Fewest records worth a partition: each one costs a task, shard files, a marker and a
#: merge step (see ``tests/benchmarks/bench_dask.py``), kept well under 5% of its scoring.
MIN_RECORDS_PER_PARTITION = 5_000
#: Most records per partition, so that resume loses little and memory stays flat.
MAX_RECORDS_PER_PARTITION = 250_000
#: What one more partition costs, in records' worth of scoring (opening the shard, the
#: first chunk read before the model starts and the last one written after it ends, a padded
#: last batch, the shard's index and marker: about 0.3 s, the scoring of ~500 records).
PARTITION_COST_RECORDS = 500
#: At most this many times the fewest partitions when splitting pieces further to even out
#: the end of the run (:func:`piece_counts`).
MAX_EXTRA_SPLIT = 2
#: Files smaller than this (compressed) are counted record by record: exact, and fast.
COUNT_BELOW_BYTES = 1 << 20
#: An index bin holding more than this share of a partition's records is too coarse to cut
#: by: the contig is counted record by record instead.
COARSE_SHARE = 0.25


@dataclass(frozen=True)
class WorkProfile:
    """Records along one contig: ``before[i]`` records have POS < ``cuts[i]``.

    cuts : (M,) increasing 1-based positions where a partition may start
    before : (M,) non-decreasing record counts (estimates from the index, or exact)
    total : records of the contig
    exact : counted record by record
    """

    cuts: np.ndarray
    before: np.ndarray
    total: float
    exact: bool = False

    def records_before(self, pos: int) -> float:
        """Records with POS < ``pos`` (at the resolution of the cuts)."""
        i = int(np.searchsorted(self.cuts, pos, side="left"))
        return float(self.before[i]) if i < len(self.cuts) else float(self.total)

    def densest(self) -> float:
        """Most records between two neighbouring cuts."""
        edges = np.concatenate([[0.0], self.before, [self.total]])
        return float(np.diff(edges).max())


def records_per_partition(total: float, slots: int,
                          min_records: int = MIN_RECORDS_PER_PARTITION,
                          max_records: int = MAX_RECORDS_PER_PARTITION) -> int:
    """Records per partition for ``total`` records on ``slots`` task slots:
    :data:`PARTITIONS_PER_SLOT` partitions per slot, within ``[min_records, max_records]``."""
    wanted = math.ceil(total / max(1, PARTITIONS_PER_SLOT * slots))
    return max(1, min(max(wanted, min_records), max_records))


def piece_counts(totals: dict[str, float], slots: int, target: int,
                 min_records: int = MIN_RECORDS_PER_PARTITION) -> dict[str, int]:
    """How many equal pieces to cut each contig into.

    First the fewest pieces of at most ``target`` records. Pieces cannot cross contigs, so
    those sizes differ (three contigs of 50k, 32k and 18k records on 2 slots give 4 x 12.5k,
    3 x 10.7k and 2 x 9k: 9 pieces, one slot ending ~7% after the other). The partitions run
    in file order, each on the first free slot; this simulates that and splits the contig
    with the largest pieces further while the simulated end of the run (with
    :data:`PARTITION_COST_RECORDS` per partition) gets earlier, up to
    :data:`MAX_EXTRA_SPLIT` times as many partitions and never below ``min_records`` records
    (the example: 5 x 10k, 3 x 10.7k, 2 x 9k, within 1% of even).

    Parameters
    ----------
    totals : records of each contig, in file order
    slots : task slots running the partitions
    target : most records per piece
    min_records : fewest records worth a further split

    Returns
    -------
    dict contig -> pieces (at least 1).
    """
    counts = {c: max(1, math.ceil(round(t / max(target, 1), 6))) for c, t in totals.items()}
    if slots < 2 or not counts:
        return counts
    best, best_end = dict(counts), run_end(totals, counts, slots)
    limit = MAX_EXTRA_SPLIT * sum(counts.values())
    while sum(counts.values()) < limit:
        contig = max(counts, key=lambda c: totals[c] / counts[c])
        if totals[contig] / (counts[contig] + 1) < min_records:
            break
        counts[contig] += 1
        end = run_end(totals, counts, slots)
        if end < best_end:
            best, best_end = dict(counts), end
    return best


def run_end(totals: dict[str, float], counts: dict[str, int], slots: int) -> float:
    """When the last of ``slots`` slots ends, in records, if each contig's ``counts`` equal
    pieces (plus :data:`PARTITION_COST_RECORDS` each) go in file order to the first free
    slot."""
    free = [0.0] * slots
    for contig, total in totals.items():
        for _ in range(counts[contig]):
            heapq.heapreplace(free, free[0] + total / counts[contig] + PARTITION_COST_RECORDS)
    return max(free)


def counted_profile(vf, contig: str, lo: int = 1, hi: int | None = None) -> WorkProfile:
    """The exact profile of ``contig`` (records with POS in ``[lo, hi]``), read from the file."""
    stop = None if hi is None else hi
    positions = np.fromiter((rec.pos for rec in vf.fetch(contig, lo - 1, stop)
                             if rec.pos >= lo), dtype=np.int64)
    cuts = np.unique(positions)
    before = np.searchsorted(positions, cuts, side="left").astype(np.float64)
    return WorkProfile(cuts=cuts, before=before, total=float(len(positions)), exact=True)


def index_profile(bins) -> WorkProfile | None:
    """The profile of one contig from its index bins
    (:class:`varbind.parallel.index_bins.ContigBins`), at the resolution of the smallest bins;
    None when the index does not count records.

    Each bin's bytes are spread evenly over the leaf windows it spans (within the stretch the
    leaf bins cover), then scaled so that the contig's bytes equal its records.
    """
    if not bins.records:
        return None
    leaves = bins.end - bins.start == bins.leaf
    extent = int(bins.end[leaves].max() if leaves.any() else bins.start.min() + bins.leaf)
    n_windows = max(1, -(-extent // bins.leaf))
    weight = np.zeros(n_windows)
    for start, end, nbytes in zip(bins.start, bins.end, bins.nbytes, strict=True):
        first = min(int(start) // bins.leaf, n_windows - 1)
        last = max(first + 1, min(int(end) // bins.leaf, n_windows))
        weight[first:last] += nbytes / (last - first)
    if weight.sum() <= 0:
        return None
    per_window = weight * (bins.records / weight.sum())
    cuts = np.arange(1, n_windows, dtype=np.int64) * bins.leaf + 1
    return WorkProfile(cuts=cuts, before=np.cumsum(per_window)[:-1], total=float(bins.records))


def work_profiles(vcf: str | os.PathLike, vf, contigs: Sequence[str],
                  bounds: tuple[int, int] | None = None) -> dict[str, WorkProfile]:
    """A profile for each of ``contigs``: from the index, or counted for a small file, an
    index without record counts, or a region (``bounds``)."""
    from varbind.parallel.index_bins import IndexFormatError, read_index_bins

    lo, hi = bounds if bounds else (1, None)
    if bounds is None and os.path.getsize(vcf) >= COUNT_BELOW_BYTES:
        try:
            bins = read_index_bins(vcf, names=list(vf.header.contigs))
        except (IndexFormatError, OSError) as exc:
            log.info("planning by counting records: %s", exc)
            bins = {}
        profiles = {c: index_profile(bins[c]) for c in contigs if c in bins}
        if all(profiles.get(c) is not None for c in contigs):
            return profiles
    return {c: counted_profile(vf, c, lo, hi) for c in contigs}


def refine_coarse(profiles: dict[str, WorkProfile], vf, target: int) -> dict[str, WorkProfile]:
    """Count the contigs whose index bins are too coarse to cut ``target``-record pieces."""
    out = {}
    for contig, profile in profiles.items():
        if not profile.exact and profile.densest() > COARSE_SHARE * target:
            log.debug("%s: index bins too coarse for %d-record partitions; counting", contig,
                      target)
            profile = counted_profile(vf, contig)
        out[contig] = profile
    return out


def balanced_cuts(profile: WorkProfile, lo: int, hi: int, pieces: int) -> list[int]:
    """Cuts in ``(lo, hi]`` that split the records of ``[lo, hi]`` into ``pieces`` equal
    pieces (each cut at the candidate nearest its share), so that no partition is much
    longer than the others."""
    inside = (profile.cuts > lo) & (profile.cuts <= hi)
    cuts, before = profile.cuts[inside], profile.before[inside]
    first, last = profile.records_before(lo), profile.records_before(hi + 1)
    if pieces <= 1 or not len(cuts):
        return []
    goals = first + (last - first) * np.arange(1, pieces) / pieces
    right = np.clip(np.searchsorted(before, goals, side="left"), 0, len(cuts) - 1)
    left = np.clip(right - 1, 0, len(cuts) - 1)
    nearer = np.where(np.abs(before[left] - goals) <= np.abs(before[right] - goals), left, right)
    return sorted({int(c) for c in cuts[nearer]})


def grid_cuts(lo: int, hi: int, length: int, size: int | None) -> list[int]:
    """Cuts every ``size`` bases from ``lo`` up to the contig's declared ``length``."""
    if not size:
        return []
    return list(range(lo + size, min(hi, length) + 1, size))


def plan_cuts(vcf: str | os.PathLike, vf, contigs: Sequence[str], lengths: dict[str, int],
              bounds: tuple[int, int] | None, slots: int, partition_size: int | None,
              min_records: int = MIN_RECORDS_PER_PARTITION) -> dict[str, list[int]]:
    """The cuts of each contig: balanced by records, plus every ``partition_size`` bases.

    Parameters
    ----------
    vcf, vf : the indexed VCF, and it opened with pysam
    contigs : contigs with records, in file order
    lengths : declared contig lengths (0 or missing: unknown)
    bounds : (start, end) of the user's region on its one contig, or None
    slots : task slots the partitions will run on
    partition_size : cap on a partition's width in bases, or None
    min_records : fewest records worth a partition

    Returns
    -------
    dict contig -> sorted 1-based cuts (records spanning a cut are not yet accounted for).
    """
    profiles = work_profiles(vcf, vf, contigs, bounds)
    lo, hi = bounds if bounds else (1, 2**31 - 2)
    totals = {c: profiles[c].records_before(hi + 1) - profiles[c].records_before(lo)
              for c in contigs}
    total = sum(totals.values())
    target = records_per_partition(total, slots, min_records=min_records)
    pieces = piece_counts(totals, slots, target, min_records)
    profiles = refine_coarse(profiles, vf, target)
    out = {}
    for contig in contigs:
        cuts = set(balanced_cuts(profiles[contig], lo, hi, pieces[contig]))
        cuts.update(grid_cuts(lo, hi, lengths.get(contig) or 0, partition_size))
        out[contig] = sorted(cuts)
    log.debug("plan: %d records, %d per partition on %d slots", total, target, slots)
    return out
