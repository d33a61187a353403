"""varbind.interpret.gradients: input and layer gradients on toy models with known derivatives."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np

from varbind.interpret.gradients import gradients


def _linear_model(length=6):
    """y = x . W + b with W (L*4, 2), so dy_k/dx = W[:, k] exactly."""
    inp = keras.Input((length, 4))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(length * 4, 2)).astype("float32")
    model.layers[-1].set_weights([w, np.array([0.5, -0.5], "float32")])
    return model, w


def test_input_gradients_of_linear_model_are_the_weights():
    model, w = _linear_model()
    x = np.random.default_rng(1).random((3, 6, 4)).astype("float32")
    res = gradients(model, [x], targets=[1, 0])
    assert res.predictions.shape == (3, 2)
    np.testing.assert_allclose(res.predictions, x.reshape(3, -1) @ w + [0.5, -0.5], rtol=1e-5)
    g = res.grads[0]
    assert g.shape == (2, 3, 6, 4)
    np.testing.assert_allclose(g[0], np.broadcast_to(w[:, 1].reshape(6, 4), (3, 6, 4)), rtol=1e-6)
    np.testing.assert_allclose(g[1], np.broadcast_to(w[:, 0].reshape(6, 4), (3, 6, 4)), rtol=1e-6)


def test_layer_gradients_inside_a_nested_model():
    """Joined per-RBP models: the gradient reaches a conv layer inside a sub-model."""
    inp = keras.Input((8, 4))
    sub_in = keras.Input((8, 4))
    conv = keras.layers.Conv1D(2, 3, name="inner_conv")(sub_in)
    dense = keras.layers.Dense(1, name="inner_dense")
    sub = keras.Model(sub_in, dense(keras.layers.Flatten()(conv)), name="sub")
    other = keras.layers.Dense(1, name="other")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, [other, sub(inp)])
    x = np.random.default_rng(2).random((2, 8, 4)).astype("float32")
    res = gradients(model, [x], targets=[1, 0], layer=sub.get_layer("inner_conv"))
    w = dense.get_weights()[0].reshape(6, 2)  # y1 = sum_l,c A[l, c] * w[l, c] + b
    assert res.activations.shape == (2, 6, 2)
    np.testing.assert_allclose(res.grads[0][0], np.broadcast_to(w, (2, 6, 2)), rtol=1e-6)
    np.testing.assert_array_equal(res.grads[0][1], 0)  # output 0 does not use the sub-model
    assert res.predictions.shape == (2, 2)
    # the layer's call is restored afterwards
    assert "call" not in vars(sub.get_layer("inner_conv"))


def test_jax_backend_gives_the_same_gradients(tmp_path):
    script = textwrap.dedent("""
        import os
        os.environ["KERAS_BACKEND"] = "jax"
        import keras, numpy as np
        from varbind.interpret.gradients import gradients
        inp = keras.Input((5, 4))
        conv = keras.layers.Conv1D(2, 3, name="c")(inp)
        out = keras.layers.Dense(2)(keras.layers.Flatten()(conv))
        model = keras.Model(inp, out)
        x = np.random.default_rng(0).random((2, 5, 4)).astype("float32")
        res = gradients(model, [x], [1])
        lay = gradients(model, [x], [1], layer=model.get_layer("c"))
        np.savez(os.environ["OUT"], x=x, g=res.grads[0], a=lay.activations, ga=lay.grads[0],
                 y=res.predictions, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    """)
    out = tmp_path / "jax.npz"
    env = dict(os.environ, OUT=str(out), KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = np.load(out)
    # rebuild the same model under TensorFlow with the JAX run's weights
    inp = keras.Input((5, 4))
    conv = keras.layers.Conv1D(2, 3, name="c")(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(conv)))
    model.set_weights([d[f"w{i}"] for i in range(4)])
    res = gradients(model, [d["x"]], [1])
    lay = gradients(model, [d["x"]], [1], layer=model.get_layer("c"))
    np.testing.assert_allclose(d["y"], res.predictions, rtol=1e-5)
    np.testing.assert_allclose(d["g"], res.grads[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d["a"], lay.activations, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d["ga"], lay.grads[0], rtol=1e-5, atol=1e-6)
