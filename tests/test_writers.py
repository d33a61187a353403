"""VCF and table writers."""

import gzip

import numpy as np
import pandas as pd
import pytest

from varbind.errors import VarbindError
from varbind.scoring.writers import (
    INFO_FIELDS,
    TABLE_COLUMNS,
    TableWriter,
    VcfWriter,
    format_float,
    table_kind,
    vcf_kind,
)

VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr1\t10\ta\tA\tC,G\t.\tPASS\t.
chr1\t20\tb\tA\t.\t.\t.\t.
"""


def frame(n):
    return pd.DataFrame({c: (np.arange(n, dtype=np.float32) / 4 if c in
                             ("ref_score", "alt_score", "delta", "logit_delta")
                             else np.arange(n) + 1 if c == "pos" else [f"{c}{i}" for i in range(n)])
                         for c in TABLE_COLUMNS})


def test_format_float():
    assert format_float(0.123456) == "0.1235"
    assert format_float(-0.0) == "0"
    assert format_float(float("nan")) == "."
    assert format_float(1.5e-7) == "1.5e-07"


def test_output_kinds():
    assert vcf_kind("x.vcf.gz") == "vcf.gz" and vcf_kind("x.vcf") == "vcf"
    with pytest.raises(VarbindError, match="must end in .vcf or .vcf.gz"):
        vcf_kind("x.bcf")
    assert table_kind("t.parquet") == "parquet"
    assert table_kind("t.tsv.gz") == "tsv.gz" and table_kind("t.tsv") == "tsv"


@pytest.mark.parametrize("name", ["out.vcf", "out.vcf.gz"])
def test_vcf_writer_adds_header_and_info(tmp_path, name):
    import pysam
    from cyvcf2 import VCF as Reader

    src = tmp_path / "in.vcf"
    src.write_text(VCF)
    template = Reader(str(src))
    out = tmp_path / name
    writer = VcfWriter(out, template, ["##varbind_version=9"], compressed=name.endswith(".gz"))
    infos = [{"VARBIND": "C|binding_gain|+|G|cds|R|0.1|0.5|0.4|1.8",
              "VARBIND_MAX_LOSS": "0,.", "VARBIND_MAX_GAIN": "0.4,.",
              "VARBIND_MAX_LOSS_RBP": ".,.", "VARBIND_MAX_GAIN_RBP": "R,.",
              "VARBIND_STATUS": "ok,spanning_deletion"},
             {"VARBIND_STATUS": "no_alt"}]
    for rec, info in zip(template, infos, strict=True):
        writer.write(rec, info)
    indexed = writer.close()
    assert indexed == name.endswith(".gz")
    with pysam.VariantFile(str(out)) as vf:
        header = str(vf.header)
        recs = list(vf)
    for field in INFO_FIELDS:
        assert f"ID={field['ID']}," in header
    assert "##varbind_version=9" in header
    assert recs[0].info["VARBIND_MAX_GAIN"] == (pytest.approx(0.4), None)
    assert recs[0].info["VARBIND_MAX_GAIN_RBP"] == ("R", ".")
    assert recs[1].info["VARBIND_STATUS"] == ("no_alt",)


def test_vcf_writer_refuses_an_input_already_annotated(tmp_path):
    from cyvcf2 import VCF as Reader

    src = tmp_path / "in.vcf"
    src.write_text(VCF.replace("##contig", '##INFO=<ID=VARBIND,Number=.,Type=String,'
                                           'Description="old">\n##contig'))
    with pytest.raises(VarbindError, match="already has INFO/VARBIND"):
        VcfWriter(tmp_path / "o.vcf", Reader(str(src)), [], compressed=False)


@pytest.mark.parametrize("name", ["t.tsv", "t.tsv.gz", "t.parquet"])
def test_table_writer_round_trip(tmp_path, name):
    path = tmp_path / name
    writer = TableWriter(path, table_kind(path))
    writer.write(frame(3))
    writer.write(frame(2))
    writer.close()
    if name.endswith(".parquet"):
        back = pd.read_parquet(path)
    else:
        back = pd.read_csv(path, sep="\t")
    assert list(back.columns) == TABLE_COLUMNS
    assert len(back) == 5 and writer.rows == 5
    assert back["delta"].tolist() == [0, 0.25, 0.5, 0, 0.25]
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as fh:
            assert fh.readline().startswith("chrom\tpos\tid")


def test_empty_parquet_is_valid(tmp_path):
    writer = TableWriter(tmp_path / "e.parquet", "parquet")
    writer.close()
    assert list(pd.read_parquet(tmp_path / "e.parquet").columns) == TABLE_COLUMNS
