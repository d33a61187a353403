"""CLIP peak reading, the POLARIS singleton filter, groups and bad input."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from varbind.errors import InputFileError, VarbindError
from varbind.genomics.peaks import (
    PeakFilters,
    apply_filters,
    isolated,
    load_peaks,
    match_contigs,
    parse_thresholds,
    peak_sources,
    rbp_groups,
    read_peak_file,
)

# narrowPeak: chrom start end name score strand signal -log10p -log10q summit-offset
NARROW = (
    "track name=test\n"
    "chr1\t100\t150\tp1\t1000\t+\t5.0\t3.0\t2.0\t10\n"   # p = 0.001, alone -> kept
    "chr1\t1000\t1050\tp2\t1000\t+\t5.0\t1.0\t1.0\t-1\n"  # p = 0.1, alone -> dropped
    "chr1\t1400\t1450\tp3\t1000\t-\t5.0\t1.0\t1.0\t-1\n"  # p = 0.1, alone on '-' -> dropped
    "chr1\t5000\t5050\tp4\t1000\t+\t5.0\t1.0\t1.0\t25\n"  # p = 0.1, p5 is 450 away -> kept
    "chr1\t5500\t5550\tp5\t1000\t+\t5.0\t-1\t-1\t-1\n"    # p unknown, p4 near -> kept
    "2\t300\t330\tp6\t1000\t-\t5.0\t4.0\t3.0\t-1\n"       # contig '2' = chr2 in the FASTA
)


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_read_narrowpeak_gz(tmp_path):
    ps = read_peak_file(write(tmp_path / "QKI.narrowPeak.gz", NARROW, gz=True))
    assert ps.rbp == "QKI" and len(ps) == 6
    p = ps.peaks
    assert p["start"].tolist()[:2] == [100, 1000]
    assert p["summit"].tolist() == [110, 1025, 1425, 5025, 5525, 315]  # offset, else midpoint
    assert np.isnan(p["neglog10_p"][4]) and p["neglog10_p"][0] == 3.0
    assert p["line"].tolist() == [2, 3, 4, 5, 6, 7]


def test_read_bed6(tmp_path):
    ps = read_peak_file(write(tmp_path / "PUM2.bed", "chr1\t10\t20\tx\t0\t-\n"))
    assert ps.rbp == "PUM2"
    assert ps.peaks[["start", "end", "strand", "summit"]].values.tolist() == [[10, 20, "-", 15]]
    assert np.isnan(ps.peaks["neglog10_p"][0])


def test_isolated_by_hand():
    peaks = pd.DataFrame({"chrom": ["c"] * 5, "strand": ["+", "+", "+", "-", "+"],
                          "start": [0, 600, 10, 0, 2000], "end": [100, 700, 5000, 50, 2100]})
    # on '+', the long peak [10,5000) overlaps peaks 0, 1 and 4, so none of them is alone;
    # the '-' peak 3 has no '-' neighbour
    assert isolated(peaks, 500).tolist() == [False, False, False, True, False]
    gaps = pd.DataFrame({"chrom": ["c", "c", "c", "d"], "strand": ["+"] * 4,
                         "start": [0, 600, 1200, 650], "end": [100, 700, 1300, 660]})
    # gaps: 0->1 is 500 (near), 1->2 is 500 (near); peak 3 is on another contig
    assert isolated(gaps, 500).tolist() == [False, False, False, True]
    assert isolated(gaps, 499).tolist() == [True, True, True, True]


def test_polaris_singleton_filter(tmp_path):
    ps = read_peak_file(write(tmp_path / "QKI.narrowPeak", NARROW))
    out = apply_filters(ps, PeakFilters.polaris())
    assert out.peaks["name"].tolist() == ["p1", "p4", "p5", "p6"]
    assert out.dropped == {"singleton": 2}
    strict = apply_filters(ps, PeakFilters(max_p=0.01))
    assert strict.peaks["name"].tolist() == ["p1", "p5", "p6"]  # unknown p is kept by max_p


def test_max_p_needs_pvalues(tmp_path):
    ps = read_peak_file(write(tmp_path / "A.bed", "chr1\t10\t20\tx\t0\t-\n"))
    with pytest.raises(VarbindError, match="--max-p needs p-values"):
        apply_filters(ps, PeakFilters(max_p=0.01))


def test_contigs_renamed_dropped_or_refused(tmp_path, caplog):
    ps = read_peak_file(write(tmp_path / "QKI.narrowPeak", NARROW))
    with caplog.at_level(logging.WARNING):
        out = match_contigs(ps, ["chr2"])
    assert out.peaks["chrom"].tolist() == ["chr2"]
    assert "5 of 6 peaks are on contigs missing from the FASTA (chr1)" in caplog.text
    with pytest.raises(InputFileError, match=r"QKI.narrowPeak, line 2: 5 peaks on contigs "
                                             r"missing from the FASTA \(chr1\)"):
        match_contigs(ps, ["chr2"], on_missing="error")


def test_manifest_and_directory(tmp_path, caplog):
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    write(peaks / "QKI.narrowPeak.gz", NARROW, gz=True)
    write(peaks / "PUM2.bed", "chr1\t10\t20\tx\t0\t-\n")
    (peaks / "notes.txt").write_text("ignored")
    assert [s[0] for s in peak_sources(peaks)] == ["PUM2", "QKI"]
    manifest = write(tmp_path / "manifest.tsv",
                     "rbp\tpath\tcell_line\nQKI\tpeaks/QKI.narrowPeak.gz\tHepG2\n"
                     "QKI\tpeaks/QKI.narrowPeak.gz\tK562\nPUM2\tpeaks/PUM2.bed\tHepG2\n")
    with caplog.at_level(logging.WARNING):
        sets = load_peaks(manifest, PeakFilters(min_peaks=2), contigs=["chr1", "chr2"])
    assert [s.label for s in sets] == ["QKI_HepG2", "QKI_K562"]
    assert "skipping RBP PUM2: 1 peaks" in caplog.text
    only = load_peaks(manifest, rbps=["PUM2"])
    assert [s.label for s in only] == ["PUM2"]
    with pytest.raises(VarbindError, match="--rbps: NOPE not among"):
        load_peaks(manifest, rbps=["NOPE"])
    with pytest.raises(VarbindError, match="no RBP .* has at least --min-peaks 100"):
        load_peaks(manifest, PeakFilters(min_peaks=100))


def test_groups():
    counts = {"a": 100, "b": 20_000, "c": 200_000, "d": 15_000}
    assert rbp_groups(counts) == {"a": "low", "b": "medium", "c": "high", "d": "medium"}
    assert rbp_groups({"a": 1, "b": 2, "c": 3}, "tertiles") == \
        {"a": "low", "b": "medium", "c": "high"}
    assert parse_thresholds("100,1000") == (100, 1000)
    with pytest.raises(VarbindError, match="expected two peak counts"):
        parse_thresholds("many")
    with pytest.raises(VarbindError, match="need 0 < low < high"):
        parse_thresholds("10,5")


@pytest.mark.parametrize(("text", "message"), [
    ("", r"E.bed: peak file has no peaks"),
    ("track x\n# only comments\n", r"peak file has no peaks"),
    ("chr1\t10\t20\n", r"E.bed, line 1: expected BED6 or narrowPeak .* found 3"),
    ("chr1\t10\t20\tx\t0\t+\nchr1\tten\t20\tx\t0\t+\n", r"line 2: bad coordinates start='ten'"),
    ("chr1\t30\t20\tx\t0\t+\n", r"line 1: bad coordinates"),
    ("chr1\t10\t20\tx\t0\t.\n", r"line 1: peak strand '\.' .*stranded peak calls"),
])
def test_bad_peak_files(tmp_path, text, message):
    with pytest.raises(InputFileError, match=message):
        read_peak_file(write(tmp_path / "E.bed", text))


def test_bad_manifests(tmp_path):
    with pytest.raises(InputFileError, match="peaks not found"):
        peak_sources(tmp_path / "nope.tsv")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(InputFileError, match="folder has no <RBP>.bed"):
        peak_sources(tmp_path / "empty_dir")
    with pytest.raises(InputFileError, match="line 1: manifest header .* lacks 'rbp' and 'path'"):
        peak_sources(write(tmp_path / "m1.tsv", "name\tfile\nQKI\tq.bed\n"))
    with pytest.raises(InputFileError, match=r"line 2: peak file missing.bed not found"):
        peak_sources(write(tmp_path / "m2.tsv", "rbp\tpath\nQKI\tmissing.bed\n"))
    with pytest.raises(InputFileError, match="manifest lists no peak files"):
        peak_sources(write(tmp_path / "m3.tsv", "rbp\tpath\tcell_line\n"))
    with pytest.raises(InputFileError, match="manifest is empty"):
        peak_sources(write(tmp_path / "m4.tsv", ""))
