"""End-to-end scoring on a hand-built world (see scoring_world.py) with toy models."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import scoring_world as sw
from external_tools import bcftools

from varbind.cli import main
from varbind.scoring.options import ScoreOptions
from varbind.scoring.run import score_vcf

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sw.build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def scored(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    options = ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           output=out / "out.vcf.gz", table=out / "out.tsv",
                           annotation_cache=out / "cache", batch_size=4)
    summary = score_vcf(options)
    table = pd.read_csv(out / "out.tsv", sep="\t", keep_default_na=False,
                        dtype={"pos": int})
    for col in ("ref_score", "alt_score", "delta", "logit_delta"):
        table[col] = pd.to_numeric(table[col].replace("", np.nan))
    return {"summary": summary, "vcf": out / "out.vcf.gz", "tsv": out / "out.tsv",
            "table": table, "dir": out}


def rows(table, record_id, rbp=None):
    sel = table[table["id"] == record_id]
    return sel if rbp is None else sel[sel["rbp"] == rbp]


def test_snv_on_plus_strand_matches_hand_windows(scored):
    # chr1:51 C>A, window [45, 56) on '+': GCAAGCTTACG -> GCAAGATTACG
    assert sw.CHR1[45:56] == "GCAAGCTTACG"
    t = scored["table"]
    a = rows(t, "snv_plus", "AFRAC").iloc[0]
    g = rows(t, "snv_plus", "GFRAC").iloc[0]
    assert (a["strand"], a["gene_id"], a["gene_name"], a["region"]) == ("+", "G1", "GENE1",
                                                                        "ncrna_exon")
    assert a["ref_score"] == pytest.approx(3 / 11, abs=1e-5)
    assert a["alt_score"] == pytest.approx(4 / 11, abs=1e-5)
    assert a["delta"] == pytest.approx(1 / 11, abs=1e-5)
    logit = np.log(4 / 7) - np.log(3 / 8)
    assert a["logit_delta"] == pytest.approx(logit, abs=1e-4)
    assert g["delta"] == pytest.approx(0, abs=1e-6)
    assert set(rows(t, "snv_plus")["strand"]) == {"+"}   # no gene on '-' here


def test_snv_on_minus_strand_is_reverse_complemented(scored):
    # chr1:140 C>T on G2 (-): window [134, 145) = CGGATCACGTT, transcript AACGTGATCCG;
    # genomic C>T is transcript G>A, so A goes 3 -> 4 and G 3 -> 2.
    assert sw.CHR1[134:145] == "CGGATCACGTT"
    t = scored["table"]
    a = rows(t, "snv_minus", "AFRAC").iloc[0]
    g = rows(t, "snv_minus", "GFRAC").iloc[0]
    assert a["strand"] == "-" and a["gene_id"] == "G2"
    assert (a["ref_score"], a["alt_score"]) == pytest.approx((3 / 11, 4 / 11), abs=1e-5)
    assert (g["ref_score"], g["alt_score"]) == pytest.approx((3 / 11, 2 / 11), abs=1e-5)
    expr = rows(t, "snv_minus", "EXPR").iloc[0]
    assert expr["ref_score"] == pytest.approx(np.log1p(99.0), abs=1e-5)  # G2 in HepG2


def test_deletion_recomputes_region_classes_on_the_alt_allele(scored):
    # chr1:57 GAT>G deletes [57, 59) at the G1 exon/intron edge (exon ends at 60).
    # ctx window 7: ref [54, 61) has 6 exon bases; alt 54 55 56 | 59 60 61 62 has 4.
    ex = rows(scored["table"], "del_edge", "EXON").iloc[0]
    assert ex["ref_score"] == pytest.approx(6 / 7, abs=1e-6)
    assert ex["alt_score"] == pytest.approx(4 / 7, abs=1e-6)
    assert np.isnan(ex["logit_delta"])  # linear model: no logit
    # frac window 11: ref [52, 63), alt [52, 57) + [59, 65)
    ref_w, alt_w = sw.CHR1[52:63], sw.CHR1[52:57] + sw.CHR1[59:65]
    a = rows(scored["table"], "del_edge", "AFRAC").iloc[0]
    assert (a["ref_score"], a["alt_score"]) == pytest.approx(
        (sw.frac(ref_w)[0], sw.frac(alt_w)[0]), abs=1e-5)


def test_insertion_window_is_centered_on_the_inserted_bases(scored):
    # chr1:36 G>GGG inserts GG; left-aligned it sits before 0-based 35 (a G).
    # alt allele ...30..34 | G G | 35 36..., center on the first inserted G:
    alt_w = sw.CHR1[30:35] + "GG" + sw.CHR1[35:39]
    ref_w = sw.CHR1[30:41]  # empty ref block: center on 35, the base after the junction
    g = rows(scored["table"], "ins", "GFRAC").iloc[0]
    assert (g["ref_score"], g["alt_score"]) == pytest.approx(
        (sw.frac(ref_w)[1], sw.frac(alt_w)[1]), abs=1e-5)


def test_multiallelic_each_alt_scored_and_number_a_fields(scored):
    from cyvcf2 import VCF

    t = scored["table"]
    multi = rows(t, "multi")
    assert list(dict.fromkeys(multi["alt"])) == ["C", "G", "*"]
    assert list(multi[multi["alt"] == "*"]["status"]) == ["spanning_deletion"]
    rec = next(r for r in VCF(str(scored["vcf"])) if r.ID == "multi")
    assert rec.INFO["VARBIND_STATUS"].split(",") == ["ok", "ok", "spanning_deletion"]
    assert rec.INFO["AF"] == pytest.approx((0.1, 0.2, 0.3))  # original fields kept
    loss = rec.INFO["VARBIND_MAX_LOSS"]
    assert len(loss) == 3 and loss[2] is None
    # C at 0-based 40 (an A): A fraction drops by 1/11 for both ALTs.
    assert loss[0] == pytest.approx(1 / 11, abs=1e-3) and loss[1] == pytest.approx(1 / 11,
                                                                                   abs=1e-3)
    assert rec.INFO["VARBIND_MAX_LOSS_RBP"].split(",") == ["AFRAC", "AFRAC", "."]


def test_bad_records_are_kept_and_marked(scored):
    t = scored["table"]
    expected = {"mismatch": "ref_mismatch", "symbolic": "symbolic_allele", "noalt": "no_alt",
                "outside": "outside_transcript", "offcontig": "off_contig",
                "unknown": "unknown_contig", "nrich": "ok&n_rich",
                "trunc": "ok&n_rich&truncated"}
    for rid, status in expected.items():
        assert set(rows(t, rid)["status"]) == {status}, rid
    s = scored["summary"]
    assert s.records == 15
    assert s.alleles_not_scored == {"no_alt": 1, "off_contig": 1, "outside_transcript": 1,
                                    "ref_mismatch": 1, "spanning_deletion": 1,
                                    "symbolic_allele": 1, "unknown_contig": 1}
    assert s.records_scored == 9
    assert s.flags == {"n_rich": 2, "truncated": 1}


def test_contig_aliases_between_vcf_and_fasta(scored):
    # VCF and GTF say chr2, the FASTA says 2.
    a = rows(scored["table"], "chr2_alias", "AFRAC").iloc[0]
    assert a["gene_id"] == "G3"
    assert a["ref_score"] == pytest.approx(sw.frac(sw.CHR2[45:56])[0], abs=1e-5)


def test_every_record_appears_in_order_with_its_fields(scored, world):
    from cyvcf2 import VCF

    ids_in = [r.ID for r in VCF(str(world["vcf"]))]
    out = list(VCF(str(scored["vcf"])))
    assert [r.ID for r in out] == ids_in
    assert out[0].INFO["DP"] == 10 and out[0].QUAL == 50
    assert list(dict.fromkeys(scored["table"]["id"])) == ids_in
    assert scored["vcf"].with_name("out.vcf.gz.tbi").exists()


def test_vcf_reads_with_pysam_and_bcftools_split_vep(scored):
    import pysam

    with pysam.VariantFile(str(scored["vcf"])) as vf:
        recs = list(vf)
        header = str(vf.header)
    assert "Format: ALLELE|Consequence|STRAND|GENE|REGION|RBP" in header
    assert "##varbind_model=<ID=frac,Hash=sha256:" in header
    assert "##varbind_version=" in header and "##varbind_reference=" in header
    snv = next(r for r in recs if r.id == "snv_plus")
    entries = [e.split("|") for e in snv.info["VARBIND"]]
    assert [e[5] for e in entries] == ["EXON", "EXPR", "AFRAC", "GFRAC"]
    assert entries[2][:5] == ["A", "binding_unchanged", "+", "GENE1", "ncrna_exon"]
    out = subprocess.run([bcftools(), "+split-vep", "-a", "VARBIND", "-d", "-f",
                          "%ID\t%STRAND\t%RBP\t%DELTA\t%Consequence\n", str(scored["vcf"])],
                         capture_output=True, text=True, check=True).stdout
    lines = [line.split("\t") for line in out.strip().splitlines()]
    snv_lines = [x for x in lines if x[0] == "snv_plus"]
    assert [x[2] for x in snv_lines] == ["EXON", "EXPR", "AFRAC", "GFRAC"]
    assert float(snv_lines[2][3]) == pytest.approx(1 / 11, abs=1e-3)
    del_lines = [x for x in lines if x[0] == "del_edge" and x[2] == "EXON"]
    assert del_lines[0][4] == "binding_loss"  # -2/7 beyond the 0.1 threshold


def test_summary_json_beside_the_output(scored):
    data = json.loads((scored["dir"] / "out.vcf.gz.summary.json").read_text())
    assert data["records"] == 15 and data["rbps"] == 4
    assert {m["name"] for m in data["models"]} == {"frac", "ctx"}


def test_region_min_delta_all_strands_and_parquet(world, tmp_path):
    vcf_gz = sw.write_vcf(tmp_path / "in.vcf.gz")
    options = ScoreOptions(vcf=vcf_gz, fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           output=tmp_path / "r.vcf", table=tmp_path / "r.parquet",
                           region="chr1:41-130", min_delta=0.05, all_strands=True,
                           rbps=["AFRAC"], annotation_cache=tmp_path / "cache")
    summary = score_vcf(options)
    table = pd.read_parquet(tmp_path / "r.parquet")
    assert list(dict.fromkeys(table["id"])) == ["multi", "snv_plus", "del_edge", "mismatch",
                                                "symbolic", "noalt", "outside"]
    assert set(table["rbp"].dropna()) - {""} == {"AFRAC"}
    snv = table[table["id"] == "snv_plus"]
    assert list(snv["strand"]) == ["+", "-"]
    assert list(snv["status"]) == ["ok", "ok&outside_transcript"]
    outside = table[table["id"] == "outside"]
    assert list(outside["strand"]) == ["+", "-"] and set(outside["gene_id"]) == {""}
    text = (tmp_path / "r.vcf").read_text()
    snv_line = next(line for line in text.splitlines() if "\tsnv_plus\t" in line)
    entries = snv_line.split("VARBIND=")[1].split(";")[0].split(",")
    deltas = [abs(float(e.split("|")[8])) for e in entries]
    assert deltas and min(deltas) >= 0.05
    assert summary.records == 7


def test_output_is_deterministic_apart_from_run_lines(world, tmp_path):
    outs = []
    for name in ("a.vcf", "b.vcf"):
        score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                               gtf=world["gtf"], expression=world["expression"],
                               output=tmp_path / name, annotation_cache=tmp_path / "c",
                               batch_size=3 if name == "a.vcf" else 1000))
        outs.append([line for line in (tmp_path / name).read_text().splitlines()
                     if not line.startswith("##varbind_run")])
    assert outs[0] == outs[1]


# ------------------------------------------------------------------ CLI and errors


def cli(args, capsys):
    code = main(["score", *map(str, args)])
    err = capsys.readouterr().err
    return code, err


def test_cli_scores_with_flags(world, tmp_path, capsys):
    out = tmp_path / "cli.vcf.gz"
    code, err = cli([world["vcf"], "--fasta", world["fasta"], "--gtf", world["gtf"],
                     "--expression", world["expression"], "--models", world["models"],
                     "-o", out, "--rbps", "all"], capsys)
    assert code == 0, err
    assert "records: 15 read, 9 scored" in err
    assert out.exists() and (tmp_path / "cli.vcf.gz.tbi").exists()


def test_cli_reads_the_config_file(world, tmp_path, capsys, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[score]\ngenome = "mine"\n\n[genomes.mine]\nfasta = "{world["fasta"]}"\n'
                      f'gtf = "{world["gtf"]}"\nexpression = "{world["expression"]}"\n'
                      f'models = "{world["models"]}"\n')
    monkeypatch.setenv("VARBIND_CONFIG", str(config))
    code, err = cli([world["vcf"], "-o", tmp_path / "c.vcf", "--rbps", "AFRAC"], capsys)
    assert code == 0, err
    assert "AFRAC" in (tmp_path / "c.vcf").read_text()
    assert "|GFRAC|" not in (tmp_path / "c.vcf").read_text()


def test_cli_without_configuration_says_what_to_pass(world, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VARBIND_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code, err = cli([world["vcf"], "-o", tmp_path / "x.vcf"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no fasta and models given" in err and "--genome demo" in err
    assert not (tmp_path / "x.vcf").exists()


@pytest.mark.parametrize("bad_line,message", [
    ("chr1\tabc\t.\tA\tG\t.\t.\t.", "malformed VCF record 2"),
    ("chr1\t51\t.\tC", "malformed VCF record 2"),
])
def test_malformed_vcf_one_line_error_and_no_output(world, tmp_path, capsys, bad_line, message):
    bad = sw.write_vcf(tmp_path / "bad.vcf", [sw.vcf_records()[4], bad_line])
    out = tmp_path / "o.vcf.gz"
    code, err = cli([bad, "--fasta", world["fasta"], "--gtf", world["gtf"], "--expression",
                     world["expression"], "--models", world["models"], "-o", out,
                     "--tsv", tmp_path / "o.tsv"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err and str(bad) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.vcf"]


def test_not_a_vcf_and_missing_vcf(world, tmp_path, capsys):
    junk = tmp_path / "junk.vcf"
    junk.write_text("hello\n")
    common = ["--fasta", world["fasta"], "--gtf", world["gtf"], "--expression",
              world["expression"], "--models", world["models"], "-o", tmp_path / "o.vcf"]
    code, err = cli([junk, *common], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot read as VCF" in err
    code, err = cli([tmp_path / "nope.vcf", *common], capsys)
    assert code == 2 and "VCF not found" in err
    assert not (tmp_path / "o.vcf").exists()


def test_strict_makes_ref_mismatch_fatal(world, tmp_path, capsys):
    out = tmp_path / "s.vcf"
    code, err = cli([world["vcf"], "--fasta", world["fasta"], "--gtf", world["gtf"],
                     "--expression", world["expression"], "--models", world["models"],
                     "-o", out, "--strict"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "REF mismatch at chr1:61 (VCF C, genome A)" in err
    assert not out.exists()


def test_bad_options_are_one_line_errors(world, tmp_path):
    from varbind.errors import VarbindError

    base = dict(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                gtf=world["gtf"], expression=world["expression"])
    with pytest.raises(VarbindError, match="must end in .vcf or .vcf.gz"):
        score_vcf(ScoreOptions(**base, output=tmp_path / "o.bcf"))
    with pytest.raises(VarbindError, match="--region 'chr1:9-5' is empty"):
        score_vcf(ScoreOptions(**base, output=tmp_path / "o.vcf", region="chr1:9-5"))
    with pytest.raises(VarbindError, match="no model predicts NOPE"):
        score_vcf(ScoreOptions(**base, output=tmp_path / "o.vcf", rbps=["NOPE"]))
    with pytest.raises(VarbindError, match="--cell-type 'Liver' is not a column"):
        score_vcf(ScoreOptions(**base, output=tmp_path / "o.vcf", cell_type="Liver"))
    with pytest.raises(VarbindError, match="model ctx needs region classes"):
        score_vcf(ScoreOptions(**{**base, "gtf": None}, output=tmp_path / "o.vcf",
                               all_strands=True))
    assert list(tmp_path.iterdir()) == []


def test_structure_model_gets_rnaplfold_profiles_of_its_own_window(world, tmp_path):
    import keras

    from varbind.model.bundle import ModelMeta, save_bundle
    from varbind.model.inputs import Component, InputSpec
    from varbind.model.structure import StructureProfiler

    x = keras.Input((11, 6), name="seq_structure")
    h = keras.layers.GlobalAveragePooling1D()(x)
    dense = keras.layers.Dense(1, use_bias=False)
    y = dense(h)
    w = np.zeros((6, 1), dtype=np.float32)
    w[4, 0] = 1.0  # channel 4: paired probability
    dense.set_weights([w])
    spec = InputSpec("seq_structure", "per_position",
                     (Component("sequence", tuple("ACGT")),
                      Component("structure", ("paired", "unpaired"))), length=11)
    save_bundle(keras.Model(x, y), ModelMeta(name="fold", architecture="imported",
                                             rbps=["PAIRED"], inputs=[spec]),
                tmp_path / "models" / "fold")
    score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=tmp_path / "models",
                           gtf=world["gtf"], table=tmp_path / "s.tsv",
                           annotation_cache=tmp_path / "c"))
    t = pd.read_csv(tmp_path / "s.tsv", sep="\t", keep_default_na=False)
    row = t[t["id"] == "snv_plus"].iloc[0]
    from varbind.encoding import encode

    ref_w = encode(sw.CHR1[45:56])[None]
    expected = StructureProfiler().profiles(ref_w)[0, :, 0].mean()
    assert float(row["ref_score"]) == pytest.approx(expected, abs=1e-5)


def test_bcf_input_scores_like_vcf(world, scored, tmp_path):
    from cyvcf2 import VCF, Writer

    bcf = tmp_path / "in.bcf"
    src = VCF(str(world["vcf"]))
    dst = Writer(str(bcf), src, mode="wb")
    for rec in src:
        dst.write_record(rec)
    dst.close()
    score_vcf(ScoreOptions(vcf=bcf, fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           table=tmp_path / "b.tsv", annotation_cache=tmp_path / "c"))
    assert (tmp_path / "b.tsv").read_text() == scored["tsv"].read_text()


def test_region_needs_an_index(world, tmp_path):
    from varbind.errors import InputFileError

    with pytest.raises(InputFileError, match="cannot query region chr1:1-50.*tabix -p vcf"):
        score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                               gtf=world["gtf"], expression=world["expression"],
                               output=tmp_path / "o.vcf", region="chr1:1-50"))
    assert not (tmp_path / "o.vcf").exists()


def test_hooks_add_info_keys_and_table_columns(world, tmp_path):
    import pysam

    from varbind.scoring.options import ScoreHooks

    seen = []

    def on_output(result, out):
        seen.append(len(result.records))
        for rec, info in zip(result.records, out.info, strict=True):
            info["VARBIND_TEST"] = rec.id
        out.table["extra"] = out.table["delta"] * 2

    hooks = ScoreHooks(on_output=on_output, table_columns=["extra"],
                       header_lines=['##INFO=<ID=VARBIND_TEST,Number=1,Type=String,'
                                     'Description="test">'])
    score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                           gtf=world["gtf"], expression=world["expression"],
                           output=tmp_path / "h.vcf", table=tmp_path / "h.tsv",
                           annotation_cache=tmp_path / "c", batch_size=8), hooks=hooks)
    assert seen == [8, 7]
    with pysam.VariantFile(str(tmp_path / "h.vcf")) as vf:
        assert [r.info["VARBIND_TEST"] for r in vf][:2] == ["trunc", "del2"]
    t = pd.read_csv(tmp_path / "h.tsv", sep="\t")
    assert list(t.columns)[-1] == "extra"
    np.testing.assert_allclose(t["extra"], 2 * t["delta"], rtol=1e-5)


def test_vcf_without_records_gives_valid_empty_outputs(world, tmp_path):
    empty = sw.write_vcf(tmp_path / "empty.vcf", [])
    summary = score_vcf(ScoreOptions(vcf=empty, fasta=world["fasta"], models=world["models"],
                                     gtf=world["gtf"], expression=world["expression"],
                                     output=tmp_path / "e.vcf.gz", table=tmp_path / "e.parquet",
                                     annotation_cache=tmp_path / "c"))
    assert summary.records == 0
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 0
    from cyvcf2 import VCF

    assert list(VCF(str(tmp_path / "e.vcf.gz"))) == []


def test_header_values_with_commas_are_quoted(tmp_path):
    # regression: a model trained on two cell lines ("SIM1,SIM2") broke the header
    from cyvcf2 import VCF

    from varbind.scoring.scorer import header_value
    from varbind.scoring.writers import VcfWriter

    assert header_value("SIM1,SIM2") == '"SIM1,SIM2"' and header_value("HepG2") == "HepG2"
    src = sw.write_vcf(tmp_path / "in.vcf", sw.vcf_records()[:1])
    line = f"##varbind_model=<ID=m,CellLine={header_value('SIM1,SIM2')},RBPs={header_value('A/B')}>"
    writer = VcfWriter(tmp_path / "o.vcf", VCF(str(src)), [line], compressed=False)
    writer.close()
    assert line in (tmp_path / "o.vcf").read_text()


def test_vcf_without_contig_or_info_header_lines(world, tmp_path):
    # regression: records on contigs the header never declared could not be written
    import pysam

    text = ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            + "".join(r + "\n" for r in sw.vcf_records()))
    bare = tmp_path / "bare.vcf"
    bare.write_text(text)
    summary = score_vcf(ScoreOptions(vcf=bare, fasta=world["fasta"], models=world["models"],
                                     gtf=world["gtf"], expression=world["expression"],
                                     output=tmp_path / "b.vcf.gz",
                                     annotation_cache=tmp_path / "c"))
    assert summary.records == 15 and summary.records_scored == 9
    with pysam.VariantFile(str(tmp_path / "b.vcf.gz")) as vf:
        recs = list(vf)
    assert [r.id for r in recs][:2] == ["trunc", "del2"]
    assert "DP=10" in str(recs[0]) and "VARBIND_STATUS=ok&n_rich&truncated" in str(recs[0])


def test_an_error_in_the_writer_thread_leaves_no_output(world, tmp_path):
    from varbind.errors import VarbindError
    from varbind.scoring.options import ScoreHooks

    def on_output(result, out):
        raise VarbindError("boom in the writer")

    with pytest.raises(VarbindError, match="boom in the writer"):
        score_vcf(ScoreOptions(vcf=world["vcf"], fasta=world["fasta"], models=world["models"],
                               gtf=world["gtf"], expression=world["expression"],
                               output=tmp_path / "w.vcf.gz", table=tmp_path / "w.tsv",
                               annotation_cache=tmp_path / "c", batch_size=2),
                  hooks=ScoreHooks(on_output=on_output))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_chrm_and_mt_are_the_same_contig(world, tmp_path):
    fasta = tmp_path / "mt.fa"
    fasta.write_text(">MT\n" + sw.PATTERN * 3 + "\n")
    gtf = tmp_path / "mt.gtf"
    gtf.write_text('chrM\ttest\texon\t1\t60\t.\t+\t.\tgene_id "MT1"; transcript_id "MT1.1"; '
                   'gene_name "MT-ONE";\n')
    vcf = sw.write_vcf(tmp_path / "mt.vcf", [f"chrM\t30\tm1\t{sw.PATTERN[9]}\t"
                                             f"{sw.other(sw.PATTERN[9])}\t.\tPASS\t."])
    score_vcf(ScoreOptions(vcf=vcf, fasta=fasta, gtf=gtf, models=world["models"] / "frac",
                           table=tmp_path / "mt.tsv", annotation_cache=tmp_path / "c"))
    t = pd.read_csv(tmp_path / "mt.tsv", sep="\t", keep_default_na=False)
    assert list(t["status"]) == ["ok", "ok"] and set(t["gene_name"]) == {"MT-ONE"}
    window = (sw.PATTERN * 3)[24:35]
    assert float(t["ref_score"].iloc[0]) == pytest.approx(sw.frac(window)[0], abs=1e-5)


def test_region_forms_including_contigs_with_colons():
    from varbind.errors import VarbindError
    from varbind.genomics.region import parse_region

    contigs = ["chr1", "HLA-A*01:01:01:01"]

    def resolved(text):
        return str(parse_region(text).resolve(contigs))

    assert resolved("1:1,000-2,000") == "chr1:1000-2000"
    assert resolved("chr1") == "chr1"
    assert resolved("{HLA-A*01:01:01:01}:5-10") == "{HLA-A*01:01:01:01}:5-10"
    with pytest.raises(VarbindError, match="not in the VCF"):
        parse_region("chr9:1-5").resolve(contigs)


def test_weak_rbps_are_warned_about_once(world, tmp_path, capsys, caplog):
    import json
    import shutil

    models = tmp_path / "models"
    shutil.copytree(world["models"], models)
    meta_path = models / "frac" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["training"] = {"health": {"status": "weak", "rbps": {
        "AFRAC": {"status": "ok"},
        "GFRAC": {"status": "weak", "reason": "validation AUROC 0.510 is near chance"}}}}
    meta_path.write_text(json.dumps(meta))
    code, err = cli([world["vcf"], "--fasta", world["fasta"], "--gtf", world["gtf"],
                     "--expression", world["expression"], "--models", models,
                     "-o", tmp_path / "w.vcf.gz", "--rbps", "all"], capsys)
    assert code == 0, err
    assert caplog.text.count("RBP GFRAC is weak (validation AUROC 0.510 is near chance") == 1
    assert "AFRAC is weak" not in caplog.text
    caplog.clear()
    cli([world["vcf"], "--fasta", world["fasta"], "--models", models,
         "-o", tmp_path / "a.vcf.gz", "--rbps", "AFRAC"], capsys)
    assert "is weak" not in caplog.text
