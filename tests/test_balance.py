"""Tests for partitions balanced by records: index bins (varbind.parallel.index_bins), work profiles
and cuts (varbind.parallel.balance), and the plan varbind.parallel.partitions builds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest

from varbind.parallel import balance
from varbind.parallel import partitions as parallel
from varbind.parallel.index_bins import BlockMap, IndexFormatError, bin_spans, read_index_bins

#: A dense panel on a small genome: contig -> (length, records), most on the first contig.
DENSE = {"chrA": (1_600_000, 9_000), "chrB": (900_000, 4_000), "chrC": (500_000, 1_500)}


def write_vcf(path: Path, records, lengths: dict[str, int], csi: bool = False) -> Path:
    """(chrom, pos, ref, alt) rows, already sorted, under a minimal header; bgzipped and
    indexed (tabix, or CSI)."""
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in lengths.items()]
    lines += ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t." for c, p, r, a in records]
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True, csi=csi)
    return Path(str(plain) + ".gz")


def dense_records(seed: int = 0) -> list[tuple[str, int, str, str]]:
    """SNVs in clusters (genes) of very different density along each contig."""
    rng = np.random.default_rng(seed)
    out = []
    for contig, (length, n) in DENSE.items():
        centres = rng.integers(50_000, length - 50_000, size=6)
        spread = rng.integers(20_000, 60_000, size=6)
        pos = np.concatenate([rng.normal(c, s, size=n // 6)
                              for c, s in zip(centres, spread, strict=True)])
        for p in np.sort(np.clip(pos.astype(int), 1, length)):
            out.append((contig, int(p), "A", "G"))
    return out


@pytest.fixture(scope="module")
def dense_vcf(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dense")
    return write_vcf(folder / "dense.vcf.gz", dense_records(),
                     {c: n for c, (n, _) in DENSE.items()})


def owned_counts(vcf: Path, plan) -> list[int]:
    """Records each partition owns; asserts every record is owned exactly once, in order."""
    owned, counts = [], []
    with pysam.VariantFile(str(vcf)) as vf:
        for p in plan:
            mine = [(r.chrom, r.pos, r.stop) for r in vf.fetch(region=p.region) if p.owns(r.pos)]
            owned += mine
            counts.append(len(mine))
    with pysam.VariantFile(str(vcf)) as vf:
        assert owned == [(r.chrom, r.pos, r.stop) for r in vf]
    return counts


# ----------------------------------------------------------------------------- the index


def test_index_bins_count_records_and_bytes_per_contig(dense_vcf):
    bins = read_index_bins(dense_vcf)
    assert {c: b.records for c, b in bins.items()} == {c: n // 6 * 6 for c, (_, n) in
                                                       DENSE.items()}
    body = sum(len(line) for line in pysam.BGZFile(str(dense_vcf)) if not
               line.startswith(b"#"))
    # every record's bytes; htslib merges chunks that start in one block, so a few bytes of
    # one bin's neighbours are counted with it
    assert body <= sum(b.nbytes.sum() for b in bins.values()) <= 1.1 * body
    assert all(b.leaf == 16_384 for b in bins.values())


def test_csi_and_bcf_indexes_read_like_tabix(dense_vcf, tmp_path):
    tbi = read_index_bins(dense_vcf)
    csi = read_index_bins(write_vcf(tmp_path / "c.vcf.gz", dense_records(),
                                    {c: n for c, (n, _) in DENSE.items()}, csi=True))
    bcf = tmp_path / "d.bcf"
    with pysam.VariantFile(str(dense_vcf)) as src, \
            pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    pysam.tabix_index(str(bcf), preset="bcf", csi=True, force=True)
    with pysam.VariantFile(str(bcf)) as vf:
        from_bcf = read_index_bins(bcf, names=list(vf.header.contigs))
    for other in (csi, from_bcf):
        assert {c: b.records for c, b in other.items()} == {c: b.records for c, b in
                                                            tbi.items()}
    assert {c: b.nbytes.sum() for c, b in csi.items()} == \
        {c: b.nbytes.sum() for c, b in tbi.items()}


def test_bin_spans_follow_the_binning_scheme():
    start, end = bin_spans(np.array([0, 1, 9, 4681, 4682]), 14, 5)
    assert start.tolist() == [0, 0, 0, 0, 16_384]
    assert (end - start).tolist() == [2**29, 2**26, 2**23, 2**14, 2**14]


def test_block_map_and_bad_index(dense_vcf, tmp_path):
    blocks = BlockMap.of(dense_vcf)
    assert blocks.coffsets[0] == 0 and len(blocks.coffsets) > 3
    second = int(blocks.coffsets[1])
    assert blocks.uncompressed((second << 16) | 5) == int(blocks.uoffsets[1]) + 5
    fake = tmp_path / "x.vcf.gz"
    fake.write_bytes(b"")
    Path(str(fake) + ".tbi").write_bytes(pysam.BGZFile.__name__.encode())
    with pytest.raises((IndexFormatError, OSError)):
        read_index_bins(fake)


# ----------------------------------------------------------------------------- profiles


def test_index_profile_follows_the_records(dense_vcf):
    bins = read_index_bins(dense_vcf)
    with pysam.VariantFile(str(dense_vcf)) as vf:
        for contig in DENSE:
            estimate = balance.index_profile(bins[contig])
            exact = balance.counted_profile(vf, contig)
            assert estimate.total == exact.total
            errors = [abs(estimate.records_before(int(c)) - exact.records_before(int(c)))
                      for c in estimate.cuts]
            assert max(errors) <= 0.01 * exact.total  # byte shares track record shares


def test_records_per_partition_bounds():
    assert balance.records_per_partition(100_000, slots=2, min_records=1_000) == 12_500
    assert balance.records_per_partition(10_000, slots=2) == balance.MIN_RECORDS_PER_PARTITION
    assert balance.records_per_partition(10**9, slots=2) == balance.MAX_RECORDS_PER_PARTITION


def test_piece_counts_even_out_the_end_of_the_run():
    """Pieces cannot cross contigs: 50k / 32k / 18k records in the fewest pieces of at most
    12.5k leave one of 2 slots ending ~7% after the other; splitting further evens it."""
    totals = {"chr1": 49_990, "chr2": 32_065, "chr3": 17_945}
    fewest = {"chr1": 4, "chr2": 3, "chr3": 2}
    counts = balance.piece_counts(totals, slots=2, target=12_500)
    assert counts == {"chr1": 5, "chr2": 3, "chr3": 2}
    cost = balance.PARTITION_COST_RECORDS
    even = sum(totals.values()) / 2
    assert balance.run_end(totals, fewest, 2) > 1.07 * even + 4 * cost
    assert balance.run_end(totals, counts, 2) < 1.01 * even + 5 * cost
    # one slot: nothing to even out; never below min_records; never beyond twice the pieces
    assert balance.piece_counts(totals, slots=1, target=25_000) == {"chr1": 2, "chr2": 2,
                                                                     "chr3": 1}
    small = {f"c{i}": 2_850 for i in range(7)}
    assert balance.piece_counts(small, slots=2, target=5_000) == dict.fromkeys(small, 1)
    many = balance.piece_counts(totals, slots=8, target=1_000, min_records=1)
    assert sum(many.values()) <= balance.MAX_EXTRA_SPLIT * (50 + 33 + 18)


# ----------------------------------------------------------------------------- the plan


@pytest.mark.parametrize("by_index", [False, True])
def test_dense_vcf_partitions_hold_similar_record_counts(dense_vcf, monkeypatch, by_index):
    counted = []
    if by_index:  # the index's bins, no record read
        monkeypatch.setattr(balance, "COUNT_BELOW_BYTES", 0)
        monkeypatch.setattr(balance, "counted_profile", lambda *a: counted.append(a))
    plan = parallel.plan_partitions(dense_vcf, slots=2, min_records=500)
    assert not counted
    counts = owned_counts(dense_vcf, plan)
    target = balance.records_per_partition(sum(counts), 2, min_records=500)
    assert len(plan) >= 2 * balance.PARTITIONS_PER_SLOT - 1  # not one per contig
    # each contig splits into round(records / target) pieces; pieces vary by a 16-kb bin
    tolerance = 0.25 if by_index else 0.02
    for contig in DENSE:
        mine = [n for p, n in zip(plan, counts, strict=True) if p.contig == contig]
        assert max(mine) <= (1 + tolerance) * np.mean(mine)
        assert abs(np.mean(mine) - target) <= 0.5 * target
    assert [p.first for p in plan].count(True) == len(DENSE)


def test_fixed_windows_would_leave_a_worker_idle(dense_vcf):
    """The case of the issue: 2-Mb windows give one partition per contig."""
    plan = parallel.plan_partitions(dense_vcf, partition_size=2_000_000, min_records=10**6)
    assert [p.contig for p in plan] == list(DENSE)
    assert max(owned_counts(dense_vcf, plan)) / sum(owned_counts(dense_vcf, plan)) > 0.5


def test_partition_size_caps_the_width(dense_vcf):
    plan = parallel.plan_partitions(dense_vcf, partition_size=200_000, slots=2,
                                    min_records=500)
    for p, nxt in zip(plan, plan[1:], strict=False):
        if nxt.contig == p.contig:
            assert p.end - p.start < 200_000
    uncapped = parallel.plan_partitions(dense_vcf, slots=2, min_records=500)
    assert len(plan) > len(uncapped)
    owned_counts(dense_vcf, plan)


def test_region_plan_balances_the_records_inside_it(dense_vcf):
    plan = parallel.plan_partitions(dense_vcf, region="chrA:1-800000", slots=2,
                                    min_records=300)
    counts = owned_counts_in(dense_vcf, plan, "chrA", 1, 800_000)
    assert {p.contig for p in plan} == {"chrA"} and plan[0].start == 1
    assert plan[-1].end == 800_000 and len(plan) >= 4
    assert max(counts) <= 1.1 * np.mean(counts)


def owned_counts_in(vcf: Path, plan, contig: str, lo: int, hi: int) -> list[int]:
    with pysam.VariantFile(str(vcf)) as vf:
        counts = [sum(1 for r in vf.fetch(region=p.region) if p.owns(r.pos) and r.pos >= lo)
                  for p in plan]
        assert sum(counts) == sum(1 for r in vf.fetch(contig, lo - 1, hi) if r.pos >= lo)
    return counts


def test_cuts_move_past_spanning_records_and_no_record_is_split(tmp_path):
    records = [("chr1", p, "A", "G") for p in range(1_000, 3_000, 2)]
    records.append(("chr1", 2_000, "A" * 1_500, "A"))  # deletion over the middle cut
    records.sort(key=lambda r: r[1])
    vcf = write_vcf(tmp_path / "span.vcf.gz", records, {"chr1": 10_000})
    plan = parallel.plan_partitions(vcf, slots=1, min_records=250)
    # cuts near 1,500, 2,000 and 2,500; the last is inside the deletion (2,000-3,499), so it
    # moves to 3,500, past every record, and that empty window is dropped
    assert [(p.start, p.end) for p in plan] == [(1, 1_499), (1_500, 1_999),
                                                 (2_000, 3_499)]
    with pysam.VariantFile(str(vcf)) as vf:
        stops = [(r.pos, r.stop) for r in vf]
    for p in plan[1:]:  # no record starts before a cut and reaches it
        assert not [pos for pos, stop in stops if pos < p.start <= stop]
    counts = owned_counts(vcf, plan)
    assert sum(counts) == len(records)


def test_saturation_mutagenesis_finer_than_an_index_bin_is_counted(tmp_path, monkeypatch):
    """Three ALTs at every base of 4 kb: one 16-kb bin holds everything; the plan counts."""
    records = [("chr1", p, "A", a) for p in range(20_001, 24_001) for a in "CGT"]
    vcf = write_vcf(tmp_path / "sat.vcf.gz", records, {"chr1": 100_000})
    monkeypatch.setattr(balance, "COUNT_BELOW_BYTES", 0)
    plan = parallel.plan_partitions(vcf, slots=2, min_records=1_000)
    counts = owned_counts(vcf, plan)
    assert len(plan) == 8 and max(counts) - min(counts) <= 3  # ties at one POS stay together
    assert Counter(p.first for p in plan) == Counter({True: 1, False: 7})
