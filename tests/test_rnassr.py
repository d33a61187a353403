"""RNASSR-Net: the RNA graph (ViennaRNA MFE pairs), the graph convolution, and the model as a
first-class architecture (train, bundle, reload on TensorFlow and JAX, score, explain, GIA)."""

import json
import os
import subprocess
import sys
import textwrap

import cyvcf2
import keras
import numpy as np
import pytest
import scoring_world as sw
from planted import TINY

from varbind.encoding import encode, encode_batch
from varbind.errors import VarbindError
from varbind.interpret import gia
from varbind.interpret.baselines import baseline_arrays
from varbind.interpret.ig import integrated_gradients
from varbind.model.bundle import ModelMeta, load_bundle, save_bundle
from varbind.model.graph_layers import propagate
from varbind.model.inputs import WindowBatch, build_inputs
from varbind.model.rna_graph import PairFolder, add_pairs, graph_kind, pair_channels, partners
from varbind.training import models as arch_models

W = 31


def test_hairpin_gives_the_expected_pairs():
    assert partners("((..))").tolist() == [5, 4, -1, -1, 1, 0]
    graph = pair_channels(encode("NNGGGGAAAACCCCN"))  # padding on both sides
    offsets, paired, node = graph.T
    assert offsets.tolist() == [0, 0, 11, 9, 7, 5, 0, 0, 0, 0, -5, -7, -9, -11, 0]
    assert paired.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    assert node.tolist() == [0, 0] + [1] * 12 + [0]
    assert not pair_channels(encode("AAAAAAAA"))[:, 1].any()  # nothing to pair


def test_folder_caches_on_disk_and_in_memory(tmp_path):
    codes = encode_batch(["GGGGAAAACCCC", "ACGUACGUACGU", "GGGGAAAACCCC"])
    folder = PairFolder(cache_dir=tmp_path, processes=1)
    first = folder.pairs(codes)
    assert folder.folded == 2  # the repeated window is folded once
    again = PairFolder(cache_dir=tmp_path, processes=1)
    np.testing.assert_array_equal(again.pairs(codes), first)
    assert again.folded == 0 and (tmp_path / "rna-pairs.sqlite").exists()


def test_base_pair_probability_graph_of_a_hairpin():
    graph = pair_channels(encode("NNGGGGAAAACCCCN"), graph="bpp", top_k=2)
    assert graph.shape == (15, 5)
    first, prob, second, prob2, node = graph.T
    mfe = pair_channels(encode("NNGGGGAAAACCCCN"))
    np.testing.assert_array_equal(first, mfe[:, 0])  # the most probable partner = MFE's
    stem = mfe[:, 1] > 0
    assert (prob[stem] > 0.5).all() and (prob[stem] <= 1).all() and not prob[~stem].any()
    assert (prob2 <= prob).all() and (second[prob2 > 0] != first[prob2 > 0]).all()
    assert node.tolist() == [0, 0] + [1] * 12 + [0] and not graph[node == 0, :4].any()
    assert graph_kind(("bpp_offset_1", "bpp_prob_1", "bpp_offset_2", "bpp_prob_2",
                       "node")) == ("bpp", 2)


def test_folder_caches_each_folding_apart(tmp_path):
    codes = encode_batch(["GGGGAAAACCCCAGGAACCU", "ACGUACGUACGUGGGAAACC"])
    bpp = PairFolder(cache_dir=tmp_path, processes=1).pairs(codes, "bpp", 3)
    assert bpp.shape == (2, 20, 7)
    np.testing.assert_allclose(bpp[0], pair_channels(codes[0], graph="bpp", top_k=3))
    again = PairFolder(cache_dir=tmp_path, processes=1)
    np.testing.assert_allclose(again.pairs(codes, "bpp", 3), bpp, atol=1e-3)  # float16
    assert again.folded == 0
    assert again.pairs(codes).shape == (2, 20, 3) and again.folded == 2  # MFE: not cached


def _dense_gcn(h, graph):
    """D^-1/2 (A + I) D^-1/2 h with an explicit (L, L) adjacency, per window."""
    out = np.zeros_like(h)
    for n in range(len(h)):
        node = graph[n, :, -1]
        length = len(node)
        adj = np.eye(length) * node
        for i in range(length - 1):
            adj[i, i + 1] = adj[i + 1, i] = node[i] * node[i + 1]
        for k in range((graph.shape[-1] - 1) // 2):
            offsets, weight = graph[n, :, 2 * k], graph[n, :, 2 * k + 1]
            for i in np.flatnonzero(weight):
                adj[i, i + int(offsets[i])] = weight[i]
        d = adj.sum(axis=1)
        inv = np.where(d > 0, 1 / np.sqrt(np.maximum(d, 1e-9)), 0)
        out[n] = (inv[:, None] * adj * inv[None, :]) @ h[n]
    return out


@pytest.mark.parametrize("graph, top_k", [("mfe", 1), ("bpp", 3)])
def test_graph_convolution_equals_the_dense_renormalised_adjacency(graph, top_k):
    codes = encode_batch(["NNGGGGAAAACCCCAAGGGAAACCCN", "ACGUAGGCCAAAGGCCUUUUGGCCNN"])
    channels = np.stack([pair_channels(c, graph=graph, top_k=top_k) for c in codes])
    assert channels[..., 1:-1:2].sum() > 4  # pairs to propagate over
    h = np.random.default_rng(0).normal(size=(2, codes.shape[1], 3)).astype(np.float32)
    got = np.asarray(propagate(keras.ops.convert_to_tensor(h),
                               keras.ops.convert_to_tensor(channels)))
    np.testing.assert_allclose(got, _dense_gcn(h, channels), atol=1e-5)


def test_a_base_pair_probability_model_folds_its_own_graph():
    hparams = {**TINY["rnassr"], "graph": "bpp", "bpp_partners": 2}
    specs = arch_models.input_specs("rnassr", ("sequence", "structure"), W, hparams=hparams)
    assert [s.shape for s in specs] == [(W, 4), (W, 5)]
    model = arch_models.build_model("rnassr", specs, 1, hparams)
    batch = add_pairs(specs, WindowBatch(seq=_windows(4)))
    assert batch.pairs.shape == (4, W, 5) and batch.pairs[0, :, 1].max() > 0.5
    assert np.isfinite(model.predict(build_inputs(specs, batch), verbose=0)).all()
    with pytest.raises(VarbindError, match="graph"):
        arch_models.input_specs("rnassr", ("sequence", "structure"), W,
                                hparams={"graph": "plfold"})


def _tiny_rnassr():
    specs = arch_models.input_specs("rnassr", ("sequence", "structure"), W)
    keras.utils.set_random_seed(3)
    model = arch_models.build_model("rnassr", specs, 1, TINY["rnassr"])
    return model, specs


def _windows(n, seed=0):
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, 4, (n, W)).astype(np.uint8)
    seq[::2, 10:22] = encode("GGGGAAAACCCC")  # half of them carry a hairpin
    return seq


def test_trains_saves_and_reloads_on_tensorflow_and_jax(tmp_path):
    from varbind.training.train import (
        SplitData,
        TrainConfig,
        TrainingData,
        train_multilabel,
        write_bundle,
    )

    seq = _windows(120)
    labels = (np.arange(120) % 2 == 0).astype(np.uint8)[:, None]
    splits = {name: SplitData(WindowBatch(seq=seq[sl]), labels[sl]) for name, sl in
              (("train", slice(0, 80)), ("validation", slice(80, 100)),
               ("test", slice(100, 120)))}
    data = TrainingData(rbps=["HP"], splits=splits, seq_length=W, region_length=0)
    config = TrainConfig(arch="rnassr", epochs=2, batch_size=16, min_positives=5, seq_length=W,
                         hparams=TINY["rnassr"], progress=False,
                         structure_cache=str(tmp_path / "cache"))
    result = train_multilabel(data, config)
    out = write_bundle(result, tmp_path / "bundle")
    bundle = load_bundle(out)
    assert bundle.meta.window == W and bundle.meta.architecture == "rnassr"
    batch = add_pairs(bundle.meta.inputs, WindowBatch(seq=seq[100:]))
    x = build_inputs(bundle.meta.inputs, batch)
    want = np.asarray(result.model.predict(x, verbose=0))
    np.testing.assert_allclose(np.asarray(bundle.model.predict(x, verbose=0)), want, atol=1e-6)
    np.savez(tmp_path / "x.npz", *x)
    script = textwrap.dedent(f"""
        import json, numpy as np
        from varbind.model.bundle import load_bundle
        b = load_bundle({str(out)!r})
        d = np.load({str(tmp_path / 'x.npz')!r})
        got = np.asarray(b.model([d["arr_0"], d["arr_1"]], training=False))
        import keras
        print(json.dumps([keras.backend.backend(), got.ravel().tolist()]))
    """)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True)
    backend, got = json.loads(run.stdout.strip().splitlines()[-1])
    assert backend == "jax"
    np.testing.assert_allclose(got, want.ravel(), atol=1e-5)


@pytest.fixture(scope="module")
def rnassr_bundle(tmp_path_factory):
    model, specs = _tiny_rnassr()
    meta = ModelMeta(name="rnassr", architecture="rnassr", rbps=["HP"], inputs=specs)
    path = save_bundle(model, meta, tmp_path_factory.mktemp("rnassr") / "rnassr")
    return load_bundle(path)


def test_scores_a_vcf_with_each_allele_folded(rnassr_bundle, tmp_path):
    table, vcf = sw.score_one_bundle(rnassr_bundle.path, tmp_path)
    row = table[table["id"] == "snv_plus"].iloc[0]
    ref, alt = sw.snv_plus_windows(W)
    batch = add_pairs(rnassr_bundle.meta.inputs, WindowBatch(seq=encode_batch([ref, alt])))
    want = rnassr_bundle.model.predict(build_inputs(rnassr_bundle.meta.inputs, batch),
                                       verbose=0)[:, 0]
    assert float(row["ref_score"]) == pytest.approx(want[0], abs=1e-4)
    assert float(row["alt_score"]) == pytest.approx(want[1], abs=1e-4)
    records = {r.ID for r in cyvcf2.VCF(str(vcf))}
    assert records >= set(table["id"])  # every record scored or marked


def test_integrated_gradients_over_the_sequence_hold_the_graph(rnassr_bundle):
    specs = rnassr_bundle.meta.inputs
    batch = add_pairs(specs, WindowBatch(seq=_windows(3, seed=1)))
    arrays = build_inputs(specs, batch)
    base = baseline_arrays(specs, "zeros")
    assert base[1] is None  # the graph is held at each window's own
    ig = integrated_gradients(rnassr_bundle.model, arrays, base, [0], steps=64)
    assert ig.attributions[0].shape == (1, 3, W, 4)
    assert not ig.attributions[1].any()
    # completeness: the sequence attributions sum to F(x) - F(x with zero sequence)
    np.testing.assert_allclose(ig.attributions[0].sum(axis=(2, 3))[0],
                               ig.predictions[0] - ig.baseline_predictions[0], atol=5e-3)


def test_gia_folds_each_sequence(rnassr_bundle):
    specs = rnassr_bundle.meta.inputs
    background = gia.make_background(specs, "profile", 6, np.random.default_rng(0))
    hairpin = [("hairpin", [(encode("GGGGAAAACCCC"), W // 2 - 6)])]
    res = gia.importance(rnassr_bundle, background, 0, hairpin)[0]
    seqs = gia.embed(background.seq, hairpin[0][1])
    with_pairs = add_pairs(specs, WindowBatch(seq=seqs))
    plain = add_pairs(specs, WindowBatch(seq=background.seq))
    want = (rnassr_bundle.model.predict(build_inputs(specs, with_pairs), verbose=0)
            - rnassr_bundle.model.predict(build_inputs(specs, plain), verbose=0))[:, 0]
    np.testing.assert_allclose(res.local, want, atol=1e-5)
