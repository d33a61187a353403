"""Graph-convolution layers for RNASSR-Net, from ``keras.ops`` only (any Keras backend).

The RNA graph arrives per position as :func:`varbind.model.rna_graph.graph_channels`
(``(N, L, 2 K + 1)``: ``K`` (partner offset, pair weight) channel pairs, then the node flag;
``K = 1`` for an MFE graph). :class:`GraphConv` is Kipf & Welling's graph convolution
``H' = act(D^-1/2 (A + I) D^-1/2 H W + b)`` over backbone edges ``(i, i +- 1)`` between nodes
and up to ``K`` weighted base-pair edges per base, computed by shifts and ``K`` gathers instead
of an (L, L) matrix product (the same numbers as the dense product, with ``A[i, j]`` the
weight base ``i`` holds for partner ``j``).
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
    graph : (N, L, 2 K + 1) K (partner offset, pair weight) channel pairs, node flag

    Returns
    -------
    partners : K (N, L) int32 partner indices; pairs : K (N, L) edge weights to them;
    inv : (N, L) ``node / sqrt(degree)``; prev, next : (N, L) edge weights to ``i -+ 1``
    """
    length = graph.shape[1]
    node = graph[..., -1]
    positions = ops.cast(ops.arange(length), graph.dtype)[None, :]
    partners, pairs = [], []
    for k in range((graph.shape[-1] - 1) // 2):
        target = positions + graph[..., 2 * k]
        inside = ops.cast((target >= 0) & (target <= length - 1), graph.dtype)
        partners.append(ops.cast(ops.clip(ops.round(target), 0, length - 1), "int32"))
        pairs.append(graph[..., 2 * k + 1] * inside * node)
    nxt = node * _shift(node, -1)
    prev = _shift(nxt, 1)
    degree = node * (1.0 + prev + nxt + sum(pairs))
    inv = node / ops.sqrt(ops.maximum(degree, 1.0))
    return partners, pairs, inv, prev, nxt


def propagate(h, graph):
    """``D^-1/2 (A + I) D^-1/2 H``: (N, L, C) node features -> (N, L, C)."""
    partners, pairs, inv, prev, nxt = normalised_edges(graph)
    scaled = h * inv[..., None]
    msg = scaled + _shift(scaled, 1) * prev[..., None] + _shift(scaled, -1) * nxt[..., None]
    for partner, pair in zip(partners, pairs, strict=True):
        index = ops.repeat(partner[..., None], h.shape[-1], axis=-1)
        msg = msg + ops.take_along_axis(scaled, index, axis=1) * pair[..., None]
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
        return out * graph[..., -1:]

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
