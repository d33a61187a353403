"""Tests for varbind.parallel: partitions, shards, merge, resume and worker failure on Dask.

The Dask tests share one LocalCluster (2 worker processes, 1 thread each) and use a stand-in
scoring function with the core's contract (region through the index, VCF + TSV written
atomically, ``##varbind_run`` lines that change with every run).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import os
import re
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pysam
import pytest

from varbind import machine, parallel
from varbind.errors import InputFileError, VarbindError
from varbind.files import atomic_output
from varbind.parallel.cluster import ClusterSettings
from varbind.parallel.partitions import OPEN_END, Partition
from varbind.parallel.shards import ShardPaths, ShardResult

# ----------------------------------------------------------------------------- toy data

CONTIGS = {"chr1": 50_000, "chr2": 30_000, "chrM": 16_569}


def _toy_records() -> list[tuple[str, int, str, str]]:
    """(chrom, pos, ref, alt) in file order, with the cases partitioning must get right."""
    recs = []
    for i in range(40):  # chr1: every 1 kb from 500, SNVs
        recs.append(("chr1", 500 + 1000 * i, "A", "G"))
    recs.append(("chr1", 9_995, "ACGTACGTACGT", "A"))  # deletion spanning the 10 kb cut
    recs.append(("chr1", 20_500, "A", "C,T"))  # multi-allelic, same POS as an SNV
    recs.append(("chr1", 60_000, "A", "G"))  # past the declared contig length
    recs.sort(key=lambda r: r[1])
    for i in range(8):  # chr2: only in its first 8 kb, so its 10-20 kb window is empty
        recs.append(("chr2", 100 + 1000 * i, "C", "T"))
    recs.append(("chr2", 25_000, "G", "<DEL>"))  # symbolic
    recs.append(("chrM", 73, "A", "G"))
    recs.append(("chrM", 16_000, "T", "C"))
    return recs


def write_toy_vcf(path: Path, records=None, index: bool = True) -> Path:
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in CONTIGS.items()]
    lines += ['##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for k, (chrom, pos, ref, alt) in enumerate(_toy_records() if records is None else records):
        info = "END=25500" if alt == "<DEL>" else "."
        lines.append(f"{chrom}\t{pos}\tv{k}\t{ref}\t{alt}\t.\tPASS\t{info}")
    plain = path.with_suffix("")  # x.vcf.gz -> x.vcf
    plain.write_text("\n".join(lines) + "\n")
    if not index:
        return plain
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return Path(str(plain) + ".gz")


@dataclasses.dataclass
class ToyOptions:
    """The fields of varbind.scoring.options.ScoreOptions that the Dask layer touches."""

    vcf: Path
    output: Path | None
    table: Path | None = None
    region: str | None = None
    progress: bool = True
    summary: Path | None = None
    rbps: tuple = ("PUM2", "QKI")


def toy_score(options: ToyOptions) -> dict:
    """Stand-in scoring core: annotates each record of ``options.region`` (overlap semantics,
    as a tabix query returns them) with a deterministic value; TSV one row per ALT x RBP."""
    import cyvcf2

    vcf = cyvcf2.VCF(str(options.vcf))
    records = vcf(options.region) if options.region else vcf
    header = vcf.raw_header.rstrip("\n").split("\n")
    run = f"##varbind_run_command=toy {uuid.uuid4()} {time.time()}"
    header = header[:-1] + [run, '##INFO=<ID=TOY,Number=A,Type=Integer,Description="toy">',
                            f"##varbind_parameters=<Region={options.region or '.'}>",
                            header[-1]]
    body, rows, summary = [], [], {"records": 0, "scored": 0, "not_scored": {"symbolic": 0}}
    for rec in records:
        summary["records"] += 1
        fields = str(rec).rstrip("\n").split("\t")
        values = []
        for alt in rec.ALT:
            if alt.startswith("<"):
                summary["not_scored"]["symbolic"] += 1
                values.append(".")
                continue
            summary["scored"] += 1
            value = (rec.POS * 7 + len(rec.REF) * 3 + sum(map(ord, alt))) % 1000
            values.append(str(value))
            for j, rbp in enumerate(options.rbps):
                rows.append(f"{rec.CHROM}\t{rec.POS}\t{rec.ID}\t{rec.REF}\t{alt}\t{rbp}"
                            f"\t{(value + j) / 1000:.3f}")
        fields[7] = ("" if fields[7] == "." else fields[7] + ";") + "TOY=" + ",".join(values)
        body.append("\t".join(fields))
    if options.output:
        with atomic_output(options.output, suffixes=(".tbi",)) as tmp:
            with pysam.BGZFile(str(tmp), "wb") as out:
                out.write(("\n".join(header + body) + "\n").encode())
            pysam.tabix_index(str(tmp), preset="vcf", force=True)
    if options.table:
        with atomic_output(options.table) as tmp:
            tmp.write_text("\n".join([run, "chrom\tpos\tid\tref\talt\trbp\tdelta"] + rows) + "\n")
    return summary


def counting_score(calls: Path, options: ToyOptions) -> dict:
    """Stand-in that leaves a file per partition it scored (to see what resume skipped)."""
    calls.mkdir(exist_ok=True)
    (calls / options.region.replace(":", "_")).touch()
    return toy_score(options)


def killing_score(flag: Path, options: ToyOptions) -> dict:
    """Stand-in that kills its own worker process the first time it sees chr2."""
    if options.region.startswith("chr2:") and not flag.exists():
        flag.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return toy_score(options)


def killing_real_score(flag: Path, options):
    """The real (cached) scoring core, but the first chr2 partition kills its worker."""
    if options.region.startswith("chr2:") and not flag.exists():
        flag.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return parallel.score_vcf_cached(options)


def failing_score(options: ToyOptions) -> dict:
    if options.region.startswith("chrM:"):
        raise VarbindError("REF mismatch at chrM:73 (VCF A, genome G)", fix="check the build")
    return toy_score(options)


def counts_of(summary: dict, like: dict) -> dict:
    """The counting fields of a run summary (those a one-process stand-in run reports)."""
    return {k: summary[k] for k in like if k not in ("seconds", "variants_per_second",
                                                       "outputs", "parallel")}


def body_and_header(path: Path) -> tuple[list[str], list[str]]:
    """(lines outside ##varbind_run, the ##varbind_run lines) of a text/gz file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    return ([ln for ln in lines if not ln.startswith("##varbind_run")],
            [ln for ln in lines if ln.startswith("##varbind_run")])


@pytest.fixture
def toy_vcf(tmp_path) -> Path:
    (tmp_path / "in").mkdir()
    return write_toy_vcf(tmp_path / "in" / "toy.vcf.gz")


@pytest.fixture(scope="module")
def client():
    settings = ClusterSettings(dask="local:2", threads_per_worker=1, dashboard_address=":0",
                               memory_limit=0)
    with parallel.dask_client(settings) as c:
        yield c


# ----------------------------------------------------------------------------- parsing


def test_parse_region_forms():
    from varbind.genomics.region import Region, parse_region

    assert parse_region("chr1") == Region("chr1")
    assert parse_region("chr1").bounds(OPEN_END) == (1, OPEN_END)
    assert parse_region("chr1:1,000-2,000") == Region("chr1", 1000, 2000)
    assert parse_region("chr1:5-").bounds(OPEN_END) == (5, OPEN_END)
    assert parse_region("chr1:5") == Region("chr1", 5) == parse_region("chr1:5-")
    assert parse_region("{HLA-A*01:01}:5-9") == Region("HLA-A*01:01", 5, 9)
    assert str(parse_region("{HLA-A*01:01}:5-9")) == "{HLA-A*01:01}:5-9"
    assert str(parse_region(" chr1:1,000-2,000 ")) == "chr1:1000-2000"
    with pytest.raises(VarbindError, match="cannot read region 'chr1:x-y'"):
        parse_region("chr1:x-y")
    for empty in ("chr1:20-10", "chr1:0-5"):
        with pytest.raises(VarbindError, match="is empty"):
            parse_region(empty)


def test_parse_size_and_dask_spec():
    assert parallel.parse_size("2Mb") == 2_000_000
    assert parallel.parse_size("500kb") == 500_000
    assert parallel.parse_size("1500") == 1500
    with pytest.raises(VarbindError, match="cannot read size 'big'"):
        parallel.parse_size("big")
    assert parallel.parse_dask_spec("local:3") == 3
    assert parallel.parse_dask_spec("local") == machine.usable_cores()
    with pytest.raises(VarbindError, match="--dask 'slurm' not understood"):
        parallel.parse_dask_spec("slurm")
    with pytest.raises(VarbindError, match="asks for no workers"):
        parallel.parse_dask_spec("local:0")


def test_partition_region_and_ownership():
    p = Partition(index=3, contig="chr1", start=10_001, end=20_000, first=False)
    assert (p.name, p.region) == ("part-00003", "chr1:10001-20000")
    assert not p.owns(9_995) and p.owns(10_001)
    assert Partition(0, "HLA:1", 1, 5).region == "{HLA:1}:1-5"
    assert Partition(0, "chr1", 1, 5, first=True).owns(0)


# ----------------------------------------------------------------------------- planning


def test_plan_partitions_by_contig_and_window(toy_vcf):
    plan = parallel.plan_partitions(toy_vcf, partition_size=10_000)
    got = [(p.contig, p.start, p.end, p.first) for p in plan]
    assert got == [
        # the deletion at 9,995 (REF 12 nt, to 10,006) spans the 10,001 cut: moved to 10,007
        ("chr1", 1, 10_006, True),
        ("chr1", 10_007, 20_000, False),
        ("chr1", 20_001, 30_000, False),
        ("chr1", 30_001, 40_000, False),
        ("chr1", 40_001, OPEN_END, False),  # open end keeps the record past 50,000
        ("chr2", 1, 10_000, True),
        ("chr2", 20_001, OPEN_END, False),  # the <DEL> (END 25,500)
        ("chrM", 1, 10_000, True),
        ("chrM", 10_001, OPEN_END, False),
    ]
    assert [p.index for p in plan] == list(range(len(plan)))


def test_plan_partitions_within_region_and_alias(toy_vcf):
    plan = parallel.plan_partitions(toy_vcf, partition_size=10_000, region="1:15000-32000")
    assert [(p.contig, p.start, p.end, p.first) for p in plan] == [
        ("chr1", 15_000, 24_999, True), ("chr1", 25_000, 32_000, False)]
    assert parallel.plan_partitions(toy_vcf, 10_000, region="chr9") == []
    with pytest.raises(VarbindError, match="partition size must be at least 1"):
        parallel.plan_partitions(toy_vcf, partition_size=0)


def test_plan_partitions_cover_every_record_once(toy_vcf):
    plan = parallel.plan_partitions(toy_vcf, partition_size=3_000)
    vf = pysam.VariantFile(str(toy_vcf))
    owned = []
    for p in plan:
        owned += [(r.chrom, r.pos) for r in vf.fetch(region=p.region) if p.owns(r.pos)]
    assert owned == [(r.chrom, r.pos) for r in pysam.VariantFile(str(toy_vcf))]


# ----------------------------------------------------------------------------- indexing


def test_ensure_index_keeps_indexed_file(toy_vcf, tmp_path):
    assert parallel.ensure_index(toy_vcf, tmp_path / "work") == toy_vcf
    assert not (tmp_path / "work").exists()


def test_ensure_index_read_only_folder_indexes_a_link(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    vcf = write_toy_vcf(folder / "toy.vcf.gz")
    Path(str(vcf) + ".tbi").unlink()
    # root writes through chmod 555, so the read-only folder is what os.access reports
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    indexed = parallel.ensure_index(vcf, tmp_path / "work")
    assert not Path(str(vcf) + ".tbi").exists()
    assert indexed == tmp_path / "work" / "toy.vcf.gz" and indexed.is_symlink()
    assert Path(str(indexed) + ".tbi").exists()
    assert len(parallel.plan_partitions(indexed, 10_000)) == 9


def test_ensure_index_indexes_in_place_and_compresses_plain(tmp_path):
    vcf = write_toy_vcf(tmp_path / "toy.vcf.gz")
    Path(str(vcf) + ".tbi").unlink()
    assert parallel.ensure_index(vcf, tmp_path / "work") == vcf
    assert Path(str(vcf) + ".tbi").exists()
    plain = write_toy_vcf(tmp_path / "plain.vcf.gz", index=False)
    indexed = parallel.ensure_index(plain, tmp_path / "work")
    assert indexed == tmp_path / "work" / "plain.vcf.gz"
    assert sum(1 for _ in pysam.VariantFile(str(indexed))) == len(_toy_records())


def test_bcf_without_index_is_indexed_and_planned_like_the_vcf(toy_vcf, tmp_path):
    bcf = tmp_path / "toy.bcf"
    with pysam.VariantFile(str(toy_vcf)) as src, \
            pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    assert parallel.ensure_index(bcf, tmp_path / "work") == bcf
    assert Path(str(bcf) + ".csi").exists()
    assert parallel.plan_partitions(bcf, 10_000) == parallel.plan_partitions(toy_vcf, 10_000)


def test_ensure_index_unsorted_is_one_line_error(tmp_path):
    records = _toy_records()
    plain = write_toy_vcf(tmp_path / "bad.vcf.gz", records=[records[5]] + records, index=False)
    with pytest.raises(InputFileError, match="cannot index VCF .*bcftools sort"):
        parallel.ensure_index(plain, tmp_path / "work")
    with pytest.raises(InputFileError, match="VCF file not found"):
        parallel.ensure_index(tmp_path / "missing.vcf.gz", tmp_path / "work")


# ----------------------------------------------------------------------------- shards


def _shard(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = ("##fileformat=VCFv4.2\n##varbind_run_command=A\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def test_merge_vcf_drops_rows_a_partition_does_not_own(tmp_path):
    p0 = Partition(0, "chr1", 1, 100, True)
    p1 = Partition(1, "chr1", 101, 200, False)
    s0 = _shard(tmp_path, "a.vcf",
                HEAD + "chr1\t5\t.\tA\tG\t.\t.\t.\nchr1\t95\t.\tAC\tA\t.\t.\t.\n")
    s1 = _shard(tmp_path, "b.vcf", HEAD.replace("=A", "=B")
                + "chr1\t95\t.\tAC\tA\t.\t.\t.\nchr1\t150\t.\tA\tG\t.\t.\t.\n")
    out = tmp_path / "out.vcf.gz"
    parallel.merge_vcf_shards([(p0, s0), (p1, s1)], out, ["##varbind_run_command=merged"])
    with gzip.open(out, "rt") as fh:
        assert fh.read() == HEAD.replace("=A", "=merged") + (
            "chr1\t5\t.\tA\tG\t.\t.\t.\nchr1\t95\t.\tAC\tA\t.\t.\t.\nchr1\t150\t.\tA\tG\t.\t.\t.\n")
    assert [r.pos for r in pysam.VariantFile(str(out)).fetch("chr1", 100, 200)] == [150]


def test_merge_copies_bgzf_blocks_of_large_shards_verbatim(tmp_path):
    p0, p1 = Partition(0, "chr1", 1, 5_000, True), Partition(1, "chr1", 5_001, 99_999, False)

    def rows(positions):
        return "".join(f"chr1\t{p}\tv{p}\tA\tG\t.\tPASS\tX={'ACGT' * 20}\n"
                       for p in positions)

    texts = [HEAD + rows(range(1, 5_001, 2)), HEAD + rows(range(4_990, 12_001, 2))]
    paths = []
    for k, text in enumerate(texts):
        paths.append(tmp_path / f"s{k}.vcf.gz")
        with pysam.BGZFile(str(paths[-1]), "wb") as out:
            out.write(text.encode())
    out = tmp_path / "merged.vcf.gz"
    parallel.merge_vcf_shards([(p0, paths[0]), (p1, paths[1])], out)
    with gzip.open(out, "rt") as fh:
        assert fh.read() == HEAD + rows(range(1, 5_001, 2)) + rows(range(5_002, 12_001, 2))
    with open(paths[1], "rb") as fh:
        blocks = list(parallel.BgzfReader(fh)._next_block() for _ in range(4))
    assert len(blocks[2]) > 1000 and blocks[2] in out.read_bytes()  # copied, not recompressed
    assert [r.pos for r in pysam.VariantFile(str(out)).fetch("chr1", 9_000, 9_010)] == \
        [9_002, 9_004, 9_006, 9_008, 9_010]


def test_merge_vcf_refuses_shards_of_another_run(tmp_path):
    p0, p1 = Partition(0, "chr1", 1, 100, True), Partition(1, "chr1", 101, 200, False)
    s0 = _shard(tmp_path, "a.vcf", HEAD)
    s1 = _shard(tmp_path, "b.vcf", HEAD.replace("#CHROM", "##INFO=<ID=X>\n#CHROM"))
    with pytest.raises(VarbindError, match="b.vcf has a different header"):
        parallel.merge_vcf_shards([(p0, s0), (p1, s1)], tmp_path / "out.vcf")
    assert not (tmp_path / "out.vcf").exists()


def test_merge_tsv_keeps_header_once_and_filters_by_pos(tmp_path):
    p0, p1 = Partition(0, "chr1", 1, 100, True), Partition(1, "chr1", 101, 200, False)
    cols = "chrom\tpos\trbp\n"
    s0 = _shard(tmp_path, "a.tsv", cols + "chr1\t95\tQKI\n")
    s1 = _shard(tmp_path, "b.tsv", cols + "chr1\t95\tQKI\nchr1\t101\tQKI\nchr1\t150\tQKI\n")
    s2 = _shard(tmp_path, "c.tsv", cols)
    out = tmp_path / "out.tsv"
    p2 = Partition(2, "chr2", 1, 100, True)
    assert parallel.merge_tsv_shards([(p0, s0), (p1, s1), (p2, s2)], out) == 3
    assert out.read_text() == cols + "chr1\t95\tQKI\nchr1\t101\tQKI\nchr1\t150\tQKI\n"


def test_marker_round_trip_and_invalidation(tmp_path):
    p = Partition(0, "chr1", 1, 100, True)
    paths = ShardPaths.for_partition(tmp_path, p, ".vcf.gz", ".tsv")
    paths.vcf.write_text("x")
    paths.table.write_text("y")
    result = ShardResult(partition=p, records=4, seconds=0.5, summary={"scored": 3})
    parallel.write_marker(paths, result, "sha256:f")
    back = parallel.read_marker(paths, p, "sha256:f")
    assert (back.records, back.summary, back.skipped) == (4, {"scored": 3}, True)
    assert parallel.read_marker(paths, p, "sha256:other") is None
    assert parallel.read_marker(paths, dataclasses.replace(p, end=99), "sha256:f") is None
    paths.table.write_text("y changed")
    assert parallel.read_marker(paths, p, "sha256:f") is None


def test_fingerprint_ignores_output_names_only(toy_vcf, tmp_path):
    a = ToyOptions(vcf=toy_vcf, output=tmp_path / "a.vcf.gz", table=tmp_path / "a.tsv")
    b = dataclasses.replace(a, output=tmp_path / "b.vcf.gz", region="chr1", progress=False)
    c = dataclasses.replace(a, rbps=("PUM2",))
    assert parallel.options_fingerprint(a, toy_vcf) == parallel.options_fingerprint(b, toy_vcf)
    assert parallel.options_fingerprint(a, toy_vcf) != parallel.options_fingerprint(c, toy_vcf)


def test_combine_summaries_adds_counts_and_keeps_the_strongest_effects():
    def effect(delta, pos):
        return {"chrom": "chr1", "pos": pos, "delta": delta}

    got = parallel.combine_summaries([
        {"records": 3, "not_scored": {"symbolic": 1}, "models": [{"name": "m"}], "rbps": 2,
         "seconds": 9.0, "outputs": {"vcf": "part-0.vcf.gz"}, "strict": False,
         "top_effects": [effect(-0.5, 1), effect(0.2, 2)]},
        {"records": 4, "not_scored": {"symbolic": 2, "ref_mismatch": 1}, "models": [{"name": "m"}],
         "rbps": 2, "seconds": 7.0, "outputs": {"vcf": "part-1.vcf.gz"}, "strict": False,
         "top_effects": [effect(0.5, 9), effect(0.7, 8), effect(0.1, 7), effect(-0.3, 6),
                         effect(0.25, 5)]}])
    assert got == {"records": 7, "not_scored": {"ref_mismatch": 1, "symbolic": 3},
                   "models": [{"name": "m"}], "rbps": 2, "strict": False,
                   "top_effects": [effect(0.7, 8), effect(-0.5, 1), effect(0.5, 9),
                                   effect(-0.3, 6), effect(0.25, 5)]}


def test_pin_gpu_shows_each_worker_of_a_job_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    assert parallel.pin_gpu("varbind-worker-1", gpus=2) == "5"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert parallel.pin_gpu("varbind-worker-2", gpus=2) == "0"
    assert parallel.pin_gpu("scheduler", gpus=2) is None


def test_thread_environment_bounds_tensorflow_and_blas():
    env = parallel.thread_environment(3)
    assert env["TF_NUM_INTRAOP_THREADS"] == "3" and env["OMP_NUM_THREADS"] == "3"
    assert env["TF_NUM_INTEROP_THREADS"] == "1"


# ----------------------------------------------------------------------------- on Dask


def _single_and_sharded(tmp_path, toy_vcf, client, score_fn=toy_score, **kwargs):
    single = ToyOptions(vcf=toy_vcf, output=tmp_path / "single.vcf.gz",
                        table=tmp_path / "single.tsv")
    expected = toy_score(single)
    sharded = dataclasses.replace(single, output=tmp_path / "sharded.vcf.gz",
                                  table=tmp_path / "sharded.tsv")
    result = parallel.score_parallel(sharded, client=client, partition_size=7_000,
                                     score_fn=score_fn, progress=False, **kwargs)
    return single, sharded, expected, result


def assert_same_output(single: ToyOptions, sharded: ToyOptions) -> None:
    body_a, run_a = body_and_header(single.output)
    body_b, run_b = body_and_header(sharded.output)
    assert body_a == body_b and len(body_a) > 20
    assert run_a and run_b and run_a != run_b  # the runs' own lines differ, nothing else
    assert body_and_header(single.table)[0] == body_and_header(sharded.table)[0]


def test_sharded_output_equals_single_process(tmp_path, toy_vcf, client):
    single, sharded, expected, result = _single_and_sharded(
        tmp_path, toy_vcf, client, run_lines=["##varbind_run_command=varbind score --dask"])
    assert_same_output(single, sharded)
    assert body_and_header(sharded.output)[1] == ["##varbind_run_command=varbind score --dask"]
    assert result.partitions == 12 and result.partitions_skipped == 0
    assert result.records == len(_toy_records())
    assert counts_of(result.summary, expected) == expected  # no record scored twice
    assert len(result.peak_rss_per_worker) == 2  # both workers took partitions
    assert all(rss > 10 * 2**20 for rss in result.peak_rss_per_worker.values())
    assert Path(str(sharded.output) + ".tbi").exists()
    assert not parallel.default_shard_dir(sharded.output).exists()
    summary = json.loads(Path(str(sharded.output) + ".summary.json").read_text())
    assert summary["records"] == len(_toy_records())
    assert summary["parallel"]["partitions"] == 12


def test_resume_skips_complete_partitions(tmp_path, toy_vcf, client):
    calls = tmp_path / "calls"
    score_fn = functools.partial(counting_score, calls)
    single, sharded, _, first = _single_and_sharded(tmp_path, toy_vcf, client,
                                                     score_fn=score_fn, keep_shards=True)
    shard_dir = parallel.default_shard_dir(sharded.output)
    assert len(list(calls.iterdir())) == 12
    assert len(json.loads((shard_dir / "plan.json").read_text())["partitions"]) == 12
    # a partition whose marker is gone, one whose shard was damaged, one never finished
    (shard_dir / "part-00002.done.json").unlink()
    (shard_dir / "part-00005.tsv").write_text("chrom\tpos\n")
    (shard_dir / "part-00007.vcf.gz").unlink()
    for f in calls.iterdir():
        f.unlink()
    sharded.output.unlink()
    again = parallel.score_parallel(sharded, client=client, partition_size=7_000,
                                    score_fn=score_fn, progress=False, resume=True)
    redone = sorted(f.name for f in calls.iterdir())
    assert again.partitions_skipped == 9
    assert redone == ["chr1_14001-21000", "chr1_35001-42000", "chr2_1-7000"]
    assert counts_of(again.summary, first.summary) == counts_of(first.summary, first.summary)
    assert again.records == first.records
    assert_same_output(single, sharded)


def test_killed_worker_is_retried_without_loss_or_duplicates(tmp_path, toy_vcf, client):
    flag = tmp_path / "killed.flag"
    single, sharded, expected, result = _single_and_sharded(
        tmp_path, toy_vcf, client, score_fn=functools.partial(killing_score, flag))
    assert flag.exists()  # a worker really died mid-run
    assert_same_output(single, sharded)
    assert counts_of(result.summary, expected) == expected
    assert result.records == len(_toy_records())
    client.wait_for_workers(2, timeout=30)


def test_vcf_without_records_is_scored_in_one_task(tmp_path, client):
    vcf = write_toy_vcf(tmp_path / "empty.vcf.gz", records=[])
    options = ToyOptions(vcf=vcf, output=tmp_path / "out.vcf.gz", table=tmp_path / "out.tsv")
    result = parallel.score_parallel(options, client=client, score_fn=toy_score, progress=False)
    assert (result.partitions, result.summary["records"]) == (0, 0)
    body, _ = body_and_header(options.output)
    assert body[-1].startswith("#CHROM") and options.table.read_text().startswith("##")


def test_partition_error_reaches_the_caller_as_one_line(tmp_path, toy_vcf, client):
    options = ToyOptions(vcf=toy_vcf, output=tmp_path / "out.vcf.gz", table=tmp_path / "out.tsv")
    with pytest.raises(VarbindError, match="REF mismatch at chrM:73"):
        parallel.score_parallel(options, client=client, partition_size=7_000,
                                score_fn=failing_score, progress=False, retries=0)
    assert not options.output.exists() and not options.table.exists()


# ----------------------------------------------------------------------------- real scoring


@pytest.fixture(scope="module")
def scoring_world(tmp_path_factory):
    """The scoring tests' hand-built world (two contigs, an alias, an unknown contig, indels,
    multi-allelic, symbolic and bad records) with its toy models of known output."""
    import scoring_world as sw

    folder = tmp_path_factory.mktemp("scoring_world")
    world = sw.build_world(folder)
    world["vcf"] = sw.write_vcf(folder / "input.vcf.gz")
    return world


def _score_options(world, out: Path, name: str):
    from varbind.scoring.options import ScoreOptions

    return ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                        gtf=world["gtf"], expression=world["expression"],
                        output=out / f"{name}.vcf.gz", table=out / f"{name}.tsv",
                        command=f"test {name}")


def test_real_scoring_sharded_equals_single_process(scoring_world, tmp_path, client):
    from varbind.scoring.run import score_vcf

    single = _score_options(scoring_world, tmp_path, "single")
    expected = score_vcf(single).to_json()
    sharded = _score_options(scoring_world, tmp_path, "sharded")
    # 16-nt partitions: the deletion at chr1:31-33 spans the cut at 33, which moves to 34
    plan = parallel.plan_partitions(scoring_world["vcf"], 16)
    assert ("chr1", 17, 33) in [(p.contig, p.start, p.end) for p in plan]
    result = parallel.score_parallel(sharded, client=client, partition_size=16, progress=False)
    assert result.partitions == len(plan) == 11
    assert_same_output(single, sharded)
    with gzip.open(sharded.output, "rt") as fh:  # the parameters line names the user's region
        assert "Region=.>" in fh.read()
    for key in ("records", "records_scored", "alleles", "alleles_scored", "alleles_not_scored",
                "records_not_scored", "flags", "strands_scored", "windows", "models", "rbps",
                "top_effects"):
        assert result.summary[key] == expected[key], key
    # the models were loaded once per worker process, not once per partition
    loads = client.run(lambda: sum(k[0] == "scorer" for k in parallel.WORKER_CACHE))
    assert sum(loads.values()) <= 2 and max(loads.values()) == 1


@pytest.fixture(scope="module")
def simulated_world(tmp_path_factory, scoring_world):
    """The simulator's tiny world (three contigs, SNVs, indels, multi-allelic records) scored
    with the toy models (sequence; sequence + region + expression)."""
    from varbind.simulate import simulate_world

    world = simulate_world(tmp_path_factory.mktemp("sim") / "world", seed=3, size="tiny")
    return {"vcf": world.vcf, "fasta": world.genome, "gtf": world.gtf,
            "expression": world.expression, "models": scoring_world["models"]}


def test_simulated_world_sharded_equals_single_process_despite_a_killed_worker(
        simulated_world, tmp_path, client):
    from varbind.scoring.run import score_vcf

    single = _score_options(simulated_world, tmp_path, "single")
    expected = score_vcf(single).to_json()
    sharded = _score_options(simulated_world, tmp_path, "sharded")
    flag = tmp_path / "killed.flag"
    result = parallel.score_parallel(sharded, client=client, partition_size=20_000,
                                     score_fn=functools.partial(killing_real_score, flag),
                                     progress=False)
    assert flag.exists()  # a worker died while scoring chr2
    client.wait_for_workers(2, timeout=180)  # a restarted worker imports TF; slow under load
    plan = parallel.plan_partitions(simulated_world["vcf"], 20_000)
    assert {p.contig for p in plan} == {"chr1", "chr2", "chr3"} and len(plan) >= 10
    assert result.partitions == len(plan)
    assert result.records == expected["records"] > 200
    assert_same_output(single, sharded)
    for key in ("records_scored", "alleles", "alleles_scored", "alleles_not_scored", "flags",
                "strands_scored", "windows", "top_effects"):
        assert result.summary[key] == expected[key], key


def test_real_scoring_of_one_region_on_dask(scoring_world, tmp_path, client):
    from varbind.scoring.run import score_vcf

    single = dataclasses.replace(_score_options(scoring_world, tmp_path, "single"),
                                 region="chr1:30-130")
    score_vcf(single)
    sharded = dataclasses.replace(_score_options(scoring_world, tmp_path, "sharded"),
                                  region="chr1:30-130")
    result = parallel.score_parallel(sharded, client=client, partition_size=40, progress=False)
    assert result.partitions == 3 and len(result.task_seconds) == 3
    assert_same_output(single, sharded)


def _nothing_to_load(options) -> None:
    return None


def test_dask_workers_import_tensorflow_quietly(capfd):
    """A worker's warm-up imports TensorFlow without its C++ start-up notices (oneDNN, CUDA),
    which each worker would otherwise print to the terminal of ``varbind score --dask``."""
    from varbind.parallel.startup import warm_worker

    settings = ClusterSettings(dask="local:1", threads_per_worker=1, dashboard_address=":0",
                               memory_limit=0)
    with parallel.dask_client(settings) as fresh:  # its worker has not imported TensorFlow
        times = fresh.submit(warm_worker, _nothing_to_load, None, pure=False).result()
    assert times["import_seconds"] > 0.5  # the import happened in this task
    err = capfd.readouterr().err
    assert not re.search(r"oneDNN|cuda|absl", err, re.IGNORECASE), err


def test_cli_score_on_dask_equals_single_process(scoring_world, tmp_path, capsys, client,
                                                 monkeypatch):
    """``varbind score --scheduler`` (joining the test cluster, whose workers are warm; the
    ``--dask local:N`` path starts its cluster through the same ``dask_client``). Only the
    single-process run loads TensorFlow up front: on Dask the workers run the models."""
    import varbind.cli
    from varbind.cli import main

    loads = []
    monkeypatch.setattr(varbind.cli, "load_tensorflow_quietly", lambda: loads.append(1))
    w = scoring_world
    base = ["score", str(w["vcf"]), "--fasta", str(w["fasta"]), "--gtf", str(w["gtf"]),
            "--expression", str(w["expression"]), "--models", str(w["models"])]
    assert main(["-q", *base, "-o", str(tmp_path / "single.vcf.gz"),
                 "--tsv", str(tmp_path / "single.tsv")]) == 0
    assert len(loads) == 1
    assert main(["-q", *base, "-o", str(tmp_path / "sharded.vcf.gz"),
                 "--tsv", str(tmp_path / "sharded.tsv"), "--scheduler",
                 client.scheduler.address, "--threads-per-worker", "1",
                 "--partition-size", "50"]) == 0
    assert len(loads) == 1
    err = capsys.readouterr().err
    # on 1 or 2 workers: a worker still importing TensorFlow may leave all 6 to the other
    assert re.search(r"dask: 6 partitions \(0 resumed\) on [12] workers", err)
    single = ToyOptions(vcf=w["vcf"], output=tmp_path / "single.vcf.gz",
                        table=tmp_path / "single.tsv")
    sharded = ToyOptions(vcf=w["vcf"], output=tmp_path / "sharded.vcf.gz",
                         table=tmp_path / "sharded.tsv")
    body_a, _ = body_and_header(single.output)
    body_b, run_b = body_and_header(sharded.output)
    assert body_a == body_b
    assert f"##varbind_runDask={client.scheduler.address}" in run_b
    assert single.table.read_text() == sharded.table.read_text()


def test_cli_score_explain_on_dask_equals_single_process(scoring_world, tmp_path, capsys,
                                                         client):
    """``--explain`` with Dask: each partition writes an attribution shard; the merged file
    holds the same rows and maps, in the same order, as one process writes."""
    import h5py

    from varbind.cli import main
    from varbind.interpret.store import list_rows

    w = scoring_world
    runs = {}
    for name, extra in (("single", []), ("sharded", ["--scheduler", client.scheduler.address,
                                                     "--partition-size", "50"])):
        (tmp_path / name).mkdir()
        out = tmp_path / name
        assert main(["-q", "score", str(w["vcf"]), "--fasta", str(w["fasta"]), "--gtf",
                     str(w["gtf"]), "--expression", str(w["expression"]), "--models",
                     str(w["models"]), "-o", str(out / "o.vcf.gz"), "--tsv", str(out / "o.tsv"),
                     "--explain", "ig,gradcam", "--ig-steps", "4", "--explain-all",
                     "--explain-out", str(out / "attr.h5"), *extra]) == 0
        runs[name] = out
    assert "dask: 6 partitions" in capsys.readouterr().err
    single, sharded = runs["single"], runs["sharded"]
    assert body_and_header(single / "o.vcf.gz")[0] == body_and_header(sharded / "o.vcf.gz")[0]
    assert (single / "o.tsv").read_text() == (sharded / "o.tsv").read_text()
    rows = list_rows(single / "attr.h5")
    assert len(rows) > 20 and list_rows(sharded / "attr.h5") == rows
    with h5py.File(single / "attr.h5") as a, h5py.File(sharded / "attr.h5") as b:
        assert sorted(a["models"]) == sorted(b["models"])
        for model in a["models"]:
            ga, gb = a["models"][model], b["models"][model]
            assert sorted(ga) == sorted(gb) and "ig_alt" in ga
            for key in ga:  # maps, sequences, coordinates, labels, motif rows: all equal
                np.testing.assert_array_equal(ga[key][:], gb[key][:], err_msg=key)
    assert not (sharded / "o.vcf.gz.shards").exists()  # shards are removed after the merge
    summary = json.loads((sharded / "o.vcf.gz.summary.json").read_text())
    assert summary["outputs"]["attributions"] == str(sharded / "attr.h5")


@pytest.mark.parametrize("flags, message", [
    (["--resume"], "--resume only applies to a Dask run"),
    (["--shard-dir", "x"], "--shard-dir only applies to a Dask run"),
    (["--dask", "slurm"], "--dask 'slurm' not understood"),
    (["--dask", "local:2", "--scheduler", "tcp://h:1"], "--dask and --scheduler both given"),
    (["--dask", "local:1", "--partition-size", "huge"], "cannot read size 'huge'"),
])
def test_cli_dask_flag_errors_are_one_line(scoring_world, tmp_path, capsys, flags, message):
    from varbind.cli import main

    w = scoring_world
    code = main(["score", str(w["vcf"]), "--fasta", str(w["fasta"]), "--models",
                 str(w["models"]), "--gtf", str(w["gtf"]), "-o", str(tmp_path / "o.vcf.gz"),
                 *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.vcf.gz").exists()
