"""Partitions of a VCF: contiguous genomic spans cut through the VCF's index, so
that each record belongs to exactly one (coordinates 1-based, inclusive, as VCF ``POS``)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from varbind.errors import InputFileError, VarbindError
from varbind.genomics.region import Region, parse_region
from varbind.parallel.shards import SHARD_PREFIX

log = logging.getLogger(__name__)


#: Default cap on a partition's width in bases: none, partitions are cut by records
#: (:mod:`varbind.parallel.balance`). The plan is kept in the shard folder, so that
#: ``--resume`` finds the same partitions again whatever the number of workers.
DEFAULT_PARTITION_SIZE: int | None = None


#: End of the last partition of a contig: past any real contig, so no record is left out.
OPEN_END = 2**31 - 2


@dataclass(frozen=True)
class Partition:
    """One piece of the VCF: the records of ``contig`` whose POS lies in ``[start, end]``.

    ``first`` marks the first partition of a contig (or of the user's region): it owns
    every record its region query returns, including those that start before ``start``.
    """

    index: int
    contig: str
    start: int
    end: int
    first: bool = True

    @property
    def name(self) -> str:
        return f"{SHARD_PREFIX}{self.index:05d}"

    @property
    def region(self) -> str:
        """The partition's span as htslib reads it (``chr1:1-2000000``)."""
        return str(Region(self.contig, self.start, self.end))

    def owns(self, pos: int) -> bool:
        """Whether a record at 1-based ``pos`` returned by this partition's query is its own."""
        return self.first or pos >= self.start

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def plan_partitions(vcf: str | os.PathLike, partition_size: int | None = DEFAULT_PARTITION_SIZE,
                    region: str | None = None, slots: int = 1,
                    min_records: int | None = None) -> list[Partition]:
    """Cut an indexed VCF/BCF into partitions of about the same number of records.

    Each contig with records is cut where its records (counted from the index's bins, or
    record by record for a small file, see :mod:`varbind.parallel.balance`) reach multiples
    of the records per partition (:func:`~varbind.parallel.balance.records_per_partition`:
    several partitions per task slot), in the order of the file; ``partition_size`` adds a
    cut every so many bases as a cap on the width. Windows without records are dropped, and a
    cut that a record spans (a deletion, a structural variant with END) is moved past that
    record, so that no record overlaps two partitions and none is scored twice. The last
    window of a contig is open-ended, so records past the contig's declared length are kept.

    Parameters
    ----------
    vcf : bgzipped VCF with a ``.tbi``/``.csi`` index, or BCF with ``.csi``
    partition_size : most bases per partition, or None for no cap
    region : restrict the plan to one region (``chr1:1-5000000``)
    slots : task slots that will run the partitions (workers x partitions at a time)
    min_records : fewest records worth a partition (default
        :data:`varbind.parallel.balance.MIN_RECORDS_PER_PARTITION`)

    Returns
    -------
    list of :class:`Partition`, in file order, indexed 0..n-1.
    """
    from varbind.parallel.balance import MIN_RECORDS_PER_PARTITION, plan_cuts

    if partition_size is not None and partition_size < 1:
        raise VarbindError(f"partition size must be at least 1 base, got {partition_size}",
                           fix="pass --partition-size 2Mb or similar")
    with _open_indexed(vcf) as vf:
        contigs = _contigs_in_file_order(vf)
        lengths = {name: vf.header.contigs[name].length
                   for name in contigs if name in vf.header.contigs}
        bounds = None
        if region is not None:
            parsed = parse_region(region)
            r_contig, (r_start, r_end) = parsed.chrom, parsed.bounds(OPEN_END)
            match = _match_contig(r_contig, contigs)
            if match is None:
                log.warning("region %s: contig %s has no records in %s", region, r_contig, vcf)
                return []
            contigs, bounds = [match], (r_start, r_end)
        cuts_by_contig = plan_cuts(vcf, vf, contigs, lengths, bounds, slots, partition_size,
                                   min_records=min_records or MIN_RECORDS_PER_PARTITION)
        partitions: list[Partition] = []
        for contig in contigs:
            lo, hi = bounds if bounds else (1, OPEN_END)
            cuts = [c for c in _shift_cuts_past_spanning_records(vf, contig,
                                                                 cuts_by_contig[contig])
                    if c <= hi]
            starts = [lo] + cuts
            ends = [c - 1 for c in cuts] + [hi]
            for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
                if not _has_records(vf, contig, start, end):
                    continue
                partitions.append(Partition(index=len(partitions), contig=contig, start=start,
                                            end=end, first=i == 0))
    # a dropped empty first window makes the next one first in practice: keep it exact
    fixed, seen = [], set()
    for p in partitions:
        fixed.append(dataclasses.replace(p, first=p.first or p.contig not in seen))
        seen.add(p.contig)
    return fixed


def _shift_cuts_past_spanning_records(vf, contig: str, cuts: list[int]) -> list[int]:
    """Move each cut (1-based first base of a new window) past records that span it."""
    out: list[int] = []
    for cut in cuts:
        while True:
            spanning = [rec.stop for rec in vf.fetch(contig, cut - 1, cut)
                        if rec.start < cut - 1]
            if not spanning:
                break
            cut = max(spanning) + 1  # 0-based exclusive stop -> first 1-based base after
        if not out or cut > out[-1]:
            out.append(cut)
    return out


def _has_records(vf, contig: str, start: int, end: int) -> bool:
    return next(iter(vf.fetch(contig, start - 1, end)), None) is not None


def _contigs_in_file_order(vf) -> list[str]:
    """Contigs with records, in the order the file holds them."""
    names = list(vf.index.keys())
    header_order = list(vf.header.contigs)
    if vf.is_bcf:  # CSI of a BCF lists header contigs; its records follow header order
        names = [n for n in header_order if n in set(names)]
    return [n for n in names if _has_records(vf, n, 1, OPEN_END)]


def _match_contig(name: str, contigs: Sequence[str]) -> str | None:
    from varbind.genomics.genome import ContigResolver

    return ContigResolver(contigs).resolve(name)


@contextlib.contextmanager
def _open_indexed(vcf: str | os.PathLike):
    import pysam

    try:
        vf = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read VCF ({exc})", path=vcf,
                             fix="check it is a VCF, VCF.gz or BCF file") from None
    try:
        if vf.index is None:
            raise InputFileError("VCF has no index", path=vcf,
                                 fix=f"run 'bcftools index -t {vcf}' (or let varbind index it)")
        yield vf
    finally:
        vf.close()
