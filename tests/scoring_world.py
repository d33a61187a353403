"""A hand-built world for the scoring tests: FASTA, GTF, expression, VCF and toy models.

chr1 (200 nt) is PATTERN x 10 with an N gap at [150, 165); chr2 (named ``2`` in the FASTA,
``chr2`` in the GTF and VCF) is 100 nt.

Genes (0-based, half-open):
  G1 (+) exons [0, 60) and [80, 120), intron [60, 80)          non-coding
  G2 (-) exons [130, 145) and [170, 195), intron [145, 170)    non-coding
  G3 (+) on chr2, one exon [10, 90)

Toy models, whose outputs are known exactly:
  frac : sequence (11, 4) -> [fraction of A, fraction of G] in the window ("sigmoid")
  ctx  : per-position (7, 4 + [ncrna_exon, intron]) and side expression (1,) ->
         [fraction of ncrna_exon bases in the window, log1p TPM] ("linear")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PATTERN = "ACGTTGCAAGCTTACGGATC"
CHR1 = PATTERN * 10
CHR1 = CHR1[:150] + "N" * 15 + CHR1[165:]
CHR2 = ("GATTACA" * 15)[:100]

GTF_ROWS = [
    ("chr1", "exon", 1, 60, "+", "G1", "T1", "GENE1"),
    ("chr1", "exon", 81, 120, "+", "G1", "T1", "GENE1"),
    ("chr1", "exon", 131, 145, "-", "G2", "T2", "GENE2"),
    ("chr1", "exon", 171, 195, "-", "G2", "T2", "GENE2"),
    ("chr2", "exon", 11, 90, "+", "G3", "T3", "GENE3"),
]
TPM = {"G1": 9.0, "G2": 99.0, "G3": 0.0}


def write_fasta(path: Path) -> Path:
    path.write_text(f">chr1\n{CHR1[:100]}\n{CHR1[100:]}\n>2\n{CHR2}\n")
    return path


def write_gtf(path: Path) -> Path:
    lines = []
    for chrom, feature, start, end, strand, gene, tx, name in GTF_ROWS:
        attrs = (f'gene_id "{gene}"; transcript_id "{tx}"; gene_name "{name}"; '
                 f'gene_type "lncRNA"; transcript_type "lncRNA";')
        lines.append("\t".join([chrom, "test", feature, str(start), str(end), ".", strand, ".",
                                attrs]))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_expression(path: Path) -> Path:
    rows = ["gene_id\tgene_name\tHepG2\tK562"]
    rows += [f"{g}\tGENE{g[1]}\t{tpm}\t1" for g, tpm in TPM.items()]
    path.write_text("\n".join(rows) + "\n")
    return path


VCF_HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=200>
##contig=<ID=chr2,length=100>
##contig=<ID=chr9,length=100>
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def other(base: str, k: int = 0) -> str:
    """The k-th base (in ACGT order) that differs from ``base``."""
    return [b for b in "ACGT" if b != base][k]


def vcf_records() -> list[str]:
    """The test VCF's records (1-based POS), each with a note of what it exercises."""
    c = CHR1
    return [
        f"chr1\t3\ttrunc\t{c[2]}\t{other(c[2])}\t50\tPASS\tDP=10",  # window runs off chr1
        f"chr1\t31\tdel2\t{c[30:33]}\t{c[30]}\t.\tPASS\tDP=11",  # deletes [31, 33)
        f"chr1\t36\tins\t{c[35]}\t{c[35]}GG\t.\tPASS\tDP=12",  # inserts GG after 35
        f"chr1\t41\tmulti\t{c[40]}\t{other(c[40])},{other(c[40], 1)},*\t.\tPASS\t"
        "DP=13;AF=0.1,0.2,0.3",
        f"chr1\t51\tsnv_plus\t{c[50]}\t{other(c[50])}\t.\tPASS\tDP=14",  # G1 exon, '+' only
        f"chr1\t57\tdel_edge\t{c[56:59]}\t{c[56]}\t.\tPASS\t.",  # deletes [57, 59)
        f"chr1\t61\tmismatch\t{'A' if c[60] != 'A' else 'C'}\tG\t.\tPASS\t.",
        f"chr1\t70\tsymbolic\t{c[69]}\t<DEL>\t.\tPASS\t.",
        f"chr1\t75\tnoalt\t{c[74]}\t.\t.\tPASS\t.",
        f"chr1\t126\toutside\t{c[125]}\t{other(c[125])}\t.\tPASS\t.",  # between genes
        f"chr1\t140\tsnv_minus\t{c[139]}\t{other(c[139], 2)}\t.\tPASS\t.",  # G2 exon, '-' only
        f"chr1\t148\tnrich\t{c[147]}\t{other(c[147])}\t.\tPASS\t.",  # window has 3 N of 11
        "chr1\t250\toffcontig\tA\tG\t.\tPASS\t.",
        f"chr2\t51\tchr2_alias\t{CHR2[50]}\t{other(CHR2[50])}\t.\tPASS\t.",  # FASTA calls it '2'
        "chr9\t5\tunknown\tA\tG\t.\tPASS\t.",
    ]


def write_vcf(path: Path, records: list[str] | None = None) -> Path:
    records = records if records is not None else vcf_records()
    text = VCF_HEADER + "".join(r + "\n" for r in records)
    if str(path).endswith(".gz"):
        import pysam

        plain = Path(str(path)[:-3])
        plain.write_text(text)
        pysam.tabix_index(str(plain), preset="vcf", force=True)
        return path
    path.write_text(text)
    return path


def frac_model(length: int = 11):
    import keras

    x = keras.Input((length, 4), name="seq")
    h = keras.layers.GlobalAveragePooling1D()(x)
    dense = keras.layers.Dense(2, use_bias=False)
    y = dense(h)
    dense.set_weights([np.array([[1, 0], [0, 0], [0, 1], [0, 0]], dtype=np.float32)])
    return keras.Model(x, y)


def ctx_model(length: int = 7):
    import keras

    x = keras.Input((length, 6), name="seq_region")
    e = keras.Input((1,), name="expression")
    h = keras.layers.GlobalAveragePooling1D()(x)
    dense = keras.layers.Dense(1, use_bias=False)
    exon = dense(h)
    w = np.zeros((6, 1), dtype=np.float32)
    w[4, 0] = 1.0  # channel 4: ncrna_exon
    dense.set_weights([w])
    y = keras.layers.Concatenate()([exon, e])
    return keras.Model([x, e], y)


def save_models(folder: Path) -> Path:
    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec

    seq = Component("sequence", tuple("ACGT"))
    save_bundle(frac_model(), ModelMeta(
        name="frac", architecture="imported", rbps=["AFRAC", "GFRAC"], cell_line="HepG2",
        inputs=[InputSpec("seq", "per_position", (seq,), length=11)]), folder / "frac")
    save_bundle(ctx_model(), ModelMeta(
        name="ctx", architecture="imported", rbps=["EXON", "EXPR"], output="linear",
        cell_line="HepG2",
        inputs=[InputSpec("seq_region", "per_position",
                          (seq, Component("region", ("ncrna_exon", "intron"))), length=7),
                InputSpec("expression", "side", (Component("expression", ("log1p_tpm",)),))]),
        folder / "ctx")
    return folder


def build_world(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {"fasta": write_fasta(folder / "genome.fa"), "gtf": write_gtf(folder / "genes.gtf"),
            "expression": write_expression(folder / "expression.tsv"),
            "vcf": write_vcf(folder / "input.vcf"), "models": save_models(folder / "models")}


def frac(window: str) -> tuple[float, float]:
    """What the frac model outputs for a window: (A fraction, G fraction)."""
    return window.count("A") / len(window), window.count("G") / len(window)


def score_one_bundle(bundle_path: Path, tmp_path: Path):
    """Score this world's VCF with one bundle alone; returns the TSV table (pandas) and the
    VCF path."""
    import os

    import pandas as pd

    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.run import score_vcf

    world = build_world(tmp_path / "world")
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(bundle_path, models / Path(bundle_path).name)
    score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=models,
                           gtf=world["gtf"], table=tmp_path / "t.tsv",
                           annotation_cache=tmp_path / "cache"))
    return pd.read_csv(tmp_path / "t.tsv", sep="\t", keep_default_na=False), world["vcf"]


def snv_plus_windows(width: int) -> tuple[str, str]:
    """The reference and alternate windows of ``width`` nt (odd) around the VCF's
    ``snv_plus`` record (0-based position 50 of CHR1, gene G1 on '+')."""
    pos = 50
    ref = CHR1[pos - width // 2:pos + width // 2 + 1]
    return ref, ref[:width // 2] + other(CHR1[pos]) + ref[width // 2 + 1:]
