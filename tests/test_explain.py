"""varbind.interpret.explain: attribution inside a scoring run, on a hand-built world and a toy
model.

chr1 (300 nt, one '+' gene over all of it) carries TGCATG at [150, 156) and the one-off
TGCTTG at [220, 226). The toy model scores ~0.98 when a 30-nt window holds TGCATG, ~0.02 when
not. Variants (1-based): C153A breaks the motif (loss), a 1-nt deletion at 153-154 breaks it
(loss), T224A completes the second one (gain), G60C is far from both (neutral).
"""

import subprocess

import cyvcf2
import keras
import numpy as np
import pytest
from external_tools import bcftools
from planted import motif_detector

from varbind.errors import VarbindError
from varbind.genomics.variants import Record
from varbind.interpret.explain import (
    EXPLAIN_COLUMNS,
    ChunkExplainer,
    ExplainSettings,
    add_explanations,
    header_lines,
    parse_methods,
)
from varbind.interpret.store import read_explanation
from varbind.interpret.variant_maps import ExplainOptions
from varbind.model.bundle import ModelMeta, save_bundle
from varbind.model.inputs import Component, InputSpec
from varbind.scoring.chunk import ChunkScorer
from varbind.scoring.formatting import format_chunk
from varbind.scoring.options import ScoreOptions
from varbind.scoring.scorer import Scorer

W = 30


def _chrom():
    rng = np.random.default_rng(5)
    seq = list(rng.choice(list("ACG"), 300))  # no T: no stray TGCATG anywhere
    seq[150:156] = "TGCATG"
    seq[220:226] = "TGCTTG"
    seq[59] = "G"
    return "".join(seq)


CHR1 = _chrom()


def _model():
    return motif_detector(W, "TGCATG", spread=7)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("explain_world")
    (d / "g.fa").write_text(f">chr1\n{CHR1}\n")
    attrs = 'gene_id "G1"; transcript_id "T1"; gene_name "GENE1"; gene_type "lncRNA";'
    (d / "g.gtf").write_text(f"chr1\tt\texon\t1\t300\t.\t+\t.\t{attrs}\n")
    c = CHR1
    records = ["chr1\t60\tneutral\tG\tC\t.\tPASS\t.",
               f"chr1\t153\tloss\t{c[152]}\tA\t.\tPASS\t.",
               f"chr1\t153\tdel\t{c[152:154]}\t{c[152]}\t.\tPASS\t.",
               f"chr1\t224\tgain\t{c[223]}\tA\t.\tPASS\t."]
    header = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=300>\n" \
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    (d / "v.vcf").write_text(header + "\n".join(records) + "\n")
    spec = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), W)
    meta = ModelMeta(name="toy", architecture="imported", rbps=["RBFOX1"], inputs=[spec])
    save_bundle(_model(), meta, d / "models" / "toy")
    return d


def _run(world, tmp_path, **settings):
    options = ScoreOptions(vcf=world / "v.vcf", fasta=world / "g.fa", models=world / "models",
                           gtf=world / "g.gtf", table=tmp_path / "t.tsv",
                           annotation_cache=tmp_path / "cache")
    scorer = Scorer(options)
    records = [Record.from_cyvcf(r) for r in cyvcf2.VCF(str(world / "v.vcf"))]
    result = ChunkScorer(scorer)(records)
    s = ExplainSettings(out=tmp_path / "attr.h5",
                        options=ExplainOptions(methods=("ig", "gradcam"), ig_steps=16),
                        **settings)
    with ChunkExplainer(scorer, s) as explainer:
        explained = explainer(result)
    out = format_chunk(scorer, result)
    table = add_explanations(out.info, out.table, result)
    return explained, out.info, table


def test_explained_pairs_calls_and_outputs(world, tmp_path):
    explained, info, table = _run(world, tmp_path, min_delta=0.1)
    calls = dict(zip(explained["unit"], explained["motif_call"], strict=True))
    assert len(explained) == 3  # the neutral SNV is below --explain-min-delta
    assert sorted(calls.values()) == ["GAINED", "LOST", "LOST"]
    assert "VARBIND_EXPLAIN" not in info[0]
    loss = info[1]["VARBIND_EXPLAIN"].split("|")
    assert loss[:4] == ["A", "motif_lost", "+", "RBFOX1"] and loss[7] == "LOST"
    assert float(loss[4]) < 0 and loss[8].startswith("RBFOX1:")
    assert info[2]["VARBIND_EXPLAIN"].split("|")[7] == "LOST"
    assert info[3]["VARBIND_EXPLAIN"].split("|")[:2] == ["A", "motif_gained"]
    assert list(table.columns[-len(EXPLAIN_COLUMNS):]) == EXPLAIN_COLUMNS
    by_id = table.set_index("pos")
    assert by_id.loc[60, "motif_call"] == "" and np.isnan(by_id.loc[60, "ig_at_variant"])
    assert by_id.loc[224, "motif_call"] == "GAINED" and by_id.loc[224, "ig_at_variant"] > 0
    # the maps are in the HDF5 file under the VCF's own spelling of the variant
    stored = read_explanation(tmp_path / "attr.h5", "chr1:153:C>A", "RBFOX1")
    assert stored.maps["ig_ref"].shape == (W, 4)
    assert stored.maps["ref_coord"][W // 2] == 152  # the window is centered on the variant
    deletion = read_explanation(tmp_path / "attr.h5", f"chr1:153:{CHR1[152:154]}>C", "RBFOX1")
    assert -1 not in deletion.maps["alt_coord"] and 153 not in deletion.maps["alt_coord"]


def test_explain_all_and_header(world, tmp_path):
    explained, info, _ = _run(world, tmp_path, explain_all=True)
    assert len(explained) == 4 and "VARBIND_EXPLAIN" in info[0]
    assert info[0]["VARBIND_EXPLAIN"].split("|")[1] == "motif_unchanged"
    lines = header_lines(ExplainSettings(out=tmp_path / "a.h5"))
    assert lines[0].startswith("##INFO=<ID=VARBIND_EXPLAIN,Number=.,Type=String")
    assert "Format: ALLELE|Consequence|STRAND|RBP|IG_AT_VARIANT|IG_MAX_DELTA|IG_MAX_OFFSET|" \
           "MOTIF_CALL|KNOWN_MOTIF" in lines[0]
    assert "IGSteps=50" in lines[1] and 'File="a.h5"' in lines[1]


def test_parse_methods():
    assert parse_methods("ig, gradcam,ism,ig") == ("ig", "gradcam", "ism")
    with pytest.raises(VarbindError, match="--explain 'shap' names no known method"):
        parse_methods("shap")


def _args(**kw):
    import argparse

    parser = argparse.ArgumentParser()
    from varbind.interpret.explain import add_arguments

    add_arguments(parser)
    argv = []
    for k, v in kw.items():
        flag = "--" + k.replace("_", "-")
        argv += [flag] if v is True else [flag, str(v)]
    return parser.parse_args(argv)


def test_flags_to_settings():
    from varbind.interpret.explain import settings_from_args

    assert settings_from_args(_args()) is None
    s = settings_from_args(_args(explain="gradcam,ig", explain_out="a.h5", ig_steps=20,
                                 explain_all=True, gradcam_layer="conv"))
    assert s.options.methods == ("gradcam", "ig") and s.options.ig_steps == 20
    assert s.explain_all and s.options.gradcam_layer == "conv" and s.min_delta == 0.1


@pytest.mark.parametrize("flags, message", [
    (dict(explain="ig"), "--explain needs --explain-out"),
    (dict(explain_out="a.h5"), "--explain-out needs --explain"),
    (dict(explain="ig", explain_out="a.tsv"), "--explain-out 'a.tsv' should end in .h5"),
    (dict(explain="ig", explain_out="a.h5", ig_steps=0), "--ig-steps must be at least 1"),
    (dict(explain="lime", explain_out="a.h5"), "--explain 'lime' names no known method"),
])
def test_bad_flags(flags, message):
    from varbind.interpret.explain import settings_from_args

    with pytest.raises(VarbindError, match=message):
        settings_from_args(_args(**flags))


def test_flags_that_do_not_fit_the_models_fail_before_any_work(world, tmp_path):
    options = ScoreOptions(vcf=world / "v.vcf", fasta=world / "g.fa", models=world / "models",
                           gtf=world / "g.gtf", table=tmp_path / "t.tsv",
                           annotation_cache=tmp_path / "cache")
    scorer = Scorer(options)
    bad_layer = ExplainSettings(out=tmp_path / "a.h5", options=ExplainOptions(
        methods=("gradcam",), gradcam_layer="nope"))
    with pytest.raises(VarbindError, match="no layer named 'nope'.*motif_conv, spread_conv"):
        ChunkExplainer(scorer, bad_layer)
    no_baseline = ExplainSettings(out=tmp_path / "a.h5", options=ExplainOptions(
        methods=("ig",), ig_baseline="bundle"))
    with pytest.raises(VarbindError, match="model toy has no IG baseline for RBFOX1"):
        ChunkExplainer(scorer, no_baseline)
    assert not (tmp_path / "a.h5").exists()


def test_score_vcf_with_explanations_writes_all_outputs(world, tmp_path):
    import pandas as pd

    from varbind.interpret.explain import score_with_explanations

    options = ScoreOptions(vcf=world / "v.vcf", fasta=world / "g.fa", models=world / "models",
                           gtf=world / "g.gtf", output=tmp_path / "o.vcf.gz",
                           table=tmp_path / "o.tsv", annotation_cache=tmp_path / "cache")
    settings = ExplainSettings(out=tmp_path / "attr.h5", options=ExplainOptions(ig_steps=8))
    summary = score_with_explanations(options, settings)
    assert summary.outputs["attributions"] == str(tmp_path / "attr.h5")
    table = pd.read_csv(tmp_path / "o.tsv", sep="\t", keep_default_na=False)
    assert table["motif_call"].tolist() == ["", "LOST", "LOST", "GAINED"]
    vcf = cyvcf2.VCF(str(tmp_path / "o.vcf.gz"))
    assert vcf.get_header_type("VARBIND_EXPLAIN")["Number"] == "."
    calls = [r.INFO.get("VARBIND_EXPLAIN") for r in vcf]
    assert calls[0] is None and calls[1].split("|")[7] == "LOST"
    # bcftools +split-vep reads it (skipped without bcftools; CI installs it)
    out = subprocess.run([bcftools(), "+split-vep", "-a", "VARBIND_EXPLAIN", "-d", "-f",
                          "%POS\t%RBP\t%MOTIF_CALL\t%Consequence\t%IG_AT_VARIANT\n",
                          str(tmp_path / "o.vcf.gz")], capture_output=True, text=True,
                         check=True).stdout
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [r[:4] for r in rows] == [["153", "RBFOX1", "LOST", "motif_lost"],
                                     ["153", "RBFOX1", "LOST", "motif_lost"],
                                     ["224", "RBFOX1", "GAINED", "motif_gained"]]
    assert float(rows[2][4]) > 0
    assert read_explanation(tmp_path / "attr.h5", "chr1:224:T>A", "RBFOX1").fields[
        "motif_call"] == "GAINED"


def test_a_model_without_convolutions_gets_ig_but_no_gradcam(world, tmp_path, caplog):
    import shutil

    import pandas as pd

    from varbind.interpret.explain import score_with_explanations

    models = tmp_path / "models"
    shutil.copytree(world / "models" / "toy", models / "toy")
    inp = keras.Input((W, 4), name="seq")
    flat = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.GlobalAveragePooling1D()(inp)))
    spec = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), W)
    save_bundle(flat, ModelMeta(name="flat", architecture="imported", rbps=["GC"],
                                inputs=[spec]), models / "flat")
    options = ScoreOptions(vcf=world / "v.vcf", fasta=world / "g.fa", models=models,
                           gtf=world / "g.gtf", table=tmp_path / "o.tsv",
                           annotation_cache=tmp_path / "cache")
    settings = ExplainSettings(out=tmp_path / "attr.h5", explain_all=True,
                               options=ExplainOptions(ig_steps=8))
    with caplog.at_level("WARNING"):
        score_with_explanations(options, settings)
    assert "model flat has no convolutional map over the sequence" in caplog.text
    table = pd.read_csv(tmp_path / "o.tsv", sep="\t", keep_default_na=False)
    gc = table[table["rbp"] == "GC"]
    assert (gc["motif_call"] == "").all() and (gc["ig_at_variant"] != "").all()
    assert table[table["rbp"] == "RBFOX1"]["motif_call"].tolist()[1] == "LOST"


def _score_argv(world, tmp_path, *extra):
    return ["score", str(world / "v.vcf"), "--fasta", str(world / "g.fa"), "--gtf",
            str(world / "g.gtf"), "--models", str(world / "models"), "--tsv",
            str(tmp_path / "o.tsv"), "-o", str(tmp_path / "o.vcf.gz"), *extra]


def test_cli_score_explain_then_plot(world, tmp_path, capsys):
    from varbind.cli import main

    code = main(_score_argv(world, tmp_path, "--explain", "ig,gradcam", "--explain-out",
                            str(tmp_path / "attr.h5"), "--ig-steps", "8"))
    assert code == 0
    assert "attributions: " in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "attr.h5"), "--variant", "chr1:153:C>A", "--rbp",
                 "RBFOX1", "-o", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("extra, message", [
    (["--explain", "ig"], "--explain needs --explain-out"),
    (["--explain", "gradcam", "--explain-out", "a.h5", "--gradcam-layer", "nope"],
     "no layer named 'nope'"),
])
def test_cli_explain_errors_are_one_line_and_leave_no_output(world, tmp_path, capsys, extra,
                                                             message):
    from varbind.cli import main

    extra = [str(tmp_path / e) if e.endswith(".h5") else e for e in extra]
    assert main(_score_argv(world, tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["cache"])
