"""Which layer GradCAM reads for each output column: the architecture's declared
feature map, else the last Conv1D before the output that sees only the sequence input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from varbind.errors import VarbindError


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
