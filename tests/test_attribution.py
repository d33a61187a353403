"""varbind.interpret: IG, GradCAM and ISM against independent computations."""

import json

import keras
import numpy as np
import pytest
from planted import motif_detector

from varbind.encoding import encode_batch, one_hot
from varbind.errors import ModelBundleError, VarbindError
from varbind.interpret.baselines import baseline_arrays, predict_arrays, sequence_slot
from varbind.interpret.gradcam import gradcam
from varbind.interpret.gradcam_layers import gradcam_layers
from varbind.interpret.ig import integrated_gradients
from varbind.interpret.ism import ism
from varbind.interpret.receptive import stretch
from varbind.model.bundle import ModelBundle, ModelMeta
from varbind.model.inputs import Component, InputSpec

L = 12
SEQ = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), L)


def _onehot(seqs):
    return one_hot(encode_batch(seqs))


def _seqs(n, seed=0, length=L):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def _linear_two_input_model():
    """y = flat(x) . W + e * v: attributions (x - x') * W and (e - e') * v exactly."""
    x_in = keras.Input((L, 4))
    e_in = keras.Input((1,))
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(x_in), e_in])
    model = keras.Model([x_in, e_in], keras.layers.Dense(2)(joined))
    w = np.random.default_rng(3).normal(size=(L * 4 + 1, 2)).astype("float32")
    model.layers[-1].set_weights([w, np.zeros(2, "float32")])
    return model, w


def _conv_sigmoid_model(seed=0):
    inp = keras.Input((L, 4))
    h = keras.layers.Conv1D(4, 5, activation="relu", name="conv_a")(inp)
    h = keras.layers.Conv1D(3, 3, activation="relu", name="conv_b")(h)
    out = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Flatten()(h))
    keras.utils.set_random_seed(seed)
    return keras.Model(inp, out)


def test_ig_of_linear_model_is_input_minus_baseline_times_weight():
    model, w = _linear_two_input_model()
    x = _onehot(_seqs(3))
    e = np.array([[1.0], [2.0], [0.5]], "float32")
    base = [np.full((L, 4), 0.25, "float32"), np.zeros(1, "float32")]
    res = integrated_gradients(model, [x, e], base, targets=[1], steps=7)
    wx = w[:-1, 1].reshape(L, 4)
    np.testing.assert_allclose(res.attributions[0][0], (x - 0.25) * wx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.attributions[1][0], e * w[-1, 1], rtol=1e-5)
    np.testing.assert_allclose(res.completeness_gap, 0, atol=1e-4)


@pytest.mark.parametrize("rule", ["midpoint", "riemann_right", "trapezoid"])
def test_ig_completeness_on_a_nonlinear_model(rule):
    model = _conv_sigmoid_model()
    x = _onehot(_seqs(4, seed=1))
    res = integrated_gradients(model, [x], [np.zeros((L, 4), "float32")], targets=[0, 1],
                               steps=50, rule=rule, batch_size=64)  # several chunks
    f_x = predict_arrays(model, [x])
    f_0 = predict_arrays(model, [np.zeros_like(x)])
    np.testing.assert_allclose(res.predictions, f_x.T, rtol=1e-5)
    np.testing.assert_allclose(res.baseline_predictions, f_0.T, rtol=1e-5)
    delta = np.abs(f_x - f_0).T
    assert np.all(np.abs(res.completeness_gap) <= 0.02 * np.maximum(delta, 0.05))


def test_ig_matches_a_numerical_path_integral():
    """Independent: gradients by central finite differences on a fine path."""
    model = _conv_sigmoid_model(seed=4)
    x = _onehot(_seqs(1, seed=5))
    res = integrated_gradients(model, [x], [np.zeros((L, 4), "float32")], targets=[0], steps=20)
    alphas = (np.arange(20) + 0.5) / 20
    eps = 1e-2
    expected = np.zeros((L, 4))
    for a in alphas:
        point = (a * x[0]).astype("float64")
        bumps = np.repeat(point[None], 2 * L * 4, axis=0)
        idx = np.arange(L * 4)
        bumps.reshape(2, L * 4, L * 4)[0, idx, idx] += eps
        bumps.reshape(2, L * 4, L * 4)[1, idx, idx] -= eps
        y = predict_arrays(model, [bumps.astype("float32")])[:, 0].astype("float64")
        expected += ((y[:L * 4] - y[L * 4:]) / (2 * eps)).reshape(L, 4) / 20
    expected *= x[0]
    np.testing.assert_allclose(res.attributions[0][0, 0], expected, atol=2e-3)


def test_gradcam_of_a_linear_head_by_hand():
    """conv (linear) -> global average pool -> dense: alpha_k = w_k / L'."""
    inp = keras.Input((L, 4))
    conv = keras.layers.Conv1D(3, 4, name="conv")(inp)
    pooled = keras.layers.GlobalAveragePooling1D()(conv)
    model = keras.Model(inp, keras.layers.Dense(2)(pooled))
    x = _onehot(_seqs(2, seed=7))
    res = gradcam(model, [x], targets=[1], length=L)
    kernel, bias = model.get_layer("conv").get_weights()  # (4, 4, 3), (3,)
    acts = np.stack([np.einsum("nkc,kcf->nf", x[:, i:i + 4], kernel) for i in range(L - 3)], 1)
    acts += bias
    w = model.layers[-1].get_weights()[0][:, 1]  # (3,)
    expected = np.maximum(acts @ (w / (L - 3)), 0)  # (N, L')
    np.testing.assert_allclose(res.coarse[0], expected, rtol=1e-4, atol=1e-6)
    # a valid conv of width 4: map position j is centered on input position j + 1.5
    placed = np.array([np.interp(np.arange(L) - 1.5, np.arange(L - 3), row) for row in expected])
    np.testing.assert_allclose(res.maps[0], placed, rtol=1e-4, atol=1e-6)
    assert res.layers == ["conv"]


def test_gradcam_weights_match_finite_differences():
    model = _conv_sigmoid_model(seed=2)
    x = _onehot(_seqs(1, seed=9))
    res = gradcam(model, [x], targets=[0], length=L, layer="conv_a")
    # independent: head model from conv_a's activations, gradient by central differences
    conv_a = keras.Model(model.inputs, model.get_layer("conv_a").output)
    acts = conv_a.predict(x, verbose=0)[0].astype("float64")  # (8, 4)
    a_in = keras.Input(acts.shape)
    h = model.get_layer("conv_b")(a_in)
    head = keras.Model(a_in, model.layers[-1](model.layers[-2](h)))
    eps = 1e-3
    cells = acts.size
    bumps = np.repeat(acts[None], 2 * cells, axis=0).reshape(2, cells, cells)
    bumps[0, np.arange(cells), np.arange(cells)] += eps  # one activation up, then down
    bumps[1, np.arange(cells), np.arange(cells)] -= eps
    y = head.predict(bumps.reshape(2 * cells, *acts.shape).astype("float32"), verbose=0)[:, 0]
    grad = ((y[:cells] - y[cells:]) / (2 * eps)).reshape(acts.shape)
    expected = np.maximum(acts @ grad.mean(axis=0), 0)
    np.testing.assert_allclose(res.coarse[0][0], expected, rtol=2e-2, atol=2e-4)
    assert res.maps.shape == (1, 1, L)


def _joined_model():
    """Two per-RBP sub-models under one input, each with its own conv."""
    inp = keras.Input((L, 4), name="seq")
    outs = []
    for name in ("RBP_A", "RBP_B"):
        s_in = keras.Input((L, 4))
        h = keras.layers.Conv1D(2, 3, activation="relu", name=f"{name}_conv")(s_in)
        o = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(h))
        outs.append(keras.Model(s_in, o, name=name)(inp))
    return keras.Model(inp, outs)


def test_gradcam_on_joined_models_uses_each_rbps_own_conv():
    model = _joined_model()
    groups = gradcam_layers(model, [0, 1])
    assert sorted(la.name for la in groups) == ["RBP_A_conv", "RBP_B_conv"]
    x = _onehot(_seqs(3, seed=11))
    res = gradcam(model, [x], targets=[1, 0], length=L)
    assert res.layers == ["RBP_B_conv", "RBP_A_conv"]
    assert res.fields == [3, 3]  # each nested conv's own 3-nt receptive field
    assert res.strides == [1.0, 1.0]
    alone = gradcam(model.get_layer("RBP_B"), [x], targets=[0], length=L)
    np.testing.assert_allclose(res.maps[0], alone.maps[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.predictions[1], predict_arrays(model, [x])[:, 0], rtol=1e-5)


def test_gradcam_unknown_layer_names_the_conv_layers():
    with pytest.raises(VarbindError, match="no layer named 'nope'.*conv_a, conv_b"):
        gradcam(_conv_sigmoid_model(), [_onehot(_seqs(1))], [0], L, layer="nope")


def test_stretch_by_hand():
    np.testing.assert_allclose(stretch(np.array([0.0, 1.0]), 4), [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(stretch(np.array([[2.0, 3.0, 4.0]]), 3), [[2, 3, 4]])
    # centers at input 1 and 3 (a = 2, b = 1)
    np.testing.assert_allclose(stretch(np.array([0.0, 1.0]), 5, (2, 1)), [0, 0, 0.5, 1, 1])


def test_position_map_composes_strides_and_paddings():
    from varbind.interpret.receptive import position_map

    inp = keras.Input((1000, 4))
    c1 = keras.layers.Conv1D(2, 8, name="c1")(inp)  # POLARIS: valid convs, pool 4
    p1 = keras.layers.MaxPooling1D(4)(keras.layers.Dropout(0.1)(c1))
    c2 = keras.layers.Conv1D(2, 8, activation="relu", name="c2")(p1)
    same = keras.layers.Conv1D(2, 11, padding="same")(inp)
    even = keras.layers.Conv1D(2, 4, padding="same")(inp)
    strided = keras.layers.Conv1D(2, 3, strides=2, padding="same")(keras.Input((9, 4)))
    flat = keras.layers.Flatten()(c1)
    assert position_map(c1) == (1, 3.5)
    assert position_map(c2) == (4, 19)  # j -> 4 j + 19: the center of its 39-nt field
    assert position_map(same) == (1, 0) and position_map(even) == (1, 0.5)
    assert position_map(strided) == (2, 0)  # 'same', stride 2 on 9: pad 1 left
    assert position_map(keras.layers.Reshape((-1, 1))(flat)) is None


def test_receptive_field_composes_kernels_strides_and_branches():
    from varbind.interpret.receptive import receptive_field

    inp = keras.Input((1000, 4))
    c1 = keras.layers.Conv1D(2, 8, name="c1")(inp)
    c2 = keras.layers.Conv1D(2, 8)(keras.layers.MaxPooling1D(4)(c1))
    assert receptive_field(c1) == 8 and receptive_field(c2) == 8 + 3 + 7 * 4  # POLARIS: 39
    # Multi-resBind: 11-nt conv, then a residual stack of dilated 3-nt convs added back
    x = keras.layers.Conv1D(4, 11, padding="same")(inp)
    branch = x
    for rate in (1, 2, 4, 8):
        branch = keras.layers.Conv1D(4, 3, padding="same", dilation_rate=rate)(branch)
    out = keras.layers.Activation("relu")(keras.layers.Add()([x, branch]))
    assert receptive_field(out) == 11 + 2 * (1 + 2 + 4 + 8)  # the wider branch: 41
    assert receptive_field(keras.layers.Flatten()(c1)) is None


def test_ism_matches_brute_force():
    model = _conv_sigmoid_model(seed=6)
    seqs = _seqs(2, seed=12)
    x = _onehot(seqs)
    out = ism(model, [x], sequence_slot([SEQ]), targets=[1], batch_size=17)
    assert out.shape == (1, 2, L, 4)
    for n, s in enumerate(seqs):
        wild = predict_arrays(model, [_onehot([s])])[0, 1]
        for i in range(L):
            for b, letter in enumerate("ACGT"):
                mutant = s[:i] + letter + s[i + 1:]
                mutated = predict_arrays(model, [_onehot([mutant])])[0, 1]
                expected = 0.0 if letter == s[i] else mutated - wild
                assert out[0, n, i, b] == pytest.approx(expected, abs=1e-6)


def test_sequence_slot_finds_the_channels_of_a_mixed_input():
    spec = InputSpec("x", "per_position", (Component("region", ("intron", "cds")),
                                           Component("sequence", tuple("TGCA"))), 9)
    side = InputSpec("expr", "side", (Component("expression", ("log1p_tpm",)),))
    slot = sequence_slot([side, spec])
    assert (slot.input_index, slot.channels, slot.length) == (1, (5, 4, 3, 2), 9)
    with pytest.raises(ModelBundleError, match="no per-position sequence input"):
        sequence_slot([side])


def _bundle(tmp_path, baselines):
    meta = ModelMeta(name="toy", architecture="imported", rbps=["A", "B"],
                     inputs=[InputSpec("x", "per_position", (Component("sequence", tuple("ACGT")),
                                                             Component("region", ("intron",))), 3),
                             InputSpec("e", "side", (Component("expression", ("log1p_tpm",)),))],
                     baselines=baselines)
    return ModelBundle(path=tmp_path, meta=meta, model=None, digest="")


def test_baselines_zeros_uniform_and_from_the_bundle(tmp_path):
    bundle = _bundle(tmp_path, {"A": "low_A.npz", "B": "uniform"})
    specs = bundle.meta.inputs
    zeros = baseline_arrays(specs, "zeros")
    assert [b.shape for b in zeros] == [(3, 5), (1,)] and not any(b.any() for b in zeros)
    uniform = baseline_arrays(specs, "uniform")
    np.testing.assert_array_equal(uniform[0], np.full((3, 5), 0.25))
    np.testing.assert_array_equal(uniform[1], [0])
    np.savez(tmp_path / "low_A.npz", input_0=np.ones((1, 3, 5)) * 0.1, input_1=np.array([2.0]))
    mean = baseline_arrays(specs, "bundle", bundle, "A")
    np.testing.assert_allclose(mean[0], 0.1)
    np.testing.assert_allclose(mean[1], [2.0])
    np.testing.assert_array_equal(baseline_arrays(specs, "bundle", bundle, "B")[0], 0.25)
    json.dumps(bundle.meta.baselines)
    with pytest.raises(ModelBundleError, match="declares no IG baseline for C.*--ig-baseline"):
        baseline_arrays(specs, "bundle", bundle, "C")
    np.testing.assert_array_equal(baseline_arrays(specs, "auto", bundle, "C")[0], 0)
    with pytest.raises(VarbindError, match="unknown IG baseline 'mean'"):
        baseline_arrays(specs, "mean")


def test_default_gradcam_layer_sees_only_the_sequence():
    """DeepRiPe-like: the merged sequence+region conv is skipped for the sequence branch."""
    seq = keras.Input((L, 4))
    reg = keras.Input((L, 4))
    s = keras.layers.Conv1D(3, 3, padding="same", name="seq_conv")(seq)
    r = keras.layers.Conv1D(3, 3, padding="same", name="reg_conv")(reg)
    m = keras.layers.Conv1D(2, 3, padding="same", name="merged_conv")(
        keras.layers.Concatenate(axis=1)([s, r]))
    model = keras.Model([seq, reg], keras.layers.Dense(1)(keras.layers.Flatten()(m)))
    assert [la.name for la in gradcam_layers(model, [0], seq_index=0)] == ["seq_conv"]
    assert [la.name for la in gradcam_layers(model, [0])] == ["merged_conv"]


# --------------------------------------------------------------------------- variants

MOTIF = "TGCATG"


def motif_model(length=30):
    """Sigmoid(8 * max_j [TGCATG at j, spread over 7 nt] - 4): ~0.98 with the motif, ~0.02
    without. The second conv spreads a match over 7 positions, as deeper models blur."""
    return motif_detector(length, MOTIF, spread=7)


def motif_bundle(tmp_path, length=30):
    from varbind.model.bundle import ModelBundle, ModelMeta

    spec = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), length)
    meta = ModelMeta(name="toy", architecture="imported", rbps=["RBFOX1"], inputs=[spec])
    return ModelBundle(path=tmp_path, meta=meta, model=motif_model(length), digest="sha256:0")


def test_explain_variants_calls_a_destroyed_motif_lost(tmp_path):
    from varbind.interpret.variant_maps import ExplainOptions, VariantSite, explain_variants
    from varbind.model.inputs import WindowBatch

    bundle = motif_bundle(tmp_path)
    ref_seq = "ACACACACACACA" + MOTIF + "CACACACACAC"  # the center (15) is the motif's C
    assert len(ref_seq) == 30 and ref_seq[15] == "C"
    alt_seq = ref_seq[:15] + "A" + ref_seq[16:]
    ref = WindowBatch(seq=encode_batch([ref_seq, ref_seq]))
    alt = WindowBatch(seq=encode_batch([alt_seq, ref_seq]))
    # chr1 position 1000 (0-based) is the window center; row 1 is a silent control
    sites = [VariantSite("chr1:1001:C>A", "chr1", 1000, 1001, "A", "+"),
             VariantSite("chr1:1001:C>C", "chr1", 1000, 1001, "C", "+")]
    out = explain_variants(bundle, ref, alt, sites, [(0, "RBFOX1"), (1, "RBFOX1")],
                           ExplainOptions(methods=("ig", "gradcam", "ism"), ig_steps=32))
    lost, same = out
    assert lost.ref_score > 0.9 and lost.alt_score < 0.1
    assert lost.motif_call == "LOST" and same.motif_call == "NONE"
    assert lost.ref_coord.tolist() == list(range(985, 1015))
    assert [(c.start, c.end) for c in lost.clusters_ref] and not lost.clusters_alt
    assert lost.known_motif.startswith("RBFOX1:")  # the RNAcompete RBFOX1 matrix is UGCAUG
    # IG: the motif's bases carry the attribution; the variant base loses it
    assert lost.ig_at_variant < 0 and abs(lost.ig_max_offset) <= 10
    assert np.abs(lost.ig_gap).max() < 0.02
    assert lost.ism_ref[15, 0] == pytest.approx(lost.alt_score - lost.ref_score, abs=1e-5)
    assert same.ig_at_variant == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(VarbindError, match="unknown --explain method shap"):
        explain_variants(bundle, ref, alt, sites, [(0, "RBFOX1")],
                         ExplainOptions(methods=("shap",)))
    with pytest.raises(VarbindError, match="does not predict PUM2"):
        explain_variants(bundle, ref, alt, sites, [(0, "PUM2")])


def test_flat_joined_model_maps_each_column_to_its_own_conv():
    """Joined POLARIS models are flat: heads concatenated into one (N, K) output."""
    inp = keras.Input((L, 4))
    heads = []
    for name in ("A", "B"):
        h = keras.layers.Conv1D(2, 3, activation="relu", name=f"{name}.conv2")(inp)
        heads.append(keras.layers.Dense(1, name=f"{name}.output")(keras.layers.Flatten()(h)))
    model = keras.Model(inp, keras.layers.Concatenate(name="output")(heads))
    groups = gradcam_layers(model, [1, 0], seq_index=0)
    assert {la.name: t for la, t in groups.items()} == {"B.conv2": [1], "A.conv2": [0]}
    # the declared POLARIS feature map of each RBP is found by name
    named = gradcam_layers(model, [0, 1], seq_index=0, arch="polaris", rbps=["A", "B"])
    assert {la.name: t for la, t in named.items()} == {"A.conv2": [0], "B.conv2": [1]}


def test_gradcam_of_the_logit_equals_gradcam_without_the_sigmoid():
    inp = keras.Input((L, 4))
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(3, 4, name="conv")(inp))
    logit = keras.layers.Dense(1, name="logit")(pooled)
    prob = keras.Model(inp, keras.layers.Activation("sigmoid")(logit))
    linear = keras.Model(inp, logit)  # the same weights, before the sigmoid
    x = _onehot(_seqs(3, seed=21))
    by_logit = gradcam(prob, [x], [0], L, logit=True)
    expected = gradcam(linear, [x], [0], L)
    np.testing.assert_allclose(by_logit.maps, expected.maps, rtol=1e-3, atol=1e-6)
    raw = gradcam(prob, [x], [0], L)
    p = predict_arrays(prob, [x])[:, 0]
    np.testing.assert_allclose(raw.maps[0], expected.maps[0] * (p * (1 - p))[:, None],
                               rtol=1e-3, atol=1e-6)
