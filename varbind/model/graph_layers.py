"""Graph-convolution layers for RNASSR-Net, from ``keras.ops`` only (any Keras backend).

The RNA graph arrives per position as :data:`varbind.model.rna_graph.PAIR_CHANNELS` (``(N, L, 3)``:
partner offset, pair weight, node flag). :class:`GraphConv` is Kipf & Welling's graph
convolution ``H' = act(D^-1/2 (A + I) D^-1/2 H W + b)`` over backbone edges ``(i, i +- 1)``
between nodes and one base-pair edge per paired base, computed by shifts and one gather
instead of an (L, L) matrix product (the same numbers for graphs whose bases pair at most
once, as an MFE structure's do).
"""

from __future__ import annotations

import keras
from keras import ops


def _shift(x, step: int):
    """``y[:, i] = x[:, i - step]`` along axis 1, zeros shifted in. (N, L, ...) -> same."""
    pad = [[0, 0]] * len(x.shape)
    if step > 0:
        pad[1] = [step, 0]
        return ops.pad(x[:, :-step], pad)
    pad[1] = [0, -step]
    return ops.pad(x[:, -step:], pad)


def normalised_edges(graph):
    """Edge weights of the renormalised adjacency ``D^-1/2 (A + I) D^-1/2``.

    Parameters
    ----------
    graph : (N, L, 3) partner offset, pair weight, node flag

    Returns
    -------
    partner : (N, L) int32 partner index; inv : (N, L) ``node / sqrt(degree)``;
    prev, next, pair : (N, L) edge weights to ``i - 1``, ``i + 1`` and the partner
    """
    length = graph.shape[1]
    offset, weight, node = graph[..., 0], graph[..., 1], graph[..., 2]
    target = ops.cast(ops.arange(length), offset.dtype)[None, :] + offset
    inside = ops.cast((target >= 0) & (target <= length - 1), offset.dtype)
    partner = ops.cast(ops.clip(ops.round(target), 0, length - 1), "int32")
    pair = weight * inside * node
    nxt = node * _shift(node, -1)
    prev = _shift(nxt, 1)
    degree = node * (1.0 + prev + nxt + pair)
    inv = node / ops.sqrt(ops.maximum(degree, 1.0))
    return partner, inv, prev, nxt, pair


def propagate(h, graph):
    """``D^-1/2 (A + I) D^-1/2 H``: (N, L, C) node features -> (N, L, C)."""
    partner, inv, prev, nxt, pair = normalised_edges(graph)
    scaled = h * inv[..., None]
    index = ops.repeat(partner[..., None], h.shape[-1], axis=-1)
    msg = (scaled + _shift(scaled, 1) * prev[..., None] + _shift(scaled, -1) * nxt[..., None]
           + ops.take_along_axis(scaled, index, axis=1) * pair[..., None])
    return msg * inv[..., None]


@keras.saving.register_keras_serializable(package="varbind")
class GraphConv(keras.layers.Layer):
    """One graph convolution: ``[h (N, L, C), graph (N, L, 3)] -> (N, L, units)``, zero on
    padding nodes."""

    def __init__(self, units: int, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.dense = keras.layers.Dense(self.units, name="dense")

    def build(self, input_shape):
        h_shape, _ = input_shape
        self.dense.build(tuple(h_shape[:-1]) + (h_shape[-1],))

    def call(self, inputs):
        h, graph = inputs
        out = self.activation(self.dense(propagate(h, graph)))
        return out * graph[..., 2:3]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units,
                      activation=keras.activations.serialize(self.activation))
        return config


@keras.saving.register_keras_serializable(package="varbind")
class ChannelMean(keras.layers.Layer):
    """Mean over channels: (N, L, C) -> (N, L, 1) (RNASSR-Net's per-base importance)."""

    def call(self, x):
        return ops.mean(x, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (1,)


@keras.saving.register_keras_serializable(package="varbind")
class ScaleNodes(keras.layers.Layer):
    """Graph features times per-base weights: [(N, L, C), (N, L, 1)] -> (N, L, C)."""

    def call(self, inputs):
        h, w = inputs
        return h * w

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


GRAPH_OBJECTS = {f"varbind>{cls.__name__}": cls for cls in (GraphConv, ChannelMean, ScaleNodes)}
