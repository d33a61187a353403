"""ExpressionTable: formats, units, matching and fallbacks, checked against hand values."""

from __future__ import annotations

import gzip
import logging
import math

import numpy as np
import pytest

from varbind.annotations.expression import ExpressionTable, column_units, strip_version
from varbind.errors import InputFileError, VarbindError

WIDE = (
    "gene_id\tgene_name\tHepG2\tK562_TPM\n"
    "ENSG00000000001.12\tAAA\t0\t9\n"
    "ENSG00000000002.3\tBBB\t1\t\n"
    "ENSG00000000003\tCCC\t99\t0.5\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_wide_table_tpm_to_log1p(tmp_path):
    table = ExpressionTable.read(write(tmp_path, "e.tsv", WIDE))
    assert table.cell_types == ["HepG2", "K562"]
    got = table.lookup(["ENSG00000000003", "ENSG00000000001", "ENSG00000000002.9"],
                       cell_type="hepg2")
    np.testing.assert_allclose(got, [math.log(100), 0.0, math.log(2)], rtol=1e-6)
    assert got.dtype == np.float32


def test_versions_are_ignored_on_both_sides(tmp_path):
    table = ExpressionTable.read(write(tmp_path, "e.tsv", WIDE))
    np.testing.assert_allclose(table.lookup(["ENSG00000000001.1"], cell_type="K562"),
                               [math.log(10)], rtol=1e-6)
    assert strip_version(["ENSG00000000001.12", "ENST00000000001.1", "GENE.2"]).tolist() == \
        ["ENSG00000000001", "ENST00000000001", "GENE.2"]


def test_names_used_when_ids_missing_and_fallback_warns(tmp_path, caplog):
    table = ExpressionTable.read(write(tmp_path, "e.tsv", WIDE))
    with caplog.at_level(logging.WARNING, logger="varbind.annotations.expression"):
        got = table.lookup(["ENSG99", "ENSG98", "ENSG00000000002"], ["CCC", "ZZZ", "BBB"],
                           cell_type="K562")
    # CCC by name -> 0.5 TPM; ZZZ missing -> 0; BBB has an empty K562 cell -> 0
    np.testing.assert_allclose(got, [math.log(1.5), 0.0, 0.0], rtol=1e-6)
    assert "2 of 3 genes not in" in caplog.text


def test_custom_fallback(tmp_path):
    table = ExpressionTable.read(write(tmp_path, "e.tsv", WIDE))
    assert table.lookup(["nope"], cell_type="HepG2", fallback=-1.0).tolist() == [-1.0]


def test_polaris_lntpm_columns(tmp_path):
    text = "gene\tHepG2_lnTPM\tK562.logTPM\nG1\t0\t-inf\nG2\t2.302585\t\n"
    table = ExpressionTable.read(write(tmp_path, "p.tsv", text))
    assert table.cell_types == ["HepG2", "K562"]
    # ln TPM 0 -> TPM 1 -> log1p = ln 2; ln TPM ln(10) -> TPM 10 -> ln 11; -inf -> TPM 0
    np.testing.assert_allclose(table.lookup(["G1", "G2"], cell_type="HepG2"),
                               [math.log(2), math.log(11)], rtol=1e-5)
    np.testing.assert_allclose(table.lookup(["G1"], cell_type="K562"), [0.0])


def test_forced_units_and_log1p_columns(tmp_path):
    path = write(tmp_path, "u.csv", "symbol,liver\nG1,1.5\n")
    forced = ExpressionTable.read(path, units="log1p")
    assert forced.lookup([""], ["G1"]).tolist() == [1.5]
    assert column_units("HepG2_log1p_tpm") == ("HepG2", "log1p")
    assert column_units("K562") == ("K562", "tpm")
    assert column_units("A549-TPM") == ("A549", "tpm")


def test_csv_gz_names_only_table_matches_ids_that_are_names(tmp_path):
    path = tmp_path / "e.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("Gene_Symbol,TPM\nAAA,3\n")
    table = ExpressionTable.read(path)
    np.testing.assert_allclose(table.lookup(["AAA"]), [math.log(4)], rtol=1e-6)


def test_long_table(tmp_path):
    text = "gene_id\tcell_line\ttpm\nG1\tHepG2\t1\nG1\tK562\t3\nG2\tHepG2\t7\n"
    table = ExpressionTable.read(write(tmp_path, "l.tsv", text))
    assert sorted(table.cell_types) == ["HepG2", "K562"]
    np.testing.assert_allclose(table.lookup(["G1", "G2"], cell_type="HepG2"),
                               [math.log(2), math.log(8)], rtol=1e-6)


def test_cell_type_errors(tmp_path):
    table = ExpressionTable.read(write(tmp_path, "e.tsv", WIDE))
    with pytest.raises(VarbindError, match="several cell types .*--cell-type"):
        table.lookup(["ENSG00000000001"])
    with pytest.raises(VarbindError, match="cell type 'liver' is not in .*HepG2, K562"):
        table.lookup(["ENSG00000000001"], cell_type="liver")


def test_bad_tables(tmp_path):
    with pytest.raises(InputFileError, match=r"line 1: no gene id or name column .*gene_id"):
        ExpressionTable.read(write(tmp_path, "a.tsv", "transcript\tHepG2\nT1\t1\n"))
    with pytest.raises(InputFileError, match=r"line 3: column 'HepG2' holds 'high'"):
        ExpressionTable.read(write(tmp_path, "b.tsv", "gene_id\tHepG2\nG1\t1\nG2\thigh\n"))
    with pytest.raises(InputFileError, match="negative TPM .*_lnTPM"):
        ExpressionTable.read(write(tmp_path, "c.tsv", "gene_id\tHepG2\nG1\t-1\n"))
    with pytest.raises(InputFileError, match="no numeric expression columns"):
        ExpressionTable.read(write(tmp_path, "d.tsv", "gene_id\tnote\nG1\tx\n"))
    with pytest.raises(InputFileError, match="expression table not found"):
        ExpressionTable.read(tmp_path / "missing.tsv")
    with pytest.raises(InputFileError, match="empty"):
        ExpressionTable.read(write(tmp_path, "e.tsv", ""))
    with pytest.raises(InputFileError, match="comma-separated .*\\.csv"):
        ExpressionTable.read(write(tmp_path, "f.tsv", "gene_id,HepG2\nG1,1\n"))
    with pytest.raises(VarbindError, match="--expression-units must be one of"):
        ExpressionTable.read(write(tmp_path, "g.tsv", WIDE), units="fpkm")
