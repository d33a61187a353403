"""From a feature map's positions back to sequence positions: receptive fields traced
through the layers, and linear interpolation of a map ``(L',)`` to ``(L,)`` with each map
position at the center of its receptive field (pixel-center resizing when the layers on the
way cannot be traced)."""

from __future__ import annotations

import numpy as np


def stretch(maps: np.ndarray, length: int, position_map: tuple[float, float] | None = None
            ) -> np.ndarray:
    """Coarse maps (..., L') to input length (..., length) by linear interpolation.

    position_map : ``(a, b)``: the coarse map's index ``j`` is centered on input position
        ``a * j + b`` (from :func:`position_map`); None resizes with pixel centers aligned, as
        image GradCAM does. Positions beyond the first/last center take the edge value.
    """
    coarse = maps.shape[-1]
    if position_map is None:
        if coarse == length:
            return maps.astype(np.float32, copy=True)
        a, b = length / coarse, (length / coarse - 1) / 2
    else:
        a, b = position_map
    where = (np.arange(length) - b) / a  # each input position in coarse-map units
    flat = maps.reshape(-1, coarse)
    out = np.stack([np.interp(where, np.arange(coarse), row) for row in flat])
    return out.reshape(*maps.shape[:-1], length).astype(np.float32)


_POSITIONWISE = {"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "BatchNormalization",
                 "LayerNormalization", "Dropout", "SpatialDropout1D", "GaussianNoise",
                 "GaussianDropout", "Add", "Multiply", "Average", "Maximum", "Minimum",
                 "Subtract", "Dense", "Identity"}


def _window_offset(kernel: int, stride: int, dilation: int, padding: str,
                   length: int | None) -> float | None:
    """Input position of output 0's window center for a conv/pool layer."""
    span = dilation * (kernel - 1)
    if padding == "valid":
        return span / 2
    if padding == "causal":
        return -span / 2
    if padding == "same":
        if stride == 1:
            return span / 2 - span // 2
        if length is None:
            return None
        out = -(-length // stride)
        total = max((out - 1) * stride + span + 1 - length, 0)
        return span / 2 - total // 2
    return None


def position_map(tensor) -> tuple[float, float] | None:
    """``(a, b)`` such that position ``j`` of ``tensor`` (a symbolic Keras tensor, e.g. a conv
    layer's output) is centered on input position ``a * j + b``, found by walking its layers
    back to the model input (Conv1D and pooling strides and paddings compose; per-position
    layers keep positions). None when a layer on the way changes positions otherwise."""
    walked = _walk_positions(tensor)
    return None if walked is None else walked[:2]


def receptive_field(tensor) -> int | None:
    """How many input positions one position of ``tensor`` sees (its receptive field, in nt):
    ``(r - 1) * stride + (kernel - 1) * dilation + 1`` composed from the input up, the widest
    branch where branches meet (residual adds). None as for :func:`position_map`."""
    walked = _walk_positions(tensor)
    return None if walked is None else walked[2]


def _walk_positions(tensor, memo: dict | None = None) -> tuple[float, float, int] | None:
    """``(a, b, field)``: :func:`position_map` and :func:`receptive_field` of ``tensor``
    (``memo`` keeps each tensor's answer, so residual graphs are walked once per tensor)."""
    memo = {} if memo is None else memo
    if id(tensor) not in memo:
        memo[id(tensor)] = _walk_layer(tensor, memo)
    return memo[id(tensor)]


def _walk_layer(tensor, memo: dict) -> tuple[float, float, int] | None:
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    op, node_index, _ = history
    kind = type(op).__name__
    node = op._inbound_nodes[node_index]
    if kind == "InputLayer" or not node.input_tensors:
        return 1.0, 0.0, 1
    parents = [_walk_positions(t, memo) for t in node.input_tensors]
    if kind in _POSITIONWISE or (kind == "Concatenate" and op.axis in (-1, 2)):
        if any(p is None for p in parents):
            return None
        return parents[0][0], parents[0][1], max(p[2] for p in parents)
    if ("Conv1D" in kind or kind in ("MaxPooling1D", "AveragePooling1D")) and parents[0]:
        if "Pooling" in kind:
            k, s, d = op.pool_size[0], op.strides[0], 1
        else:
            k, s, d = op.kernel_size[0], op.strides[0], op.dilation_rate[0]
        parent = node.input_tensors[0]
        length = parent.shape[1] if len(parent.shape) > 1 else None
        offset = _window_offset(k, s, d, op.padding, length)
        if offset is None:
            return None
        a, b, field = parents[0]  # parent position p is centered on input a * p + b, and this
        # layer's position j on parent position s * j + offset
        return a * s, a * offset + b, field + (k - 1) * d * int(a)
    return None


def layer_walk(layer) -> tuple[float, float, int] | None:
    """:func:`_walk_positions` of a layer's output; None for a layer never called symbolically."""
    try:
        return _walk_positions(layer.output)
    except (AttributeError, ValueError):
        return None
