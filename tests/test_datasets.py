"""Training datasets on a hand-built world: labels, strands, splits, GC matching, CLI."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varbind.annotations.index import AnnotationIndex
from varbind.cli import main
from varbind.encoding import decode, reverse_complement, reverse_complement_codes
from varbind.errors import VarbindError
from varbind.genomics.genome import Genome, window_start
from varbind.genomics.peaks import PeakFilters, load_peaks
from varbind.training.bins import bin_center, multilabel_rows, peak_bins
from varbind.training.datasets import (
    DatasetOptions,
    assign_splits,
    build_dataset,
    read_batches,
)
from varbind.training.negatives import fetch_windows, match_gc
from varbind.training.splits import fill_share

CONTIGS = {"chr1": 20_000, "chr2": 20_000, "chr3": 12_000}
# GTF rows (1-based inclusive): chr1 G1 '+' three exons (coding), G2 '-' at 10-19 kb;
# chr2 G3 '+' single-exon lncRNA, G4 '-'; chr3 G5 '+'.
GTF = [
    ("chr1", "exon", 1001, 2000, "+", "G1", "T1"), ("chr1", "exon", 4001, 5000, "+", "G1", "T1"),
    ("chr1", "exon", 8001, 9000, "+", "G1", "T1"), ("chr1", "CDS", 1501, 2000, "+", "G1", "T1"),
    ("chr1", "CDS", 4001, 5000, "+", "G1", "T1"), ("chr1", "CDS", 8001, 8500, "+", "G1", "T1"),
    ("chr1", "exon", 10001, 13000, "-", "G2", "T2"),
    ("chr1", "exon", 16001, 19000, "-", "G2", "T2"),
    ("chr2", "exon", 501, 19500, "+", "G3", "T3"), ("chr2", "exon", 2001, 18000, "-", "G4", "T4"),
    ("chr3", "exon", 101, 11900, "+", "G5", "T5"),
]
EXPRESSION = "gene_id\tgene_name\tHepG2\nG1\tONE\t9\nG2\tTWO\t0\nG3\tTHREE\t99\n"


def write_genome(path, rng):
    """Random sequence whose GC drifts along each contig in 1-kb steps (0.25 to 0.75)."""
    seqs = {}
    for name, length in CONTIGS.items():
        gc = np.repeat(rng.uniform(0.25, 0.75, length // 1000 + 1), 1000)[:length]
        u = rng.random(length)
        at = rng.random(length) < 0.5
        letters = np.where(u < gc, np.where(at, "G", "C"), np.where(at, "A", "T"))
        seqs[name] = "".join(letters)
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                fh.write(seq[i:i + 60] + "\n")
    return seqs


def narrowpeak(rows):
    return "".join(f"{c}\t{s}\t{e}\tp{i}\t1000\t{st}\t5\t{p}\t2\t-1\n"
                   for i, (c, s, e, st, p) in enumerate(rows))


# RBP A and B peaks worked out by hand against 50-nt bins (chrom, start, end, strand, -log10p):
A_PEAKS = [
    ("chr1", 1010, 1040, "+", 5),   # all in bin [1000,1050)              -> bin 20
    ("chr1", 1040, 1070, "+", 5),   # 10 nt in bin 20, 20 of 30 in bin 21 -> bin 21
    ("chr1", 1090, 1110, "+", 5),   # 10 + 10 of 20: no bin holds more than half -> none
    ("chr1", 9500, 9530, "+", 5),   # bin 190 is not transcribed on '+'  -> dropped
    ("chr1", 4010, 4040, "-", 5),   # no '-' gene there                  -> dropped
]
B_PEAKS = [
    ("chr1", 1045, 1075, "+", 5),   # 5 in bin 20, 25 of 30 in bin 21     -> bin 21
    ("chr1", 12001, 12031, "-", 5),  # bin 240 on '-' (G2)                -> bin 240
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    rng = np.random.default_rng(0)
    seqs = write_genome(root / "genome.fa", rng)
    gtf = "".join(f"{c}\tT\t{f}\t{s}\t{e}\t.\t{st}\t.\tgene_id \"{g}\"; transcript_id \"{t}\";\n"
                  for c, f, s, e, st, g, t in GTF)
    (root / "genes.gtf").write_text(gtf)
    (root / "expr.tsv").write_text(EXPRESSION)
    peaks = root / "peaks"
    peaks.mkdir()
    (peaks / "A.narrowPeak").write_text(narrowpeak(A_PEAKS))
    (peaks / "B.narrowPeak").write_text(narrowpeak(B_PEAKS))
    # C: many peaks inside transcribed sequence on both strands, for the per-RBP checks
    c_rows = []
    for name, lo, hi, strand in (("chr1", 1000, 9000, "+"), ("chr1", 10000, 19000, "-"),
                                 ("chr2", 500, 19500, "+"), ("chr2", 2000, 18000, "-"),
                                 ("chr3", 100, 11900, "+")):
        for s in rng.integers(lo, hi - 40, 12):
            c_rows.append((name, int(s), int(s) + 40, strand, 5))
    (peaks / "C.narrowPeak").write_text(narrowpeak(c_rows))
    (root / "manifest.tsv").write_text(
        "rbp\tpath\tcell_line\nA\tpeaks/A.narrowPeak\tHepG2\nB\tpeaks/B.narrowPeak\tHepG2\n"
        "C\tpeaks/C.narrowPeak\tHepG2\n")
    return {"root": root, "seqs": seqs, "c_peaks": c_rows}


def paths(world):
    r = world["root"]
    return dict(peaks=r / "manifest.tsv", fasta=r / "genome.fa", gtf=r / "genes.gtf",
                expression=r / "expr.tsv")


# ----------------------------------------------------------------------------- labels


def test_peak_bins_half_peak_rule_by_hand():
    peaks = pd.DataFrame({"start": [1010, 1040, 1090, 48, 0], "end": [1040, 1070, 1110, 53, 150],
                          "summit": [1020, 1060, 1100, 50, 75]})
    # [48,53): 2 nt in bin 0, 3 of 5 in bin 1 -> bin 1; [0,150) is 3 bins wide -> none
    assert peak_bins(peaks, 50).tolist() == [20, 21, -1, 1, -1]
    assert peak_bins(peaks, 50, "summit").tolist() == [20, 21, 22, 1, 1]


def test_multilabel_rows_by_hand(world, tmp_path):
    genome = Genome(world["root"] / "genome.fa")
    index = AnnotationIndex.from_gtf(world["root"] / "genes.gtf", use_cache=False)
    sets = load_peaks(world["root"] / "manifest.tsv", contigs=genome.contigs, rbps=["A", "B"])
    rows, labels = multilabel_rows(sets, index, 50)
    got = [(c, s, b, tuple(lab)) for (c, s, b), lab in
           zip(rows[["chrom", "strand", "bin_start"]].values.tolist(), labels.tolist(),
               strict=True)]
    assert got == [("chr1", "+", 1000, (1, 0)), ("chr1", "+", 1050, (1, 1)),
                   ("chr1", "-", 12000, (0, 1))]
    # the center base sits so that the 150-nt window has the bin in its middle on both strands
    assert rows["center"].tolist() == [1025, 1075, 12024]


def test_bin_center_windows_cover_the_same_span_on_both_strands():
    centers = bin_center(np.array([1000, 1000]), 50, np.array(["+", "-"]))
    starts = window_start(centers, 150, np.array(["+", "-"]))
    assert starts.tolist() == [950, 950]


# ----------------------------------------------------------------------------- build


@pytest.fixture(scope="module")
def multilabel_h5(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("ml") / "ml.h5"
    options = DatasetOptions(kind="multilabel", test_chroms=["chr3"], chunk_rows=2)
    summary = build_dataset(out, **paths(world), options=options, rbps=["A", "B"],
                            cache_dir=out.parent / "cache")
    return out, summary


def test_multilabel_file_layout_and_values(multilabel_h5, world):
    path, summary = multilabel_h5
    with h5py.File(path, "r") as h5:
        assert h5.attrs["kind"] == "multilabel"
        assert json.loads(h5.attrs["rbps"]) == ["A", "B"]
        assert json.loads(h5.attrs["rbp_groups"]) == {"A": "low", "B": "low"}
        assert (h5.attrs["seq_length"], h5.attrs["region_length"], h5.attrs["bin_size"]) == \
            (150, 250, 50)
        n = len(h5["split"])
        shapes = {k: h5[k].shape for k in ("seq", "region", "expression", "labels", "split",
                                           "chrom", "center", "strand", "gene_id")}
        assert shapes == {"seq": (n, 150), "region": (n, 250), "expression": (n,),
                          "labels": (n, 2), "split": (n,), "chrom": (n,), "center": (n,),
                          "strand": (n,), "gene_id": (n,)}
        assert h5["seq"].dtype == np.uint8 and h5["region"].dtype == np.int8
        assert h5["seq"].chunks == (2, 150) and h5["seq"].compression == "gzip"
        centers = h5["center"][...].tolist()
        strands = h5["strand"][...].astype(str).tolist()
        seq = h5["seq"][...]
        region = h5["region"][...]
        expr = h5["expression"][...]
        genes = h5["gene_id"][...].astype(str).tolist()
        prov = json.loads(h5.attrs["provenance"])
    assert centers == [1025, 1075, 12024]
    chr1 = world["seqs"]["chr1"]
    for i, (c, s) in enumerate(zip(centers, strands, strict=True)):
        start = window_start(c, 150, s)
        genomic = chr1[start:start + 150]
        expected = reverse_complement(genomic) if s == "-" else genomic
        assert decode(seq[i]) == expected  # minus-strand rows are reverse complements
    i = centers.index(12024)
    assert genes[i] == "G2" and expr[i] == 0.0
    # G2 is '-' exon [10000,13000): the 250-nt region window is all ncRNA exon (code 4)
    assert (region[i] == 4).all()
    assert genes[0] == "G1" and expr[0] == pytest.approx(np.log(10))
    # genomic [900,1150) on '+': promoter [900,1000) then 5'UTR (G1 is coding from 1500)
    assert region[0].tolist() == [6] * 100 + [1] * 150
    with h5py.File(path, "r") as h5:
        np.testing.assert_array_equal(h5["labels"][...], [[1, 0], [1, 1], [0, 1]])
    assert prov["inputs"]["fasta"]["digest"].startswith("sha256:")
    assert set(prov["inputs"]["peak_files"]) == {"A", "B"}
    assert prov["parameters"]["bin_size"] == 50
    assert summary.positives["B"] >= 1


def test_read_batches_streams_each_split(multilabel_h5):
    path, _ = multilabel_h5
    with h5py.File(path, "r") as h5:
        split = h5["split"][...]
        seq = h5["seq"][...]
    for name, code in (("train", 0), ("validation", 1), ("test", 2)):
        batches = list(read_batches(path, name, batch_size=2, block_rows=1))
        rows = np.flatnonzero(split == code)
        assert sum(len(b) for b, _ in batches) == len(rows)
        if len(rows):
            got = np.concatenate([b.seq for b, _ in batches])
            np.testing.assert_array_equal(got, seq[rows])
            batch, labels = batches[0]
            assert labels.shape[1] == 2 and batch.region.shape[1] == 250
            assert set(batch.extra) == {"chrom", "center", "strand", "gene_id"}
    with pytest.raises(VarbindError, match="split must be one of"):
        list(read_batches(path, "holdout", 2))


@pytest.fixture(scope="module")
def per_rbp_h5(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("pr") / "pr.h5"
    options = DatasetOptions(kind="per-rbp", seq_length=200, region_length=200, split="random",
                             split_block=3000, test_fraction=0.2, val_fraction=0.2,
                             filters=PeakFilters(), candidate_factor=20, gc_bins=20)
    summary = build_dataset(out, **paths(world), options=options, rbps=["C"],
                            cache_dir=out.parent / "cache")
    return out, summary


def test_per_rbp_positives_negatives_gc_and_strands(per_rbp_h5, world):
    path, summary = per_rbp_h5
    with h5py.File(path, "r") as h5:
        assert h5.attrs["kind"] == "per-rbp" and json.loads(h5.attrs["rbps"]) == ["C"]
        g = h5["C"]
        labels = g["labels"][...][:, 0]
        gc = g["gc"][...]
        strands = g["strand"][...].astype(str)
        chroms = g["chrom"][...].astype(str)
        centers = g["center"][...]
        seq = g["seq"][...]
        assert g["labels"].shape[1] == 1
    pos, neg = labels == 1, labels == 0
    # one negative per positive was drawn; windows at split borders drop from both
    assert pos.sum() > 30 and abs(neg.sum() - pos.sum()) <= 0.15 * pos.sum()
    assert abs(gc[pos].mean() - gc[neg].mean()) < 0.02
    assert abs((strands[pos] == "+").mean() - (strands[neg] == "+").mean()) < 0.05
    # the stored GC is the GC of the stored window
    called = (seq < 4).sum(axis=1)
    np.testing.assert_allclose(gc, ((seq == 1) | (seq == 2)).sum(axis=1) / called, atol=1e-6)
    # no negative window overlaps a peak of C on its strand
    peaks = pd.DataFrame(world["c_peaks"], columns=["chrom", "start", "end", "strand", "p"])
    for c, s, center in zip(chroms[neg], strands[neg], centers[neg], strict=True):
        lo = window_start(center, 200, s)
        same = peaks[(peaks.chrom == c) & (peaks.strand == s)]
        assert not ((same.start < lo + 200) & (same.end > lo)).any()
    # positives are centered on the peak midpoints (no summit in the file)
    mids = {(c, s, (a + b) // 2) for c, a, b, s, _ in world["c_peaks"]}
    assert {(c, s, int(x)) for c, s, x in zip(chroms[pos], strands[pos], centers[pos],
                                               strict=True)} <= mids


def test_read_batches_per_rbp_group_and_shuffle(per_rbp_h5):
    path, _ = per_rbp_h5
    with pytest.raises(VarbindError, match="choose a group .* among C"):
        next(read_batches(path, "train", 8))
    plain = list(read_batches(path, "train", 8, group="C", block_rows=16))
    mixed = list(read_batches(path, "train", 8, group="C", shuffle=True, seed=3, block_rows=16))
    a = np.concatenate([b.extra["center"] for b, _ in plain])
    b = np.concatenate([b.extra["center"] for b, _ in mixed])
    assert sorted(a.tolist()) == sorted(b.tolist()) and a.tolist() != b.tolist()
    assert all(len(batch) == 8 for batch, _ in plain[:-1])
    assert all(labels.shape[1] == 1 for _, labels in plain)


def test_no_window_in_two_splits(per_rbp_h5):
    path, _ = per_rbp_h5
    with h5py.File(path, "r") as h5:
        g = h5["C"]
        frame = pd.DataFrame({"chrom": g["chrom"][...].astype(str), "center": g["center"][...],
                              "strand": g["strand"][...].astype(str), "split": g["split"][...]})
    assert frame["split"].nunique() >= 2
    frame["lo"] = window_start(frame["center"].to_numpy(), 200, frame["strand"].to_numpy())
    for _, grp in frame.groupby("chrom"):
        a = grp[["lo", "split"]].to_numpy()
        overlap = np.abs(a[:, None, 0] - a[None, :, 0]) < 200
        different = a[:, None, 1] != a[None, :, 1]
        assert not (overlap & different).any()


def test_assign_splits_holds_out_test_contigs():
    rows = pd.DataFrame({"chrom": ["chr1"] * 4 + ["chr2"] * 2, "strand": ["+"] * 6,
                         "center": [100, 5000, 9950, 25000, 100, 500]})
    options = DatasetOptions(test_chroms=["chr2"], split_block=10_000, val_fraction=0.5)
    for seed in range(6):
        split, keep, test = assign_splits(rows, DatasetOptions(**{**options.__dict__,
                                                                  "seed": seed}).resolved(),
                                          ["chr1", "chr2"], span=150)
        assert test == ["chr2"] and split[4:].tolist() == [2, 2]
        # rows 0-2 share block [0, 10000); the window of row 2, [9875, 10025), reaches into
        # block 1, which holds no row and stays train: row 2 survives only if block 0 is train
        assert split[0] == split[1] == split[2] and split[3] in (0, 1)
        assert keep[2] == (split[0] == 0) and keep[[0, 1, 3, 4, 5]].all()
        assert set(split[:4].tolist()) == {0, 1}  # half the rows: one block each way
    _, _, chosen = assign_splits(rows, DatasetOptions(test_fraction=0.3).resolved(),
                                 ["chr1", "chr2"], 150)
    assert chosen == ["chr2"]


def test_split_shares_follow_the_fractions():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"chrom": rng.choice(["a", "b", "c"], 5000), "strand": "+",
                         "center": rng.integers(0, 2_000_000, 5000)})
    options = DatasetOptions(split="random", test_fraction=0.1, val_fraction=0.2).resolved()
    split, keep, _ = assign_splits(rows, options, ["a", "b", "c"], 150)
    shares = np.bincount(split[keep], minlength=3) / keep.sum()
    np.testing.assert_allclose(shares, [0.7, 0.2, 0.1], atol=0.02)
    assert keep.mean() > 0.98


# ----------------------------------------------------------------------------- pieces


def test_match_gc_by_hand():
    rng = np.random.default_rng(0)
    pos_gc = np.array([0.31, 0.32, 0.71])
    cand_gc = np.array([0.30, 0.33, 0.34, 0.70, 0.72, 0.50, 0.35])
    strands = np.array(["+"] * 7)
    pick = match_gc(pos_gc, np.array(["+"] * 3), cand_gc, strands, 1.0, 10, rng)
    # bin 3 (0.3-0.4) needs two of {0,1,2,6}; bin 7 needs one of {3,4}
    assert len(pick) == 3 and len(set(pick) & {0, 1, 2, 6}) == 2 and len(set(pick) & {3, 4}) == 1
    few = match_gc(np.array([0.9, 0.9]), np.array(["+", "+"]), cand_gc, strands, 1.0, 10, rng)
    assert sorted(cand_gc[few].tolist()) == [0.70, 0.72]  # borrowed nearest in GC


@settings(max_examples=30, deadline=None)
@given(centers=st.lists(st.integers(0, 19_999), min_size=1, max_size=20),
       length=st.integers(1, 301), minus=st.lists(st.booleans(), min_size=20, max_size=20))
def test_fetch_windows_matches_window_codes(world_genome, centers, length, minus):
    strands = np.where(np.array(minus[:len(centers)]), "-", "+")
    got = fetch_windows(world_genome, "chr1", np.array(centers), length, strands)
    for i, (c, s) in enumerate(zip(centers, strands, strict=True)):
        one = world_genome.window_codes("chr1", np.array([c]), length, np.array([s]))[0]
        np.testing.assert_array_equal(got[i], one)
        assert got[i][length // 2] == (one[length // 2])


@settings(max_examples=30, deadline=None)
@given(center=st.integers(-50, 20_050), length=st.integers(1, 300))
def test_minus_window_is_reverse_complement_of_the_same_span(world_genome, center, length):
    plus_start = window_start(center, length, "+")
    minus_start = window_start(center, length, "-")
    minus = world_genome.window_codes("chr1", np.array([center]), length, np.array(["-"]))[0]
    span = world_genome.fetch_codes("chr1", minus_start, minus_start + length)
    np.testing.assert_array_equal(minus, reverse_complement_codes(span))
    # both strands put the center base at index L // 2
    plus = world_genome.window_codes("chr1", np.array([center]), length, np.array(["+"]))[0]
    base = world_genome.fetch_codes("chr1", center, center + 1)[0]
    assert plus[length // 2] == base and plus_start + length // 2 == center
    assert minus[length // 2] == reverse_complement_codes(np.array([base]))[0]


@settings(max_examples=30, deadline=None)
@given(start=st.integers(-100, 20_000), length=st.integers(1, 400), minus=st.booleans())
def test_region_codes_equal_base_by_base_lookup(world_index, start, length, minus):
    strand = "-" if minus else "+"
    row = world_index.region_codes("chr1", np.array([start]), length, np.array([strand]))[0]
    bases = world_index.region_at("chr1", np.arange(start, start + length),
                                  np.full(length, strand))
    np.testing.assert_array_equal(row, bases[::-1] if minus else bases)


@pytest.fixture(scope="module")
def world_genome(world):
    return Genome(world["root"] / "genome.fa")


@pytest.fixture(scope="module")
def world_index(world):
    return AnnotationIndex.from_gtf(world["root"] / "genes.gtf", use_cache=False)


# ----------------------------------------------------------------------------- CLI


def test_cli_builds_and_reports(world, tmp_path, capsys):
    p = paths(world)
    out = tmp_path / "cli.h5"
    code = main(["-q", "dataset", "--peaks", str(p["peaks"]), "--fasta", str(p["fasta"]),
                 "--gtf", str(p["gtf"]), "--expression", str(p["expression"]), "-o", str(out),
                 "--test-chroms", "3", "--rbps", "A,B", "--cache-dir", str(tmp_path / "c")])
    assert code == 0 and out.exists()
    assert "wrote" in capsys.readouterr().out
    with h5py.File(out, "r") as h5:
        assert json.loads(h5.attrs["provenance"])["test_chroms"] == ["chr3"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--test-chroms", "chr9"], r"--test-chroms: chr9 not in"),
    (["--split", "random", "--test-chroms", "chr1"], r"--test-chroms needs --split chrom"),
    (["--rbps", "NOPE"], r"--rbps: NOPE not among"),
    (["--group-thresholds", "x"], r"--group-thresholds 'x'"),
    (["--val-fraction", "1.5"], r"--val-fraction must be in \[0, 1\)"),
    (["--min-peaks", "1000"], r"no RBP .* at least --min-peaks 1000"),
    (["--cell-type", "liver"], r"cell type 'liver' is not in"),
])
def test_cli_errors_are_one_line(world, tmp_path, capsys, extra, message):
    p = paths(world)
    out = tmp_path / "bad.h5"
    code = main(["dataset", "--peaks", str(p["peaks"]), "--fasta", str(p["fasta"]),
                 "--gtf", str(p["gtf"]), "--expression", str(p["expression"]), "-o", str(out),
                 "--cache-dir", str(tmp_path / "c")] + extra)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.startswith("varbind dataset: error:") and err.count("\n") == 1
    assert "Traceback" not in err
    assert re.search(message, err), err


def test_cli_bad_peak_file(world, tmp_path, capsys):
    p = paths(world)
    bad = tmp_path / "peaks"
    bad.mkdir()
    (bad / "X.bed").write_text("chr1\t10\t50\tx\t0\t.\n")
    code = main(["dataset", "--peaks", str(bad), "--fasta", str(p["fasta"]),
                 "--gtf", str(p["gtf"]), "-o", str(tmp_path / "o.h5"),
                 "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "X.bed, line 1: peak strand '.'" in err and err.count("\n") == 1


# ----------------------------------------------------------------------------- simulated world


@pytest.fixture(scope="module")
def sim_world(tmp_path_factory):
    from varbind.simulate import simulate_world

    return simulate_world(tmp_path_factory.mktemp("sim") / "w", seed=2, size="tiny")


def test_simulated_world_end_to_end(sim_world, tmp_path):
    w = sim_world
    common = ["--peaks", str(w.manifest), "--fasta", str(w.genome), "--gtf", str(w.gtf),
              "--expression", str(w.expression), "--cache-dir", str(tmp_path / "c")]
    assert main(["-q", "dataset", "-o", str(tmp_path / "ml.h5"), *common]) == 0
    assert main(["-q", "dataset", "--kind", "per-rbp", "-o", str(tmp_path / "pr.h5"),
                 *common]) == 0
    sites = pd.read_csv(w.sites, sep="\t")
    bound = sites[sites["bound"] == 1]
    with h5py.File(tmp_path / "pr.h5", "r") as h5:
        rbps = json.loads(h5.attrs["rbps"])
        assert len(rbps) == 10
        near_pos, near_neg, gc_diff = [], [], []
        for rbp in rbps:
            g = h5[rbp]
            lab = g["labels"][...][:, 0]
            chroms, strands = g["chrom"][...].astype(str), g["strand"][...].astype(str)
            centers = g["center"][...]
            mine = bound[bound["rbp"] == rbp]
            # does the central 200 nt of each window hold a bound site of this RBP?
            has = np.array([((mine["chrom"] == c) & (mine["strand"] == s)
                             & (np.abs(mine["start"] - x) < 100)).any()
                            for c, s, x in zip(chroms, strands, centers, strict=True)])
            near_pos.append(has[lab == 1].mean())
            near_neg.append(has[lab == 0].mean())
            gc = g["gc"][...]
            gc_diff.append(abs(gc[lab == 1].mean() - gc[lab == 0].mean()))
    # most peaks sit on a bound site (the rest are the simulator's false positives); negatives
    # are drawn away from peaks, so they rarely hold one
    assert np.median(near_pos) > 0.85 and np.median(near_neg) < 0.05
    assert max(gc_diff) < 0.01
    with h5py.File(tmp_path / "ml.h5", "r") as h5:
        labels = h5["labels"][...]
        assert labels.shape[1] == 10 and (labels.sum(axis=1) >= 1).all()
        assert set(h5["split"][...].tolist()) <= {0, 1, 2}
        test = h5["chrom"][...].astype(str)[h5["split"][...] == 2]
        assert set(test) == {"chr3"}  # the last contig holds the test rows


def test_cli_unknown_contigs_and_bad_expression(world, tmp_path, capsys):
    p = paths(world)
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    (peaks / "X.bed").write_text("chr1\t1010\t1040\tx\t0\t+\nchrZ\t10\t40\ty\t0\t+\n")
    base = ["dataset", "--peaks", str(peaks), "--fasta", str(p["fasta"]), "--gtf", str(p["gtf"]),
            "-o", str(tmp_path / "o.h5"), "--cache-dir", str(tmp_path / "c")]
    assert main([*base, "--unknown-contigs", "error"]) == 2
    err = capsys.readouterr().err
    assert "X.bed, line 2: 1 peaks on contigs missing from the FASTA (chrZ)" in err
    assert err.count("\n") == 1
    bad_expr = tmp_path / "e.tsv"
    bad_expr.write_text("transcript\tHepG2\nT1\t3\n")
    assert main([*base, "--expression", str(bad_expr)]) == 2
    err = capsys.readouterr().err
    assert "e.tsv, line 1: no gene id or name column" in err and err.count("\n") == 1
    # the default only warns and skips the peak on chrZ
    assert main(["-q", *base]) == 0
    with h5py.File(tmp_path / "o.h5", "r") as h5:
        prov = json.loads(h5.attrs["provenance"])
    assert prov["inputs"]["peak_files"]["X"]["dropped"] == {"unknown_contig": 1}


def test_fill_share_skips_blocks_too_large_for_the_share():
    # a first block larger than the whole share used to end the fill with nothing chosen
    counts = np.array([[60.0, 0.0], [5.0, 5.0], [4.0, 6.0], [3.0, 3.0], [30.0, 30.0]])
    chosen = fill_share(counts, np.array([12.0, 14.0]), np.arange(5))
    assert chosen.tolist() == [1, 2, 3]


def test_validation_split_holds_positives_and_negatives_of_clustered_rows():
    # positives cluster in a few places, negatives spread out (a small per-RBP data set)
    rng = np.random.default_rng(3)
    pos = np.concatenate([rng.integers(c, c + 3000, 25) for c in (10_000, 60_000, 200_000)])
    neg = rng.integers(0, 400_000, 75)
    rows = pd.DataFrame({"chrom": "a", "strand": "+", "center": np.concatenate([pos, neg])})
    label = np.r_[np.ones(75), np.zeros(75)]
    options = DatasetOptions(split="chrom", test_chroms=[], val_fraction=0.2)
    for seed in range(5):
        opts = DatasetOptions(**{**options.__dict__, "seed": seed}).resolved()
        split, keep, _ = assign_splits(rows, opts, ["a"], 1000,
                                       balance=np.column_stack([label == 1, label == 0]))
        val = (split == 1) & keep
        assert 5 <= (val & (label == 1)).sum() <= 30 and 8 <= (val & (label == 0)).sum() <= 25
