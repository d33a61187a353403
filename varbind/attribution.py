"""Attribution maps for windows: integrated gradients, GradCAM and in-silico mutagenesis.

Every function here takes a Keras model and the list of input arrays that
:func:`varbind.inputs.build_inputs` made for a :class:`~varbind.inputs.WindowBatch`, and
returns maps over the model's sequence input, ``(T, N, L, 4)`` or ``(T, N, L)`` for ``T``
target RBPs (output columns) and ``N`` windows. Only :mod:`varbind.gradients` touches the
backend; this module is numpy and ``keras.ops``.

- Integrated gradients (Sundararajan et al. 2017; DeepRiPe §2.4):
  ``IG(x) = (x - x') * mean_s dF/dx(x' + a_s (x - x'))`` over ``steps`` points ``a_s`` of the
  straight path from the baseline ``x'``; all steps of several windows go through the model
  as one batch. Completeness (``sum IG = F(x) - F(x')``) is reported per window.
- GradCAM (Selvaraju et al. 2017; POLARIS): for the last convolutional feature map before an
  output (or a named layer), ``map = ReLU(sum_k alpha_k A_k)`` with ``alpha_k`` the mean over
  positions of ``dy/dA_k``; one forward and one backward pass per RBP; the map ``(L',)`` is
  brought to the sequence length by linear interpolation with each map position placed at
  the centre of its receptive field (:func:`position_map`; pixel-centre resizing, as for
  images, when the layers on the way cannot be traced).
- In-silico mutagenesis: ``F(x with base b at i) - F(x)`` for every position and base.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from varbind.errors import ModelBundleError, VarbindError
from varbind.gradients import gradients
from varbind.inputs import InputSpec

log = logging.getLogger(__name__)

BASELINES = ("zeros", "uniform", "bundle", "auto")
IG_RULES = ("midpoint", "riemann_right", "trapezoid")


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class SequenceSlot:
    """Where the nucleotide one-hot sits among a model's inputs.

    input_index : which model input; channels : (4,) channel indices of A, C, G, T in it;
    length : the sequence length L of that input
    """

    input_index: int
    channels: tuple[int, int, int, int]
    length: int


def sequence_slot(specs: Sequence[InputSpec]) -> SequenceSlot:
    """Find the per-position sequence component of a model's inputs (the widest one)."""
    best = None
    for i, spec in enumerate(specs):
        if spec.layout != "per_position":
            continue
        offset = 0
        for comp in spec.components:
            if comp.kind == "sequence":
                letters = ["T" if c in "TU" else c for c in comp.channels]
                chans = tuple(offset + letters.index(b) for b in "ACGT")
                if best is None or spec.length > best.length:
                    best = SequenceSlot(i, chans, spec.length)
            offset += comp.width
    if best is None:
        raise ModelBundleError("the model has no per-position sequence input to attribute")
    return best


def predict_arrays(model, arrays: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Forward pass in batches through :func:`varbind.predict.predict` (the one place that
    batches model calls); returns (N, K) float32, all output columns."""
    from varbind.predict import predict

    if len(arrays[0]) == 0:
        return np.zeros((0, _n_outputs(model)), np.float32)
    return np.asarray(predict(model, list(arrays), batch_size=batch_size), np.float32)


def _n_outputs(model) -> int:
    return sum(int(np.prod(o.shape[1:])) for o in model.outputs)


# ----------------------------------------------------------------------------- baselines


def baseline_arrays(specs: Sequence[InputSpec], kind: str, bundle=None,
                    rbp: str | None = None) -> list[np.ndarray | None]:
    """IG baselines, one array per model input, shaped like one example (no batch axis);
    None for an RNA-graph input (RNASSR-Net), which IG holds at each window's own graph.
    See :func:`_baseline_values` for ``kind``."""
    values = _baseline_values(specs, kind, bundle, rbp)
    return [None if spec.kinds() == {"pairs"} else arr
            for spec, arr in zip(specs, values, strict=True)]


def _baseline_values(specs: Sequence[InputSpec], kind: str, bundle=None,
                     rbp: str | None = None) -> list[np.ndarray]:
    """IG baselines, one array per model input, shaped like one example (no batch axis).

    kind : ``zeros`` (everything 0); ``uniform`` (0.25 on sequence and region channels, as
        DeepRiPe used for regions; 0 elsewhere); ``bundle`` (the bundle's ``meta.baselines[rbp]``:
        an ``.npz`` with ``input_<i>`` arrays, e.g. Multi-resBind's mean of the 2,000 lowest-
        scoring inputs, or the keyword ``zeros``/``uniform``); ``auto`` (``bundle`` when the bundle
        declares one for ``rbp``, else ``zeros``).
    """
    if kind not in BASELINES:
        raise VarbindError(f"unknown IG baseline {kind!r}",
                           fix=f"choose one of {', '.join(BASELINES)}")
    if kind in ("bundle", "auto"):
        declared = (bundle.meta.baselines or {}).get(rbp) if bundle is not None else None
        if declared is None:
            if kind == "auto":
                return _baseline_values(specs, "zeros")
            name = bundle.name if bundle is not None else "?"
            raise ModelBundleError(f"model {name} declares no IG baseline for {rbp}",
                                   path=getattr(bundle, "path", None),
                                   fix="use --ig-baseline zeros or uniform")
        if declared in ("zeros", "uniform"):
            return _baseline_values(specs, declared)
        return _bundle_baseline(specs, Path(bundle.path) / declared)
    out = []
    for spec in specs:
        arr = np.zeros(spec.shape, np.float32)
        if kind == "uniform":
            offset = 0
            for comp in spec.components:
                if comp.kind in ("sequence", "region"):
                    arr[..., offset:offset + comp.width] = 0.25
                offset += comp.width
        out.append(arr)
    return out


def _bundle_baseline(specs: Sequence[InputSpec], path: Path) -> list[np.ndarray]:
    if not path.exists():
        raise ModelBundleError("IG baseline file is missing", path=path,
                               fix="re-save the bundle or use --ig-baseline zeros")
    with np.load(path) as data:
        out = []
        for i, spec in enumerate(specs):
            key = f"input_{i}"
            if key not in data:
                raise ModelBundleError(f"IG baseline has no array {key}", path=path,
                                       fix="write one array per model input")
            arr = np.asarray(data[key], np.float32)
            arr = arr[0] if arr.ndim == len(spec.shape) + 1 else arr
            if arr.shape != tuple(spec.shape):
                raise ModelBundleError(f"IG baseline {key} has shape {arr.shape}, the input "
                                       f"{spec.name} needs {tuple(spec.shape)}", path=path)
            out.append(arr)
    return out


# ----------------------------------------------------------------------------- IG


@dataclass
class IGResult:
    """Integrated gradients of ``T`` targets for ``N`` windows.

    attributions : list over model inputs of (T, N, *input_shape) float32
    predictions : (T, N) F(x); baseline_predictions : (T, N) F(x')
    """

    attributions: list[np.ndarray]
    predictions: np.ndarray
    baseline_predictions: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """(T, N) sum of the attributions over every input and position."""
        return sum(a.reshape(a.shape[0], a.shape[1], -1).sum(-1) for a in self.attributions)

    @property
    def completeness_gap(self) -> np.ndarray:
        """(T, N) ``sum(IG) - (F(x) - F(x'))``: zero for exact integration."""
        return self.total - (self.predictions - self.baseline_predictions)


def _path_points(steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Path positions ``a`` (S,) and quadrature weights (S,) summing to 1."""
    if steps < 1:
        raise VarbindError(f"--ig-steps must be at least 1, got {steps}")
    if rule == "midpoint":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "riemann_right":
        return np.arange(1, steps + 1) / steps, np.full(steps, 1.0 / steps)
    if rule == "trapezoid":
        w = np.full(steps + 1, 1.0 / steps)
        w[[0, -1]] /= 2
        return np.arange(steps + 1) / steps, w
    raise VarbindError(f"unknown IG rule {rule!r}", fix=f"choose one of {', '.join(IG_RULES)}")


def integrated_gradients(model, arrays: Sequence[np.ndarray], baselines: Sequence[np.ndarray],
                         targets: Sequence[int], steps: int = 50, rule: str = "midpoint",
                         batch_size: int = 1024) -> IGResult:
    """Integrated gradients, all path steps of a chunk of windows in one batch.

    Parameters
    ----------
    arrays : model inputs, each (N, ...)
    baselines : one per input, (...) or (N, ...); None holds that input at its value (its
        attribution is 0)
    targets : output columns to explain (T,)
    steps : path points; rule : ``midpoint`` (default: second-order accurate, same cost as the
        paper's right Riemann sum), ``riemann_right`` (Sundararajan et al.) or ``trapezoid``
    batch_size : rows per model call (windows per chunk = batch_size // (steps + 2))
    """
    alphas, weights = _path_points(steps, rule)
    alphas = np.concatenate([alphas, [1.0, 0.0]])  # end points give F(x) and F(x')
    weights = np.concatenate([weights, [0.0, 0.0]])
    n_rows = len(alphas)
    n = len(arrays[0])
    base = [a if b is None else np.broadcast_to(np.asarray(b, np.float32), a.shape)
            for a, b in zip(arrays, baselines, strict=True)]
    per_chunk = max(1, batch_size // n_rows)
    t = len(targets)
    attrs = [np.zeros((t, *a.shape), np.float32) for a in arrays]
    preds = np.zeros((t, n), np.float32)
    base_preds = np.zeros((t, n), np.float32)
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        k = stop - start
        diffs = [a[start:stop] - b[start:stop] for a, b in zip(arrays, base, strict=True)]
        path = []
        for b, d in zip(base, diffs, strict=True):
            shape = (1, n_rows) + (1,) * (d.ndim - 1)
            pts = b[start:stop, None] + alphas.reshape(shape).astype(np.float32) * d[:, None]
            path.append(pts.reshape(k * n_rows, *d.shape[1:]))  # (k * S, ...) window-major
        res = gradients(model, path, targets)
        y = res.predictions[:, list(targets)].reshape(k, n_rows, t)
        preds[:, start:stop] = y[:, -2].T
        base_preds[:, start:stop] = y[:, -1].T
        for i, (g, d) in enumerate(zip(res.grads, diffs, strict=True)):
            g = g.reshape(t, k, n_rows, *d.shape[1:])  # (T, k, S, ...)
            mean_grad = np.tensordot(g, weights.astype(np.float32), axes=([2], [0]))
            attrs[i][:, start:stop] = mean_grad * d[None]
    return IGResult(attrs, preds, base_preds)


# ----------------------------------------------------------------------------- GradCAM


def _is_conv1d(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.Conv1D) or type(layer).__name__ in (
        "Conv1D", "SeparableConv1D", "DepthwiseConv1D")


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def find_layer(model, name: str):
    """A layer by name anywhere in ``model`` (nested sub-models included)."""
    for layer in _all_layers(model):
        if layer.name == name:
            return layer
    convs = [la.name for la in _all_layers(model) if _is_conv1d(la)]
    raise VarbindError(f"the model has no layer named {name!r}",
                       fix=f"--gradcam-layer takes one of its Conv1D layers: {', '.join(convs)}")


def _input_ancestors(tensor) -> set[int]:
    """ids of the input tensors (of ``tensor``'s own graph) that ``tensor`` depends on."""
    found, queue, seen = set(), [tensor], set()
    while queue:
        t = queue.pop()
        history = getattr(t, "_keras_history", None)
        if history is None or id(t) in seen:
            continue
        seen.add(id(t))
        op, node_index, _ = history
        node = op._inbound_nodes[node_index]
        if type(op).__name__ == "InputLayer" or not node.input_tensors:
            found.add(id(t))
        queue.extend(node.input_tensors)
    return found


def _last_conv_before(tensor, graph, seq_index: int | None):
    """Breadth-first walk back from ``tensor`` in ``graph`` (a functional model); the first
    Conv1D met (closest to the output) whose output depends on the sequence input only, so
    that its positions are sequence positions (DeepRiPe's merged sequence+region conv is
    skipped for its sequence-branch conv). Nested models are searched from their outputs."""
    allowed = None
    if seq_index is not None and seq_index < len(graph.inputs):
        allowed = {id(graph.inputs[seq_index])}
    queue = [tensor]
    seen = set()
    while queue:
        t = queue.pop(0)
        history = getattr(t, "_keras_history", None)
        if history is None:
            continue
        op, node_index, tensor_index = history
        key = (id(op), node_index)
        if key in seen:
            continue
        seen.add(key)
        node = op._inbound_nodes[node_index]
        if _is_conv1d(op) and (allowed is None or _input_ancestors(t) <= allowed):
            return op
        if hasattr(op, "outputs") and hasattr(op, "layers"):  # nested model
            inner = _last_conv_before(op.outputs[tensor_index], op, seq_index)
            if inner is not None:
                return inner
        queue.extend(node.input_tensors)
    return None


def _column_source(tensor, column: int):
    """Follow output column ``column`` back through last-axis concatenations (joined per-RBP
    models end in one), returning the tensor that computes it."""
    while True:
        history = getattr(tensor, "_keras_history", None)
        if history is None or type(history[0]).__name__ != "Concatenate":
            return tensor
        op, node_index, _ = history
        if op.axis not in (-1, len(tensor.shape) - 1):
            return tensor
        for part in op._inbound_nodes[node_index].input_tensors:
            width = int(part.shape[-1])
            if column < width:
                tensor = part
                break
            column -= width
        else:
            return tensor


def _declared_layer(model, arch: str | None, rbp: str | None, allowed):
    """The architecture's own GradCAM feature map
    (:func:`varbind.model.architectures.last_conv_layer`, e.g. Multi-resBind's residual output,
    POLARIS's ``<RBP>.conv2`` in joined models) when the model has it and it sees only the
    sequence input."""
    from varbind.model.architectures import ARCHITECTURES, last_conv_layer

    if arch not in ARCHITECTURES:
        return None
    names = ([last_conv_layer(arch, f"{rbp}.")] if rbp else []) + [last_conv_layer(arch)]
    for name in names:
        layer = next((la for la in model.layers if la.name == name), None)
        if layer is not None and (allowed is None or _input_ancestors(layer.output) <= allowed):
            return layer
    return None


def gradcam_layers(model, targets: Sequence[int], name: str | None = None,
                   seq_index: int | None = None, arch: str | None = None,
                   rbps: Sequence[str] | None = None) -> dict:
    """Which layer GradCAM uses for each target: ``{layer: [targets]}``.

    With ``name`` the named layer serves all targets. Otherwise, for each target: the
    architecture's declared feature map when the model has it (``arch``, ``rbps`` from the
    bundle), else the last Conv1D before its output column that sees only the sequence input
    (model input ``seq_index``; None: any). A multi-label model gets one layer; joined
    per-RBP models give each RBP its own.
    """
    if name is not None:
        layer = find_layer(model, name)
        return {layer: list(targets)}
    widths = [int(np.prod(o.shape[1:])) for o in model.outputs]
    owner = np.repeat(np.arange(len(widths)), widths)
    first = np.concatenate([[0], np.cumsum(widths)[:-1]])
    allowed = None
    if seq_index is not None and seq_index < len(model.inputs):
        allowed = {id(model.inputs[seq_index])}
    groups: dict = {}
    for target in targets:
        out = int(owner[target])
        rbp = rbps[target] if rbps is not None and target < len(rbps) else None
        layer = _declared_layer(model, arch, rbp, allowed)
        if layer is None:
            source = _column_source(model.outputs[out], int(target - first[out]))
            layer = _last_conv_before(source, model, seq_index)
        if layer is None:
            raise VarbindError("GradCAM needs a Conv1D layer over the sequence and the model "
                               f"has none before output {target}",
                               fix="explain with --explain ig instead")
        groups.setdefault(layer, []).append(target)
    return groups


def stretch(maps: np.ndarray, length: int, position_map: tuple[float, float] | None = None
            ) -> np.ndarray:
    """Coarse maps (..., L') to input length (..., length) by linear interpolation.

    position_map : ``(a, b)``: the coarse map's index ``j`` is centred on input position
        ``a * j + b`` (from :func:`position_map`); None resizes with pixel centres aligned, as
        image GradCAM does. Positions beyond the first/last centre take the edge value.
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
    """Input position of output 0's window centre for a conv/pool layer."""
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
    layer's output) is centred on input position ``a * j + b``, found by walking its layers
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
        a, b, field = parents[0]  # parent position p is centred on input a * p + b, and this
        # layer's position j on parent position s * j + offset
        return a * s, a * offset + b, field + (k - 1) * d * int(a)
    return None


def _layer_walk(layer) -> tuple[float, float, int] | None:
    """:func:`_walk_positions` of a layer's output; None for a layer never called symbolically."""
    try:
        return _walk_positions(layer.output)
    except (AttributeError, ValueError):
        return None


@dataclass
class GradCAMResult:
    """GradCAM maps of ``T`` targets for ``N`` windows.

    maps : (T, N, L) float32, stretched to the sequence input length, >= 0
    coarse : list over targets of (N, L') maps at the layer's resolution
    predictions : (T, N) the target outputs
    layers : (T,) layer names used
    fields : (T,) receptive field of one position of each layer, in nt (0: unknown)
    strides : (T,) nt of input per position of each layer's map (1 at full resolution)
    """

    maps: np.ndarray
    coarse: list[np.ndarray]
    predictions: np.ndarray
    layers: list[str]
    fields: list[int]
    strides: list[float]


def gradcam(model, arrays: Sequence[np.ndarray], targets: Sequence[int], length: int,
            layer: str | None = None, batch_size: int = 256,
            seq_index: int | None = None, arch: str | None = None,
            rbps: Sequence[str] | None = None, logit: bool = False) -> GradCAMResult:
    """GradCAM maps (POLARIS eqs. 1-2) for output columns ``targets``.

    Parameters
    ----------
    arrays : model inputs, each (N, ...); length : the sequence input length L
    layer : a layer name, or None for the default of :func:`gradcam_layers` (``seq_index``,
        ``arch`` and ``rbps`` refine it)
    logit : the outputs are sigmoid probabilities ``p``; take GradCAM of the logit, the score
        before the sigmoid (as Selvaraju et al. take the score before the softmax):
        ``d logit / dA = (dp / dA) / (p (1 - p))``, so every window's map is divided by its
        ``p (1 - p)``. Without it a saturated window's map shrinks with ``p (1 - p)``, and the
        maps of a ref and an alt window do not compare.
    """
    targets = list(targets)
    n = len(arrays[0])
    maps = np.zeros((len(targets), n, length), np.float32)
    coarse: list = [None] * len(targets)
    preds = np.zeros((len(targets), n), np.float32)
    names = [""] * len(targets)
    fields = [0] * len(targets)
    strides = [1.0] * len(targets)
    for conv, group in gradcam_layers(model, targets, layer, seq_index, arch, rbps).items():
        rows = [targets.index(t) for t in group]
        parts: list[list[np.ndarray]] = [[] for _ in group]
        for start in range(0, n, batch_size):
            chunk = [a[start:start + batch_size] for a in arrays]
            res = gradients(model, chunk, group, layer=conv)
            acts = res.activations  # (n, L', C)
            for j, g in enumerate(res.grads[0]):  # g: (n, L', C)
                alpha = g.mean(axis=1)  # (n, C): eq. 1
                if logit:
                    p = np.clip(res.predictions[:, group[j]].astype(np.float64), 1e-7, 1 - 1e-7)
                    alpha = alpha / (p * (1 - p))[:, None]
                cam = np.maximum(np.einsum("nlc,nc->nl", acts, alpha), 0.0)  # eq. 2
                parts[j].append(cam.astype(np.float32))
            preds[rows, start:start + len(chunk[0])] = res.predictions[:, group].T
        walked = _layer_walk(conv)
        placement = None if walked is None else walked[:2]
        for j, row in enumerate(rows):
            coarse[row] = np.concatenate(parts[j]) if parts[j] else np.zeros((0, 0), np.float32)
            maps[row] = stretch(coarse[row], length, placement) if n else maps[row]
            names[row] = conv.name
            fields[row] = 0 if walked is None else walked[2]
            width = coarse[row].shape[-1]
            strides[row] = walked[0] if walked else (length / width if width else 1.0)
    return GradCAMResult(maps, coarse, preds, names, fields, strides)


# ----------------------------------------------------------------------------- ISM


def ism(model, arrays: Sequence[np.ndarray], slot: SequenceSlot, targets: Sequence[int],
        batch_size: int = 512) -> np.ndarray:
    """In-silico mutagenesis over the sequence input.

    Returns
    -------
    (T, N, L, 4) float32: ``F(x with base b at i) - F(x)``, zero at the wild-type base.
    Positions whose wild-type row is not one-hot (N) are mutated too.
    """
    targets = list(targets)
    n = len(arrays[0])
    length = slot.length
    out = np.zeros((len(targets), n, length, 4), np.float32)
    wild = predict_arrays(model, arrays, batch_size)[:, targets]  # (N, T)
    chans = list(slot.channels)
    for w in range(n):
        mutants = [np.repeat(a[w:w + 1], length * 4, axis=0) for a in arrays]
        seq = mutants[slot.input_index]  # (4L, L, C)
        rows = np.arange(length * 4)
        pos, base = rows // 4, rows % 4
        for b in range(4):
            seq[rows, pos, chans[b]] = (base == b).astype(np.float32)
        y = predict_arrays(model, mutants, batch_size)[:, targets]  # (4L, T)
        out[:, w] = (y - wild[w]).T.reshape(len(targets), length, 4)
        wild_base = arrays[slot.input_index][w][:, chans] == 1  # (L, 4)
        out[:, w][:, wild_base] = 0.0  # the unmutated sequence: exactly no change
    return out


# ----------------------------------------------------------------------------- variants

METHODS = ("ig", "gradcam", "ism")


@dataclass(frozen=True)
class VariantSite:
    """One scored allele on one strand, as the scoring core normalised it.

    label : e.g. ``chr1:12345:A>G`` (VCF coordinates); chrom; start, end, inserted: the event
    (reference ``[start, end)`` 0-based replaced by ``inserted``); strand : ``+``/``-``
    """

    label: str
    chrom: str
    start: int
    end: int
    inserted: str
    strand: str


@dataclass
class ExplainOptions:
    """What to compute for each variant x RBP (the ``--explain*`` flags)."""

    methods: tuple[str, ...] = ("ig", "gradcam")
    ig_steps: int = 50
    ig_baseline: str = "auto"
    ig_rule: str = "midpoint"
    gradcam_layer: str | None = None
    flank: int = 10
    batch_size: int = 1024
    alpha: float = 0.9
    height: float = 1.0
    min_score: float = 0.5
    motif_pad: int | None = None  # nt of slack for a motif to touch the variant; None:
    # TOUCH_POSITIONS positions of the GradCAM map (3 nt at full resolution, 12 at stride 4)


@dataclass
class VariantExplanation:
    """Attribution of one variant for one RBP, ref and alt windows of the model's length L.

    ref_seq, alt_seq : (L,) uint8 codes; ref_coord, alt_coord : (L,) genome coordinates
    (-1 inserted); region : (L,) int8 classes of the ref window or None;
    ig_ref, ig_alt : (L, 4) IG over the sequence channels (ACGT) or None; ig_gap : (2,)
    completeness gaps ``sum IG - (F(x) - F(x'))`` for ref, alt; gradcam_ref, gradcam_alt : (L,);
    gradcam_layer, gradcam_field, gradcam_stride : the GradCAM layer, its receptive field in
    nt (0 unknown) and the nt per position of its map;
    ism_ref, ism_alt : (L, 4); ref_score, alt_score : the model's outputs;
    clusters_ref, clusters_alt : GradCAM motif clusters; motif_call : the call at the variant;
    ig_at_variant, ig_max_delta, ig_max_offset : :class:`varbind.align.DiffSummary` of dIG;
    known_motif : best-matching known motif of the ref (LOST) or alt (GAINED) motif at the
    variant, ``RBP:ID`` or ""
    """

    site: VariantSite
    rbp: str
    model: str
    ref_seq: np.ndarray
    alt_seq: np.ndarray
    ref_coord: np.ndarray
    alt_coord: np.ndarray
    region: np.ndarray | None
    ref_score: float
    alt_score: float
    ig_ref: np.ndarray | None = None
    ig_alt: np.ndarray | None = None
    ig_gap: np.ndarray | None = None
    gradcam_ref: np.ndarray | None = None
    gradcam_alt: np.ndarray | None = None
    gradcam_layer: str = ""
    gradcam_field: int = 0
    gradcam_stride: float = 1.0
    ism_ref: np.ndarray | None = None
    ism_alt: np.ndarray | None = None
    clusters_ref: list | None = None
    clusters_alt: list | None = None
    motif_call: str = ""  # "" when GradCAM was not computed
    known_motif: str = ""
    ig_at_variant: float = float("nan")
    ig_max_delta: float = float("nan")
    ig_max_offset: int = 0


def site_indices(coord: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """``[lo, hi)`` window indices of the variant in a window with coordinates ``coord`` (L,):
    the event's reference bases and inserted bases; for an empty block (a deletion's alt, an
    insertion's ref) the two bases around the junction."""
    hit = np.flatnonzero((coord < 0) | ((coord >= start) & (coord < end)))
    if len(hit) == 0:
        hit = np.flatnonzero((coord == start - 1) | (coord == end))
    if len(hit) == 0:
        return (len(coord) // 2, len(coord) // 2 + 1)
    return int(hit.min()), int(hit.max()) + 1


def explain_variants(bundle, ref, alt, sites: Sequence[VariantSite],
                     pairs: Sequence[tuple[int, str]],
                     options: ExplainOptions | None = None) -> list[VariantExplanation]:
    """Attribution for variant x RBP pairs with one model.

    Parameters
    ----------
    bundle : :class:`varbind.bundle.ModelBundle`
    ref, alt : :class:`varbind.inputs.WindowBatch` of N rows each, row ``i`` the ref and alt
        windows of ``sites[i]`` (the scoring core's windows, centred on the event)
    sites : N :class:`VariantSite`
    pairs : ``(row, rbp)`` to explain; ``rbp`` must be one of the bundle's RBPs
    options : :class:`ExplainOptions`

    Returns
    -------
    one :class:`VariantExplanation` per pair, in the order of ``pairs``.
    """
    from varbind.align import align_maps, allele_coordinates, summarize_diff, variant_mask
    from varbind.gradcam_motifs import call_motif_change, cluster_map
    from varbind.inputs import build_inputs, crop_center

    options = options or ExplainOptions()
    unknown = [m for m in options.methods if m not in METHODS]
    if unknown:
        raise VarbindError(f"unknown --explain method {', '.join(unknown)}",
                           fix=f"choose from {', '.join(METHODS)}")
    specs = bundle.meta.inputs
    slot = sequence_slot(specs)
    length = slot.length
    width = ref.seq.shape[1]
    out: dict[int, VariantExplanation] = {}
    by_rbp: dict[str, list[int]] = {}
    for p, (_, rbp) in enumerate(pairs):
        if rbp not in bundle.meta.rbps:
            raise VarbindError(f"model {bundle.name} does not predict {rbp}")
        by_rbp.setdefault(rbp, []).append(p)
    for rbp, members in by_rbp.items():
        target = bundle.meta.rbps.index(rbp)
        rows = np.array([pairs[p][0] for p in members])
        both = _stack_rows(ref, alt, rows)  # 2n windows: ref rows then alt rows
        arrays = build_inputs(specs, both)
        n = len(rows)
        ig = cam = mut = None
        if "ig" in options.methods:
            base = baseline_arrays(specs, options.ig_baseline, bundle, rbp)
            ig = integrated_gradients(bundle.model, arrays, base, [target], options.ig_steps,
                                      options.ig_rule, options.batch_size)
            scores = ig.predictions[0]
        if "gradcam" in options.methods:
            cam = gradcam(bundle.model, arrays, [target], length, options.gradcam_layer,
                          max(1, options.batch_size // 4), slot.input_index,
                          bundle.meta.architecture, bundle.meta.rbps,
                          logit=bundle.meta.output == "sigmoid")
            scores = cam.predictions[0]
        if "ism" in options.methods:
            mut = ism(bundle.model, arrays, slot, [target], options.batch_size)[0]
        if ig is None and cam is None:
            scores = predict_arrays(bundle.model, arrays, options.batch_size)[:, target]
        seqs = crop_center(both.seq, length)
        region = None  # per-position classes under the sequence, for plots
        if both.region is not None and both.region.shape[1] >= length:
            region = crop_center(both.region, length)
        for j, p in enumerate(members):
            site = sites[pairs[p][0]]
            ref_c = crop_center(allele_coordinates(site.start, site.end, None, site.strand,
                                                   width)[None], length)[0]
            alt_c = crop_center(allele_coordinates(site.start, site.end, site.inserted,
                                                   site.strand, width)[None], length)[0]
            ex = VariantExplanation(site=site, rbp=rbp, model=bundle.name, ref_seq=seqs[j],
                                    alt_seq=seqs[n + j], ref_coord=ref_c, alt_coord=alt_c,
                                    region=None if region is None else region[j],
                                    ref_score=float(scores[j]), alt_score=float(scores[n + j]))
            if ig is not None:
                seq_attr = ig.attributions[slot.input_index][0][..., list(slot.channels)]
                ex.ig_ref, ex.ig_alt = seq_attr[j], seq_attr[n + j]
                gap = ig.completeness_gap[0]
                ex.ig_gap = np.array([gap[j], gap[n + j]], np.float32)
                aligned = align_maps(ex.ig_ref.sum(-1), ref_c, ex.ig_alt.sum(-1), alt_c,
                                     site.strand)
                summary = summarize_diff(aligned, variant_mask(aligned, site.start, site.end),
                                         options.flank)
                ex.ig_at_variant, ex.ig_max_delta = summary.at_variant, summary.max_abs
                ex.ig_max_offset = summary.max_offset
            if cam is not None:
                ex.gradcam_ref, ex.gradcam_alt = cam.maps[0][j], cam.maps[0][n + j]
                ex.gradcam_layer, ex.gradcam_field = cam.layers[0], cam.fields[0]
                ex.gradcam_stride = cam.strides[0]
                _call_motifs(ex, options, cluster_map, call_motif_change)
            if mut is not None:
                ex.ism_ref, ex.ism_alt = mut[j], mut[n + j]
            out[p] = ex
    return [out[p] for p in range(len(pairs))]


def _call_motifs(ex: VariantExplanation, options: ExplainOptions, cluster_map,
                 call_motif_change) -> None:
    from varbind.gradcam_motifs import (
        base_composition,
        match_span,
        rank_known_motifs,
        span_sequences,
        touch_pad,
    )

    kwargs = dict(alpha=options.alpha, height=options.height, min_score=options.min_score)
    both = (cluster_map(ex.gradcam_ref, **kwargs), cluster_map(ex.gradcam_alt, **kwargs))
    ex.clusters_ref = [c for c in both[0] if c.is_motif]
    ex.clusters_alt = [c for c in both[1] if c.is_motif]
    ref_site = site_indices(ex.ref_coord, ex.site.start, ex.site.end)
    alt_site = site_indices(ex.alt_coord, ex.site.start, ex.site.end)
    call = call_motif_change(ex.gradcam_ref, ex.gradcam_alt, ref_site, alt_site, **kwargs,
                             pad=touch_pad(ex.gradcam_stride, options.motif_pad),
                             clusters=both)
    ex.motif_call = call.call
    hit, codes = (call.ref, ex.ref_seq) if call.ref is not None else (call.alt, ex.alt_seq)
    if hit is not None:
        wide = match_span(hit, ex.gradcam_field, len(codes))
        ranked = rank_known_motifs(span_sequences(codes, [wide]), _known_motifs(),
                                   background=base_composition(codes))
        ex.known_motif = f"{ranked[0][0]}:{ranked[0][1]}" if ranked else ""


_MOTIF_CACHE: list = []


def _known_motifs():
    if not _MOTIF_CACHE:
        from varbind.motifs import read_meme

        _MOTIF_CACHE.extend(read_meme())
    return _MOTIF_CACHE


def _stack_rows(ref, alt, rows: np.ndarray):
    """WindowBatch of ``ref[rows]`` followed by ``alt[rows]``."""
    from varbind.inputs import WindowBatch

    def pick(a, b):
        return None if a is None or b is None else np.concatenate([a[rows], b[rows]])

    return WindowBatch(seq=pick(ref.seq, alt.seq), region=pick(ref.region, alt.region),
                       expression=pick(ref.expression, alt.expression),
                       structure=pick(ref.structure, alt.structure),
                       pairs=pick(ref.pairs, alt.pairs))
