"""Architectures: input specs, shapes worked out by hand, joining POLARIS, the weighted loss,
and loading on Keras's JAX backend."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from planted import TINY

from varbind.errors import VarbindError
from varbind.model.inputs import WindowBatch, build_inputs
from varbind.training import models as M


def shapes(specs):
    return [tuple(s.shape) for s in specs]


@pytest.mark.parametrize("inputs, expected", [
    (["sequence"], [(150, 4)]),
    (["sequence", "region"], [(150, 8)]),
    (["region", "sequence"], [(150, 8)]),  # canonical order whatever the user's order
    (["sequence", "region", "structure", "expression"], [(150, 11)]),
    (["region"], [(150, 4)]),
])
def test_multiresbind_input_shapes(inputs, expected):
    assert shapes(M.input_specs("multiresbind", inputs)) == expected


def test_multiresbind_channel_order():
    (spec,) = M.input_specs("multiresbind", ["sequence", "region"])
    assert [c.kind for c in spec.components] == ["sequence", "region"]
    assert spec.components[0].channels == tuple("ACGT")
    assert spec.components[1].channels == ("intron", "cds", "3utr", "5utr")


def test_deepripe_polaris_residualbind_input_shapes():
    assert shapes(M.input_specs("deepripe", ["sequence", "region"])) == [(150, 4), (250, 4)]
    assert shapes(M.input_specs("deepripe", ["sequence", "structure"])) == [(150, 6)]
    specs = M.input_specs("polaris", ["sequence", "region", "expression"])
    assert shapes(specs) == [(1000, 4), (7,), (1,)]
    assert [s.layout for s in specs] == ["per_position", "side", "side"]
    assert shapes(M.input_specs("residualbind", ["sequence"])) == [(41, 4)]
    assert shapes(M.input_specs("multiresbind", ["sequence"], seq_length=50)) == [(50, 4)]


def test_unknown_architecture_and_inputs_fail_with_a_fix():
    with pytest.raises(VarbindError, match="unknown architecture 'cnn'.*multiresbind"):
        M.check_architecture("cnn")
    with pytest.raises(VarbindError, match="unknown input shape in --inputs"):
        M.parse_inputs("sequence,shape", "multiresbind")
    with pytest.raises(VarbindError, match="polaris needs the sequence input"):
        M.parse_inputs("region,expression", "polaris")
    with pytest.raises(VarbindError, match="unknown hyperparameter 'width' for deepripe"):
        M.hyperparameters("deepripe", {"width": 3})
    with pytest.raises(VarbindError, match="one RBP per model"):
        M.build_model("polaris", M.input_specs("polaris", ["sequence"]), 3)


def _layer_shape(model, name):
    return tuple(model.get_layer(name).output.shape[1:])


def test_paper_architectures_have_the_hand_worked_shapes():
    # DeepRiPe: seq 150-7+1=144 -> pool(4,2) 71; region 250-7+1=244 -> pool(10,5) 47;
    # joined 118 -> conv5 114 -> pool(10,5) 21 -> 21*100 = 2100
    dr = M.build_model("deepripe", M.input_specs("deepripe", ["sequence", "region"]), 5)
    assert _layer_shape(dr, "seq_pool1") == (71, 90)
    assert _layer_shape(dr, "region_pool1") == (47, 90)
    assert _layer_shape(dr, "flat") == (2100,)
    assert tuple(dr.output.shape[1:]) == (5,)
    # POLARIS: 1000-8+1=993 -> pool4 248 -> 241 -> 60 -> 6000; dense 600/300/64 + 7 + 1
    po = M.build_model("polaris", M.input_specs("polaris", M.INPUT_KINDS, viewpoint_span=30), 1)
    assert _layer_shape(po, "flatten") == (6000,)
    assert _layer_shape(po, "join") == (64 + 7 + 1,)
    assert po.get_layer("conv1").kernel_regularizer.l2 == pytest.approx(0.01)
    assert po.get_layer("drop1").rate == pytest.approx(0.15)
    # Multi-resBind: 'same' convs keep 150 -> AvgPool 10 -> 15 * 96 = 1440 -> 256 -> k
    mr = M.build_model("multiresbind", M.input_specs("multiresbind", ["sequence", "region"]), 4)
    assert _layer_shape(mr, "res_out") == (150, 96)
    assert _layer_shape(mr, "flatten") == (1440,)
    assert [mr.get_layer(f"res_conv{i}").dilation_rate[0] for i in (1, 2, 3)] == [2, 4, 8]
    rb = M.build_model("residualbind", M.input_specs("residualbind", ["sequence"]), 1,
                       output="linear")
    assert [rb.get_layer(f"res_conv{i}").dilation_rate[0] for i in (1, 2, 3)] == [1, 2, 4]
    assert _layer_shape(rb, "flatten") == (4 * 96,)  # 41 // 10 = 4
    assert rb.get_layer("output").activation.__name__ == "linear"


def test_hyperparameters_override():
    specs = M.input_specs("multiresbind", ["sequence"], seq_length=40)
    model = M.build_model("multiresbind", specs, 2, {"filters": 8, "pool_size": 5})
    assert _layer_shape(model, "flatten") == (8 * 8,)
    # the varbind recipe's 30-nt pool on 150 nt: 5 steps; a window shorter than the pool: 1
    model = M.build_model("multiresbind", M.input_specs("multiresbind", ["sequence"]), 2,
                          {"filters": 8, "pool_size": 30})
    assert _layer_shape(model, "flatten") == (5 * 8,)
    short = M.build_model("residualbind", M.input_specs("residualbind", ["sequence"]), 1,
                          {"filters": 8, "pool_size": 50})
    assert _layer_shape(short, "flatten") == (8,)  # 41 nt, one step


def _tiny_polaris(seed, specs):
    import keras

    keras.utils.set_random_seed(seed)
    return M.build_model("polaris", specs, 1, TINY["polaris"])


def test_join_polaris_equals_the_separate_models():
    specs = M.input_specs("polaris", ["sequence", "region", "expression"], seq_length=60)
    a, b = _tiny_polaris(1, specs), _tiny_polaris(2, specs)
    joined = M.join_polaris([a, b], ["A", "B"], specs)
    rng = np.random.default_rng(0)
    batch = WindowBatch(rng.integers(0, 5, (7, 60)).astype(np.uint8),
                        rng.integers(0, 8, (7, 9)).astype(np.int8),
                        rng.random(7).astype(np.float32))
    x = build_inputs(specs, batch)
    got = np.asarray(joined(x, training=False))
    want = np.concatenate([np.asarray(a(x, training=False)), np.asarray(b(x, training=False))],
                          axis=1)
    assert got.shape == (7, 2)
    np.testing.assert_array_equal(got, want)
    assert len(joined.inputs) == 3 and len(joined.outputs) == 1
    assert joined.get_layer("B.conv2").filters == 16


def test_join_polaris_rejects_models_with_other_inputs():
    s1 = M.input_specs("polaris", ["sequence"], seq_length=60)
    s2 = M.input_specs("polaris", ["sequence"], seq_length=80)
    with pytest.raises(VarbindError, match="POLARIS model for B has inputs"):
        M.join_polaris([_tiny_polaris(1, s1), _tiny_polaris(2, s2)], ["A", "B"], s1)


def test_weighted_bce_hand_worked():
    from varbind.model.layers import WeightedBinaryCrossentropy

    loss = WeightedBinaryCrossentropy([2.0, 1.0])
    y = np.array([[1.0, 0.0]], np.float32)
    p = np.array([[0.5, 0.5]], np.float32)
    # (2 * ln 2 + ln 2) / 2
    assert float(loss(y, p)) == pytest.approx(1.5 * np.log(2), rel=1e-5)
    again = WeightedBinaryCrossentropy.from_config(loss.get_config())
    assert again.pos_weights == [2.0, 1.0]


def test_saved_model_predicts_the_same_on_the_jax_backend(tmp_path):
    import keras

    specs = M.input_specs("deepripe", ["sequence", "region", "expression"], 60, 80)
    keras.utils.set_random_seed(3)
    model = M.build_model("deepripe", specs, 2, TINY["deepripe"])
    rng = np.random.default_rng(0)
    x = [rng.random((5, *s.shape)).astype(np.float32) for s in specs]
    np.savez(tmp_path / "x.npz", *x)
    np.save(tmp_path / "want.npy", np.asarray(model(x, training=False)))
    model.save(tmp_path / "m.keras")
    script = textwrap.dedent(f"""
        import json, numpy as np, keras
        from varbind.model.layers import CUSTOM_OBJECTS
        m = keras.saving.load_model({str(tmp_path / 'm.keras')!r}, custom_objects=CUSTOM_OBJECTS)
        d = np.load({str(tmp_path / 'x.npz')!r})
        got = np.asarray(m([d[f"arr_{{i}}"] for i in range(3)], training=False))
        want = np.load({str(tmp_path / 'want.npy')!r})
        print(json.dumps([keras.backend.backend(), float(np.abs(got - want).max())]))
    """)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True)
    backend, diff = json.loads(out.stdout.strip().splitlines()[-1])
    assert backend == "jax"
    assert diff < 1e-5
