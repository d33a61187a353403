"""Gradients of model outputs: the only backend-specific module of varbind.

Two questions are asked of a Keras model here: the gradient of an output column with respect
to the model's inputs (integrated gradients), and with respect to the activations of one
intermediate layer (GradCAM). Both run one forward pass and then one backward pass per target
output column. TensorFlow (``tf.GradientTape``) and JAX (``jax.vjp``) backends are supported;
everything else in varbind uses ``keras.ops`` and numpy only.

The intermediate layer may sit anywhere in the model, including inside a nested sub-model
(per-RBP models joined under one shared input): its ``call`` is wrapped for the duration of
one forward pass so that its output can be watched (TensorFlow) or perturbed by a zero
offset whose cotangent is the wanted gradient (JAX).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Gradients:
    """One forward pass and its backward passes.

    predictions : (N, K) float32, every output column of the model
    grads : list over the model's inputs of (T, N, *input_shape) float32 for ``wrt="inputs"``;
        a one-element list ``[(T, N, L', C)]`` for a layer
    activations : (N, L', C) float32 layer output (``None`` for ``wrt="inputs"``)
    """

    predictions: np.ndarray
    grads: list[np.ndarray]
    activations: np.ndarray | None = None


def backend() -> str:
    import keras

    return keras.backend.backend()


def output_matrix(outputs):
    """Model outputs as one (N, K) tensor: a multi-label (N, K) output as is, several per-RBP
    outputs (N, 1) concatenated in output order."""
    import keras

    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        flat = [keras.ops.reshape(o, (keras.ops.shape(o)[0], -1)) for o in outputs]
        return flat[0] if len(flat) == 1 else keras.ops.concatenate(flat, axis=1)
    return keras.ops.reshape(outputs, (keras.ops.shape(outputs)[0], -1))


@contextlib.contextmanager
def _wrapped_call(layer, hook):
    """Temporarily replace ``layer.call`` by ``hook(output)`` applied to its output."""
    original = layer.call

    def call(*args, **kwargs):
        return hook(original(*args, **kwargs))

    layer.call = call
    try:
        yield
    finally:
        del layer.call  # back to the class's bound method


def model_inputs(model, inputs: Sequence):
    """Inputs in the structure the model was built with (a one-element list for a model
    built as ``keras.Model([x], ...)``, the bare tensor for ``keras.Model(x, ...)``)."""
    if len(inputs) > 1 or isinstance(getattr(model, "_inputs_struct", None), (list, tuple)):
        return list(inputs)
    return inputs[0]


def gradients(model, inputs: Sequence[np.ndarray], targets: Sequence[int],
              layer=None) -> Gradients:
    """Gradients of output columns ``targets`` (summed over the batch, so each row gets its
    own gradient) with respect to the inputs, or to ``layer``'s output when given.

    Parameters
    ----------
    model : Keras model
    inputs : list of arrays, one per model input, (N, ...)
    targets : output columns, one backward pass each
    layer : a Keras layer of ``model`` (possibly nested), or None for input gradients
    """
    inputs = [np.asarray(x, dtype=np.float32) for x in inputs]
    name = backend()
    if name == "tensorflow":
        return _gradients_tf(model, inputs, list(targets), layer)
    if name == "jax":
        return _gradients_jax(model, inputs, list(targets), layer)
    raise NotImplementedError(f"gradients need the tensorflow or jax Keras backend, not {name}")


_TF_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _CachedStepTracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning: each (targets, layer,
    shapes) key below is traced once and cached on purpose (one graph per RBP), which that
    warning counts as retracing after five RBPs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _tf_function(model, targets: tuple[int, ...], layer, shapes: tuple):
    """A compiled forward + backward pass, cached per model, targets, layer and input shapes
    (the batch axis is left free, so one graph serves every batch size)."""
    import tensorflow as tf

    cache = _TF_FUNCTIONS.setdefault(model, {})
    key = (targets, None if layer is None else id(layer), shapes)
    if key in cache:
        return cache[key]
    if not any(isinstance(f, _CachedStepTracing) for f in tf.get_logger().filters):
        tf.get_logger().addFilter(_CachedStepTracing())  # before the first trace only
    signature = [tf.TensorSpec((None, *shape), tf.float32) for shape in shapes]
    model_ref = weakref.ref(model)  # the cache must not keep its own key alive

    @tf.function(input_signature=signature)
    def step(*xs):
        model = model_ref()
        captured = []
        tape = tf.GradientTape(persistent=True)
        with tape:
            if layer is None:
                for x in xs:
                    tape.watch(x)
                y = output_matrix(model(model_inputs(model, list(xs)), training=False))
            else:
                def hook(out):
                    tape.watch(out)
                    captured.append(out)
                    return out

                with _wrapped_call(layer, hook):  # applied while tracing only
                    y = output_matrix(model(model_inputs(model, list(xs)), training=False))
            columns = [tf.reduce_sum(y[:, t]) for t in targets]
        sources = list(xs) if layer is None else [captured[-1]]
        grads = []
        for src in sources:
            per_target = []
            for column in columns:
                g = tape.gradient(column, src)
                per_target.append(tf.zeros_like(src) if g is None else g)
            grads.append(tf.stack(per_target) if per_target
                         else tf.zeros((0, *src.shape[1:]), tf.float32))
        return y, grads, (captured[-1] if captured else tf.zeros((0,), tf.float32))

    cache[key] = step
    return step


def _gradients_tf(model, inputs, targets, layer) -> Gradients:
    shapes = tuple(tuple(x.shape[1:]) for x in inputs)
    step = _tf_function(model, tuple(targets), layer, shapes)
    y, grads, activations = step(*inputs)
    return Gradients(predictions=y.numpy(), grads=[g.numpy() for g in grads],
                     activations=None if layer is None else activations.numpy())


def _layer_output_shape(layer, model, inputs) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in layer.output.shape[1:])
    except (AttributeError, ValueError, TypeError):  # not called symbolically: run it once
        seen = []
        with _wrapped_call(layer, lambda out: seen.append(out) or out):
            model(model_inputs(model, [x[:1] for x in inputs]), training=False)
        return tuple(int(d) for d in seen[-1].shape[1:])


def _gradients_jax(model, inputs, targets, layer) -> Gradients:
    import jax
    import jax.numpy as jnp

    if layer is None:
        def forward(*xs):
            return output_matrix(model(model_inputs(model, list(xs)), training=False))

        y, vjp = jax.vjp(forward, *inputs)
        per_target = [vjp(jnp.zeros_like(y).at[:, t].set(1.0)) for t in targets]
        grads = [np.stack([np.asarray(g[i]) for g in per_target]) if targets
                 else np.zeros((0, *inputs[i].shape), np.float32) for i in range(len(inputs))]
        return Gradients(predictions=np.asarray(y), grads=grads)

    shape = (len(inputs[0]), *_layer_output_shape(layer, model, inputs))

    def forward_layer(offset):
        captured = []

        def hook(out):
            out = out + offset  # d(out + offset)/d offset = 1: the cotangent is dy/dA
            captured.append(out)
            return out

        with _wrapped_call(layer, hook):
            y = output_matrix(model(model_inputs(model, inputs), training=False))
        return y, captured[-1]

    (y, activations), vjp = jax.vjp(forward_layer, jnp.zeros(shape, jnp.float32))
    zero_a = jnp.zeros_like(activations)
    per_target = [np.asarray(vjp((jnp.zeros_like(y).at[:, t].set(1.0), zero_a))[0])
                  for t in targets]
    grads = np.stack(per_target) if targets else np.zeros((0, *shape), np.float32)
    return Gradients(predictions=np.asarray(y), grads=[grads],
                     activations=np.asarray(activations))
