"""varbind.explain: attribution inside a scoring run, on a hand-built world and a toy model.

chr1 (300 nt, one '+' gene over all of it) carries TGCATG at [150, 156) and the one-off
TGCTTG at [220, 226). The toy model scores ~0.98 when a 30-nt window holds TGCATG, ~0.02 when
not. Variants (1-based): C153A breaks the motif (loss), a 1-nt deletion at 153-154 breaks it
(loss), T224A completes the second one (gain), G60C is far from both (neutral).
"""

import cyvcf2
import keras
import numpy as np
import pytest

from varbind.attr_store import read_explanation
from varbind.attribution import ExplainOptions
from varbind.bundle import ModelMeta, save_bundle
from varbind.encoding import encode_batch, one_hot
from varbind.errors import VarbindError
from varbind.explain import (
    EXPLAIN_COLUMNS,
    ChunkExplainer,
    ExplainSettings,
    add_explanations,
    header_lines,
    parse_methods,
)
from varbind.inputs import Component, InputSpec
from varbind.score import ChunkScorer, ScoreOptions, Scorer, format_chunk
from varbind.variants import Record

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
    inp = keras.Input((W, 4), name="seq")
    conv = keras.layers.Conv1D(1, 6, padding="same", activation="relu", name="motif_conv")
    spread = keras.layers.Conv1D(1, 7, padding="same", name="spread_conv")
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(
        keras.layers.GlobalMaxPooling1D()(spread(conv(inp))))
    model = keras.Model(inp, out)
    conv.set_weights([one_hot(encode_batch(["TGCATG"]))[0][:, :, None], np.array([-5.0], "f4")])
    spread.set_weights([np.ones((7, 1, 1), "f4"), np.zeros(1, "f4")])
    model.get_layer("out").set_weights([np.array([[8.0]], "f4"), np.array([-4.0], "f4")])
    return model


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
    assert loss[:3] == ["A", "+", "RBFOX1"] and loss[6] == "LOST"
    assert float(loss[3]) < 0 and loss[7].startswith("RBFOX1:")
    assert info[2]["VARBIND_EXPLAIN"].split("|")[6] == "LOST"
    assert info[3]["VARBIND_EXPLAIN"].split("|")[6] == "GAINED"
    assert list(table.columns[-len(EXPLAIN_COLUMNS):]) == EXPLAIN_COLUMNS
    by_id = table.set_index("pos")
    assert by_id.loc[60, "motif_call"] == "" and np.isnan(by_id.loc[60, "ig_at_variant"])
    assert by_id.loc[224, "motif_call"] == "GAINED" and by_id.loc[224, "ig_at_variant"] > 0
    # the maps are in the HDF5 file under the VCF's own spelling of the variant
    stored = read_explanation(tmp_path / "attr.h5", "chr1:153:C>A", "RBFOX1")
    assert stored.maps["ig_ref"].shape == (W, 4)
    assert stored.maps["ref_coord"][W // 2] == 152  # the window is centred on the variant
    deletion = read_explanation(tmp_path / "attr.h5", f"chr1:153:{CHR1[152:154]}>C", "RBFOX1")
    assert -1 not in deletion.maps["alt_coord"] and 153 not in deletion.maps["alt_coord"]


def test_explain_all_and_header(world, tmp_path):
    explained, info, _ = _run(world, tmp_path, explain_all=True)
    assert len(explained) == 4 and "VARBIND_EXPLAIN" in info[0]
    assert info[0]["VARBIND_EXPLAIN"].split("|")[6] == "NONE"
    lines = header_lines(ExplainSettings(out=tmp_path / "a.h5"))
    assert lines[0].startswith("##INFO=<ID=VARBIND_EXPLAIN,Number=.,Type=String")
    assert "Format: ALLELE|STRAND|RBP|IG_AT_VARIANT|IG_MAX_DELTA|IG_MAX_OFFSET|MOTIF_CALL|" \
           "KNOWN_MOTIF" in lines[0]
    assert "IGSteps=50" in lines[1] and 'File="a.h5"' in lines[1]


def test_parse_methods():
    assert parse_methods("ig, gradcam,ism,ig") == ("ig", "gradcam", "ism")
    with pytest.raises(VarbindError, match="--explain 'shap' names no known method"):
        parse_methods("shap")


def _args(**kw):
    import argparse

    parser = argparse.ArgumentParser()
    from varbind.explain import add_arguments

    add_arguments(parser)
    argv = []
    for k, v in kw.items():
        flag = "--" + k.replace("_", "-")
        argv += [flag] if v is True else [flag, str(v)]
    return parser.parse_args(argv)


def test_flags_to_settings():
    from varbind.explain import settings_from_args

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
    from varbind.explain import settings_from_args

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
