"""AnnotationIndex: region classes worked out by hand for a gene on each strand."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest

from varbind.annotations.gtf import read_annotation, sniff_format
from varbind.annotations.index import AnnotationIndex, cache_path, paint
from varbind.encoding import REGION_CODE
from varbind.errors import InputFileError
from varbind.genomics.genome import window_start

# GTF (1-based, inclusive). Gene GA (+): coding TA1 with GENCODE "UTR" lines and a stop codon
# outside CDS, and a non-coding TA2 that disagrees with it. Gene GB (-): Ensembl-style
# five_prime_utr / three_prime_utr. Gene GC (+): a lncRNA.
GTF_ROWS = [
    ("gene", 2001, 2500, "+", 'gene_id "GA.3"; gene_name "AAA"; gene_type "protein_coding";'),
    ("exon", 2001, 2100, "+", 'gene_id "GA.3"; transcript_id "TA1"; gene_name "AAA";'),
    ("exon", 2201, 2300, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("exon", 2401, 2500, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("CDS", 2051, 2100, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("CDS", 2201, 2300, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("CDS", 2401, 2447, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("stop_codon", 2448, 2450, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("UTR", 2001, 2050, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("UTR", 2451, 2500, "+", 'gene_id "GA.3"; transcript_id "TA1";'),
    ("exon", 2001, 2150, "+", 'gene_id "GA.3"; transcript_id "TA2";'),
    ("exon", 2401, 2500, "+", 'gene_id "GA.3"; transcript_id "TA2";'),
    ("exon", 10401, 10600, "-", 'gene_id "GB"; transcript_id "TB1"; gene_name "BBB"; '
                                'gene_biotype "protein_coding";'),
    ("exon", 10001, 10200, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("CDS", 10401, 10450, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("CDS", 10101, 10200, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("start_codon", 10448, 10450, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("stop_codon", 10098, 10100, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("five_prime_utr", 10451, 10600, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("three_prime_utr", 10001, 10097, "-", 'gene_id "GB"; transcript_id "TB1";'),
    ("exon", 20001, 20100, "+", 'gene_id "GC"; transcript_id "TC1"; gene_name "CCC"; '
                                'gene_type "lncRNA";'),
    ("exon", 20301, 20400, "+", 'gene_id "GC"; transcript_id "TC1";'),
]

# Expected classes, 0-based half-open segments, worked out by hand from the rows above.
# + strand: GA promoter [1000, 2000); its 5 kb proximal band upstream is clipped at 0 and the
# part nearer than 1 kb is promoter, so [0, 1000) is proximal; downstream [2500, 7500).
# GA body: TA1 5'UTR [2000,2050) beats TA2's ncRNA exon; CDS [2050,2100); TA2 ncRNA exon
# [2100,2150) beats TA1's intron; intron [2150,2200); CDS [2200,2300); intron [2300,2400);
# CDS [2400,2450) (stop codon included); 3'UTR [2450,2500).
# GC: proximal [15000,19000), promoter [19000,20000), exon, intron, exon, proximal to 25400.
PLUS = [
    (0, 1000, "intergenic_proximal"), (1000, 2000, "promoter"), (2000, 2050, "5utr"),
    (2050, 2100, "cds"), (2100, 2150, "ncrna_exon"), (2150, 2200, "intron"),
    (2200, 2300, "cds"), (2300, 2400, "intron"), (2400, 2450, "cds"), (2450, 2500, "3utr"),
    (2500, 7500, "intergenic_proximal"), (7500, 15000, "none"),
    (15000, 19000, "intergenic_proximal"), (19000, 20000, "promoter"),
    (20000, 20100, "ncrna_exon"), (20100, 20300, "intron"), (20300, 20400, "ncrna_exon"),
    (20400, 25400, "intergenic_proximal"), (25400, 26000, "none"),
]
# - strand: GB [10000, 10600); transcription runs right to left, so the promoter is
# [10600, 11600) and the 3'UTR sits at the low coordinates: 3'UTR [10000,10097),
# CDS [10097,10200) (stop codon included), intron [10200,10400), CDS [10400,10450),
# 5'UTR [10450,10600). Proximal [5000,10000) and [11600,15600) (the first kb is promoter).
MINUS = [
    (0, 5000, "none"), (5000, 10000, "intergenic_proximal"), (10000, 10097, "3utr"),
    (10097, 10200, "cds"), (10200, 10400, "intron"), (10400, 10450, "cds"),
    (10450, 10600, "5utr"), (10600, 11600, "promoter"), (11600, 15600, "intergenic_proximal"),
    (15600, 26000, "none"),
]


def expand(segments):
    out = np.full(segments[-1][1], -1, dtype=np.int8)
    for start, end, name in segments:
        out[start:end] = REGION_CODE[name]
    assert (out >= 0).all()
    return out


def gtf_text(chrom="chr1", rows=GTF_ROWS):
    lines = ["##description: hand-written test annotation"]
    for feature, start, end, strand, attrs in rows:
        lines.append("\t".join([chrom, "TEST", feature, str(start), str(end), ".", strand, ".",
                                attrs]))
    return "\n".join(lines) + "\n"


@pytest.fixture()
def gtf(tmp_path):
    path = tmp_path / "genes.gtf"
    path.write_text(gtf_text())
    return path


@pytest.fixture()
def index(gtf, tmp_path):
    return AnnotationIndex.from_gtf(gtf, cache_dir=tmp_path / "cache")


def genomic_classes(index, chrom, strand, length=26000):
    """Class of every base in genomic order for one strand, from windows of 1000."""
    starts = np.arange(0, length, 1000)
    codes = index.region_codes(chrom, starts, 1000, np.full(len(starts), strand))
    if strand == "-":
        codes = codes[:, ::-1]
    return codes.reshape(-1)


def test_every_base_plus_strand(index):
    np.testing.assert_array_equal(genomic_classes(index, "chr1", "+"), expand(PLUS))


def test_every_base_minus_strand(index):
    np.testing.assert_array_equal(genomic_classes(index, "chr1", "-"), expand(MINUS))


def test_minus_windows_are_reversed_to_transcript_strand(index):
    # a window centered on the GB stop codon: on the transcript strand CDS comes first
    starts = np.array([window_start(10098, 11, "-")])
    row = index.region_codes("chr1", starts, 11, np.array(["-"]))[0]
    # genomic [10093, 10104): 3utr x4 (10093..10096), cds x7 (10097..10103); reversed
    expected = [REGION_CODE["cds"]] * 7 + [REGION_CODE["3utr"]] * 4
    np.testing.assert_array_equal(row, expected)
    assert row[11 // 2] == REGION_CODE["cds"]


def test_windows_cross_contig_start_and_mixed_strands(index):
    starts = np.array([-5, 2040, 2040, 30000])
    codes = index.region_codes("chr1", starts, 20, np.array(["+", "+", "-", "-"]))
    plus, minus = expand(PLUS), expand(MINUS)
    assert (codes[0, :5] == REGION_CODE["none"]).all()
    np.testing.assert_array_equal(codes[0, 5:], plus[0:15])
    np.testing.assert_array_equal(codes[1], plus[2040:2060])
    np.testing.assert_array_equal(codes[2], minus[2040:2060][::-1])
    assert (codes[3] == 0).all()


def test_contig_aliases_and_unknown_contig(index):
    a = index.region_codes("chr1", [2000], 300, ["+"])
    b = index.region_codes("1", [2000], 300, ["+"])
    np.testing.assert_array_equal(a, b)
    assert (index.region_codes("chr7", [2000], 300, ["+"]) == 0).all()
    assert index.resolve("1") == "chr1"


def test_bare_contig_annotation_answers_chr_names(tmp_path):
    path = tmp_path / "bare.gtf"
    path.write_text(gtf_text(chrom="1"))
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    assert idx.contigs == ["1"]
    np.testing.assert_array_equal(idx.region_codes("chr1", [10000], 600, ["-"])[0][::-1],
                                  expand(MINUS)[10000:10600])


def test_bad_strand_argument(index):
    with pytest.raises(ValueError, match="strands must be"):
        index.region_codes("chr1", [0], 10, ["."])


def test_genes_and_metadata(index):
    genes = index.genes.set_index("gene_id")
    assert list(index.genes.columns) == ["chrom", "start", "end", "strand", "gene_id",
                                         "gene_name", "gene_type"]
    assert genes.loc["GA.3", ["start", "end", "strand", "gene_name", "gene_type"]].tolist() == \
        [2000, 2500, "+", "AAA", "protein_coding"]
    assert genes.loc["GB", ["start", "end", "strand", "gene_name"]].tolist() == \
        [10000, 10600, "-", "BBB"]
    assert genes.loc["GC", "gene_type"] == "lncRNA"
    tx = index.transcripts.set_index("transcript_id")
    assert tx.loc["TA1", "coding"] and not tx.loc["TA2", "coding"]


def test_genes_at(index):
    hits = index.genes_at("chr1", np.array([1999, 2000, 10599, 20200, 30000]))
    assert hits["query"].tolist() == [1, 2, 3]
    assert hits["gene_id"].tolist() == ["GA.3", "GB", "GC"]
    assert hits["strand"].tolist() == ["+", "-", "+"]
    assert list(hits.columns) == ["query", "gene_id", "gene_name", "strand", "gene_type"]


def test_strands_at(index):
    got = index.strands_at("1", np.array([2160, 10100, 2600, 20200]))
    assert got.tolist() == ["+", "-", "", "+"]
    assert index.strands_at("chr1", np.array([2160, 20200]), level="exon").tolist() == ["", ""]


def test_agrees_with_the_simulators_region_map(tmp_path):
    # every planted site of the simulated world lies in the class the simulator planted it in
    import pandas as pd

    from varbind.simulate import simulate_world

    world = simulate_world(tmp_path / "w", seed=1, size="tiny")
    idx = AnnotationIndex.from_gtf(world.gtf, use_cache=False)
    sites = pd.read_csv(world.sites, sep="\t")
    assert len(sites) > 100
    for (chrom, strand), grp in sites.groupby(["chrom", "strand"]):
        codes = idx.region_codes(chrom, grp["start"].to_numpy(), 1, np.full(len(grp), strand))
        np.testing.assert_array_equal(codes[:, 0], grp["region"].map(REGION_CODE).to_numpy())


def test_transcripts_at(index):
    hits = index.transcripts_at("chr1", np.array([2160, 2450]))
    assert hits[hits["query"] == 0]["transcript_id"].tolist() == ["TA1", "TA2"]


def test_nearest_gene_rows(index):
    rows = index.nearest_gene_rows("chr1", np.array([2100, 2100, 12000, 50]),
                                   np.array(["+", "-", "+", "+"]))
    ids = [index.genes["gene_id"].iloc[r] if r >= 0 else None for r in rows]
    # on '-' the only gene is GB; at 12000 on '+' GA ends 9500 away, GC starts 8000 away
    assert ids == ["GA.3", "GB", "GC", "GA.3"]


def test_transcribed_intervals(index):
    exons = index.transcribed_intervals()
    ga = exons[exons["gene_id"] == "GA.3"][["start", "end"]].values.tolist()
    assert ga == [[2000, 2150], [2200, 2300], [2400, 2500]]
    pre = index.transcribed_intervals("premrna")
    assert pre[["start", "end", "strand", "gene_id"]].values.tolist() == [
        [2000, 2500, "+", "GA.3"], [10000, 10600, "-", "GB"], [20000, 20400, "+", "GC"]]


def test_gff3_refseq_style_gives_the_same_classes(tmp_path, index):
    # RefSeq style: gene -> mRNA -> exon/CDS, no UTR lines; gz-compressed.
    rows = [
        ("gene", 2001, 2500, "+", "ID=gene-AAA;Name=AAA;gene_biotype=protein_coding"),
        ("mRNA", 2001, 2500, "+", "ID=rna-TA1;Parent=gene-AAA"),
        ("exon", 2001, 2100, "+", "ID=exon-1;Parent=rna-TA1"),
        ("exon", 2201, 2300, "+", "Parent=rna-TA1"),
        ("exon", 2401, 2500, "+", "Parent=rna-TA1"),
        ("CDS", 2051, 2100, "+", "ID=cds-1;Parent=rna-TA1"),
        ("CDS", 2201, 2300, "+", "ID=cds-1;Parent=rna-TA1"),
        ("CDS", 2401, 2450, "+", "ID=cds-1;Parent=rna-TA1"),
        ("transcript", 2001, 2500, "+", "ID=rna-TA2;Parent=gene-AAA"),
        ("exon", 2001, 2150, "+", "Parent=rna-TA2"),
        ("exon", 2401, 2500, "+", "Parent=rna-TA2"),
        ("gene", 10001, 10600, "-", "ID=gene-BBB;Name=BBB"),
        ("mRNA", 10001, 10600, "-", "ID=rna-TB1;Parent=gene-BBB"),
        ("exon", 10401, 10600, "-", "Parent=rna-TB1"),
        ("exon", 10001, 10200, "-", "Parent=rna-TB1"),
        ("CDS", 10401, 10450, "-", "Parent=rna-TB1"),
        ("CDS", 10098, 10200, "-", "Parent=rna-TB1"),
        ("gene", 20001, 20400, "+", "ID=gene-CCC;Name=CCC;gene_biotype=lncRNA"),
        ("exon", 20001, 20100, "+", "Parent=gene-CCC"),  # exon straight under the gene
        ("exon", 20301, 20400, "+", "Parent=gene-CCC"),
    ]
    path = tmp_path / "genes.gff3.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("##gff-version 3\n" + gtf_text(rows=rows).split("\n", 1)[1])
    assert sniff_format(path) == "gff3"
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    for strand, segs in (("+", PLUS), ("-", MINUS)):
        np.testing.assert_array_equal(genomic_classes(idx, "chr1", strand), expand(segs))
    genes = idx.genes.set_index("gene_id")
    assert genes.loc["AAA", "gene_name"] == "AAA" and genes.loc["CCC", "gene_type"] == "lncRNA"
    assert sorted(idx.transcripts["transcript_id"]) == ["TA1", "TA2", "TB1", "gene-CCC"]


def test_gff3_ensembl_style(tmp_path):
    # Ensembl GFF3: gene:/transcript: prefixes, five_prime_UTR / three_prime_UTR, biotype
    rows = [
        ("gene", 10001, 10600, "-", "ID=gene:GB;Name=BBB;biotype=protein_coding"),
        ("mRNA", 10001, 10600, "-", "ID=transcript:TB1;Parent=gene:GB;biotype=protein_coding"),
        ("five_prime_UTR", 10451, 10600, "-", "Parent=transcript:TB1"),
        ("exon", 10401, 10600, "-", "Parent=transcript:TB1;Name=e1"),
        ("CDS", 10401, 10450, "-", "ID=CDS:P1;Parent=transcript:TB1"),
        ("exon", 10001, 10200, "-", "Parent=transcript:TB1;Name=e2"),
        ("CDS", 10098, 10200, "-", "ID=CDS:P1;Parent=transcript:TB1"),
        ("three_prime_UTR", 10001, 10097, "-", "Parent=transcript:TB1"),
    ]
    path = tmp_path / "ensembl.gff3"
    path.write_text("##gff-version 3\n" + gtf_text(rows=rows).split("\n", 1)[1])
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "-")[:15600],
                                  expand(MINUS)[:15600])
    assert idx.genes[["gene_id", "gene_name", "gene_type"]].values.tolist() == [
        ["GB", "BBB", "protein_coding"]]
    assert idx.transcripts["transcript_id"].tolist() == ["TB1"]


def test_unwritable_cache_only_warns(gtf, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="varbind.annotations.index"):
        idx = AnnotationIndex.from_gtf(gtf, cache_dir=blocker / "sub")
    assert "could not write annotation cache" in caplog.text
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "+"), expand(PLUS))


def test_gzipped_gtf(tmp_path, index):
    path = tmp_path / "genes.gtf.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(gtf_text())
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "+"), expand(PLUS))


def test_cache_is_written_used_and_invalidated(gtf, tmp_path, caplog, monkeypatch):
    cache = tmp_path / "c"
    with caplog.at_level(logging.INFO, logger="varbind.annotations.index"):
        AnnotationIndex.from_gtf(gtf, cache_dir=cache)
    assert "parsing" in caplog.text and cache_path(gtf, cache).exists()
    caplog.clear()

    def fail(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr("varbind.annotations.index.read_annotation", fail)
    with caplog.at_level(logging.INFO, logger="varbind.annotations.index"):
        idx = AnnotationIndex.from_gtf(gtf, cache_dir=cache)
    assert "using cache" in caplog.text
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "-"), expand(MINUS))
    # a changed file has a new key, so it is parsed again
    old_entry = cache_path(gtf, cache)
    gtf.write_text(gtf_text() + gtf_text().split("\n", 1)[1])
    with pytest.raises(AssertionError, match="parsed again"):
        AnnotationIndex.from_gtf(gtf, cache_dir=cache)
    monkeypatch.undo()
    AnnotationIndex.from_gtf(gtf, cache_dir=cache)
    # the new entry replaces the stale one of the same file
    assert [p.name for p in cache.iterdir()] == [cache_path(gtf, cache).name]
    assert old_entry.name != cache_path(gtf, cache).name


def test_cache_dir_from_environment(gtf, tmp_path, monkeypatch):
    monkeypatch.setenv("VARBIND_CACHE", str(tmp_path / "envcache"))
    AnnotationIndex.from_gtf(gtf)
    assert list((tmp_path / "envcache" / "annotations").glob("genes.gtf.*.idx.pkl"))


def test_damaged_cache_is_rebuilt(gtf, tmp_path):
    cache = tmp_path / "c"
    cache.mkdir()
    cache_path(gtf, cache).write_bytes(b"not a pickle")
    idx = AnnotationIndex.from_gtf(gtf, cache_dir=cache)
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "+"), expand(PLUS))


def test_paint_precedence():
    # intron [0,10) under cds [2,4) and 3utr [3,6): cds beats 3utr, both beat intron
    c = REGION_CODE
    breaks, classes = paint(np.array([0, 2, 3]), np.array([10, 4, 6]),
                            np.array([c["intron"], c["cds"], c["3utr"]], dtype=np.int8))
    assert breaks.tolist() == [0, 2, 4, 6, 10]
    assert classes.tolist() == [c["intron"], c["cds"], c["3utr"], c["intron"], c["none"]]


# ------------------------------------------------------------------------ bad input


def test_gtf_without_transcript_id_names_the_line(tmp_path):
    rows = list(GTF_ROWS)
    rows[3] = ("exon", 2401, 2500, "+", 'gene_id "GA.3";')
    path = tmp_path / "bad.gtf"
    path.write_text(gtf_text(rows=rows))
    with pytest.raises(InputFileError, match=r"bad.gtf, line 5: exon line has no transcript_id"):
        read_annotation(path)


def test_gtf_without_gene_id(tmp_path):
    path = tmp_path / "bad.gtf"
    path.write_text('chr1\tX\texon\t1\t10\t.\t+\t.\ttranscript_id "T";\n')
    with pytest.raises(InputFileError, match=r"line 1: exon line has no gene_id .*gene_id"):
        AnnotationIndex.from_gtf(path, use_cache=False)


def test_gff3_exon_without_parent(tmp_path):
    path = tmp_path / "bad.gff3"
    path.write_text("##gff-version 3\nchr1\tX\tgene\t1\t10\t.\t+\t.\tID=g\n"
                    "chr1\tX\texon\t1\t10\t.\t+\t.\tID=e1\n")
    with pytest.raises(InputFileError, match=r"line 3: exon line has no Parent"):
        read_annotation(path)


def test_exon_with_dot_strand(tmp_path):
    path = tmp_path / "bad.gtf"
    path.write_text('chr1\tX\texon\t1\t10\t.\t.\t.\tgene_id "G"; transcript_id "T";\n')
    with pytest.raises(InputFileError, match=r"line 1: exonic feature with strand '\.'"):
        read_annotation(path)


def test_non_integer_coordinates(tmp_path):
    path = tmp_path / "bad.gtf"
    path.write_text('chr1\tX\texon\tone\t10\t.\t+\t.\tgene_id "G"; transcript_id "T";\n')
    with pytest.raises(InputFileError, match=r"line 1: expected 9 tab-separated columns"):
        read_annotation(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputFileError, match="annotation file not found"):
        read_annotation(tmp_path / "nope.gtf")
    empty = tmp_path / "empty.gtf"
    empty.write_text("#only a comment\n")
    with pytest.raises(InputFileError, match="annotation is empty|no exon"):
        read_annotation(empty)
    genes_only = tmp_path / "genes_only.gtf"
    genes_only.write_text('chr1\tX\tgene\t1\t10\t.\t+\t.\tgene_id "G";\n')
    with pytest.raises(InputFileError, match="no exon, CDS or UTR lines"):
        read_annotation(genes_only)


def test_bad_coordinate_on_an_ignored_line_is_tolerated(tmp_path):
    # the fast integer reader fails on the 'region' line; the text reader skips it, and chunks
    # already read are not read twice
    lines = gtf_text().split("\n")
    lines.insert(5, "chr1\tX\tregion\t.\t.\t.\t+\t.\tnote \"whole contig\";")
    path = tmp_path / "odd.gtf"
    path.write_text("\n".join(lines))
    parsed = read_annotation(path, chunksize=4)
    assert len(parsed.parts) == len(GTF_ROWS) - 1  # every exonic row once (not the gene line)
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    np.testing.assert_array_equal(genomic_classes(idx, "chr1", "+"), expand(PLUS))


def test_regular_files_take_the_fast_reader(gtf, tmp_path, monkeypatch):
    def slow(*args, **kwargs):
        raise AssertionError("text reader used")

    monkeypatch.setattr("varbind.annotations.gtf._read_chunks", slow)
    parsed = read_annotation(gtf)
    assert len(parsed.parts) == len(GTF_ROWS) - 1
    bgz = tmp_path / "genes.gtf.gz"
    import pysam

    pysam.tabix_compress(str(gtf), str(bgz))
    again = read_annotation(bgz)
    assert again.parts.equals(parsed.parts) and again.genes.equals(parsed.genes)


def test_gff3_with_fasta_section_and_hash_in_values(tmp_path):
    rows = [("gene", 2001, 2500, "+", "ID=g1;Name=AAA;Note=see #12"),
            ("mRNA", 2001, 2500, "+", "ID=t1;Parent=g1"),
            ("exon", 2001, 2500, "+", "Parent=t1")]
    path = tmp_path / "with_fasta.gff3"
    path.write_text("##gff-version 3\n" + gtf_text(rows=rows).split("\n", 1)[1]
                    + "##FASTA\n>chr1\nACGTACGTNN\nACGT\n")
    idx = AnnotationIndex.from_gtf(path, use_cache=False)
    assert idx.genes["gene_name"].tolist() == ["AAA"]
    assert (idx.region_codes("chr1", [2000], 500, ["+"]) == REGION_CODE["ncrna_exon"]).all()
