"""Model inputs from canonical windows: the one place training and scoring build tensors.

A model bundle's ``model.json`` lists its Keras inputs in order (:class:`InputSpec`). Each
input is ``per_position`` (shape ``(L, C)``: channels of sequence, viewpoint, region classes,
structure, concatenated in the order declared) or ``side`` (shape ``(C,)``: the region class at the
window center, or the expression value). :func:`build_inputs` turns a :class:`WindowBatch`
into the list of arrays the Keras model takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from varbind.encoding import ALPHABET, one_hot, one_hot_regions

COMPONENT_KINDS = ("sequence", "viewpoint", "region", "structure", "expression", "pairs")
LAYOUTS = ("per_position", "side")


@dataclass(frozen=True)
class Component:
    """One part of a model input.

    kind : ``sequence`` | ``viewpoint`` | ``region`` | ``structure`` | ``expression`` | ``pairs``
    channels : sequence: alphabet letters in channel order (``"ACGT"``); viewpoint:
        ``["viewpoint"]`` (1 on the binding site, 0 on its flanks); region: class or group
        names in channel order; structure: ``["paired", "unpaired"]``; expression:
        ``["log1p_tpm"]``; pairs: the RNA graph of :mod:`varbind.model.rna_graph`.
    unknown : sequence only; the row for N, ``zeros`` or ``uniform``.
    span : viewpoint only; the central bases marked as the binding site when a batch carries
        no viewpoint of its own (a variant's window when scoring): the training records'
        median viewpoint length.
    """

    kind: str
    channels: tuple[str, ...]
    unknown: str = "zeros"
    span: int = 0

    @property
    def width(self) -> int:
        return len(self.channels)

    def to_json(self) -> dict:
        out = {"kind": self.kind, "channels": list(self.channels)}
        if self.kind == "sequence":
            out["unknown"] = self.unknown
        if self.kind == "viewpoint":
            out["span"] = self.span
        return out

    @classmethod
    def from_json(cls, d: dict) -> Component:
        if d.get("kind") not in COMPONENT_KINDS:
            raise ValueError(f"component kind must be one of {COMPONENT_KINDS}, "
                             f"got {d.get('kind')!r}")
        return cls(kind=d["kind"], channels=tuple(d["channels"]),
                   unknown=d.get("unknown", "zeros"), span=int(d.get("span", 0)))


@dataclass(frozen=True)
class InputSpec:
    """One Keras model input.

    name : the Keras input's name
    layout : ``per_position`` -> array (N, length, C); ``side`` -> array (N, C)
    length : window length for per_position inputs (None for side inputs)
    components : the parts, concatenated along the channel axis in this order
    """

    name: str
    layout: str
    components: tuple[Component, ...]
    length: int | None = None

    @property
    def width(self) -> int:
        return sum(c.width for c in self.components)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.length, self.width) if self.layout == "per_position" else (self.width,)

    def kinds(self) -> set[str]:
        return {c.kind for c in self.components}

    def to_json(self) -> dict:
        out = {"name": self.name, "layout": self.layout,
               "components": [c.to_json() for c in self.components]}
        if self.length is not None:
            out["length"] = self.length
        return out

    @classmethod
    def from_json(cls, d: dict) -> InputSpec:
        if d.get("layout") not in LAYOUTS:
            raise ValueError(f"input layout must be one of {LAYOUTS}, got {d.get('layout')!r}")
        return cls(name=d["name"], layout=d["layout"], length=d.get("length"),
                   components=tuple(Component.from_json(c) for c in d["components"]))


@dataclass
class WindowBatch:
    """Canonical windows on the transcript strand, center base at index ``L // 2``.

    seq : (N, Ls) uint8 nucleotide codes
    region : (N, Lr) int8 region class codes, or None
    expression : (N,) float32 log1p TPM of the gene, or None
    structure : (N, Ls, 2) float32 paired/unpaired probabilities, or None
    pairs : (N, Ls, 3) float32 RNA graph channels (:mod:`varbind.model.rna_graph`), or None
    viewpoint : (N, Ls) uint8, 1 on each window's binding site (GraphProt's upper-case
        viewpoint of a training record), or None: a model input then marks the central span
        its component declares
    """

    seq: np.ndarray
    region: np.ndarray | None = None
    expression: np.ndarray | None = None
    structure: np.ndarray | None = None
    pairs: np.ndarray | None = None
    viewpoint: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.seq)


def crop_center(arr: np.ndarray, length: int) -> np.ndarray:
    """Crop axis 1 of ``arr`` (N, Lw, ...) to ``length`` keeping the center at ``length // 2``."""
    width = arr.shape[1]
    if length > width:
        raise ValueError(f"window of {width} is shorter than the input length {length}")
    start = width // 2 - length // 2
    return arr[:, start:start + length]


def required_lengths(specs: list[InputSpec]) -> dict[str, int]:
    """Widest per-position window each kind needs: ``{"sequence": Ls, "region": Lr, ...}``.

    A side region needs a window of 1 (its center).
    """
    need: dict[str, int] = {}
    for spec in specs:
        length = spec.length if spec.layout == "per_position" else 1
        for comp in spec.components:
            if comp.kind != "expression":
                need[comp.kind] = max(need.get(comp.kind, 0), length)
    return need


def _sequence_channels(codes: np.ndarray, comp: Component) -> np.ndarray:
    onehot = one_hot(codes, unknown=comp.unknown)  # (N, L, 4) in ACGT order
    order = [ALPHABET.index("T" if letter in "TU" else letter) for letter in comp.channels]
    return onehot[..., order] if order != [0, 1, 2, 3] else onehot


def central_span(n: int, length: int, span: int) -> np.ndarray:
    """(n, length) uint8 with 1 on ``span`` bases from ``length // 2 - span // 2``: where
    ``varbind dataset`` places a training record's viewpoint of that length."""
    out = np.zeros((n, length), np.uint8)
    start = max(0, length // 2 - span // 2)
    out[:, start:min(length, start + span)] = 1
    return out


def _viewpoint_channel(comp: Component, batch: WindowBatch, spec: InputSpec) -> np.ndarray:
    if batch.viewpoint is not None:
        mask = crop_center(batch.viewpoint, spec.length)
    else:
        mask = central_span(len(batch), spec.length, comp.span)
    return mask[..., None].astype(np.float32)


def _component_array(comp: Component, batch: WindowBatch, spec: InputSpec) -> np.ndarray:
    per_position = spec.layout == "per_position"
    if comp.kind == "sequence":
        return _sequence_channels(crop_center(batch.seq, spec.length), comp)
    if comp.kind == "viewpoint":
        return _viewpoint_channel(comp, batch, spec)
    if comp.kind == "region":
        if batch.region is None:
            raise ValueError(f"input {spec.name!r} needs region classes; the batch has none")
        if per_position:
            return one_hot_regions(crop_center(batch.region, spec.length), comp.channels)
        center = batch.region[:, batch.region.shape[1] // 2]
        return one_hot_regions(center, comp.channels)
    if comp.kind == "structure":
        if batch.structure is None:
            raise ValueError(f"input {spec.name!r} needs structure; the batch has none")
        return crop_center(batch.structure, spec.length).astype(np.float32)
    if comp.kind == "pairs":
        if batch.pairs is None:
            raise ValueError(f"input {spec.name!r} needs the RNA graph; the batch has none")
        return crop_center(batch.pairs, spec.length).astype(np.float32)
    if comp.kind == "expression":
        if batch.expression is None:
            raise ValueError(f"input {spec.name!r} needs expression; the batch has none")
        expr = np.asarray(batch.expression, dtype=np.float32).reshape(-1, 1)
        if per_position:
            return np.repeat(expr[:, None, :], spec.length, axis=1)
        return expr
    raise ValueError(f"unknown component kind {comp.kind!r}")


def build_inputs(specs: list[InputSpec], batch: WindowBatch) -> list[np.ndarray]:
    """Arrays for a Keras model, in the order of ``specs``.

    Returns
    -------
    list of float32 arrays: (N, length, C) for per_position inputs, (N, C) for side inputs.
    """
    arrays = []
    for spec in specs:
        parts = [_component_array(c, batch, spec) for c in spec.components]
        arrays.append(np.concatenate(parts, axis=-1).astype(np.float32, copy=False))
    return arrays
