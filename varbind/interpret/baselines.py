"""Where the sequence input of a model is (:class:`SequenceSlot`), forward passes on
prepared input arrays, and the reference inputs ('baselines') of integrated gradients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from varbind.errors import ModelBundleError, VarbindError
from varbind.model.inputs import InputSpec, central_span

BASELINES = ("zeros", "uniform", "bundle", "auto")


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
    """Forward pass in batches through :func:`varbind.scoring.predict.predict` (the one place that
    batches model calls); returns (N, K) float32, all output columns."""
    from varbind.scoring.predict import predict

    if len(arrays[0]) == 0:
        return np.zeros((0, _n_outputs(model)), np.float32)
    return np.asarray(predict(model, list(arrays), batch_size=batch_size), np.float32)


def _n_outputs(model) -> int:
    return sum(int(np.prod(o.shape[1:])) for o in model.outputs)


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
        DeepRiPe used for regions; 0 elsewhere); under both, a viewpoint channel keeps the
        central binding site that scoring marks; ``bundle`` (the bundle's ``meta.baselines[rbp]``:
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
        offset = 0
        for comp in spec.components:
            if kind == "uniform" and comp.kind in ("sequence", "region"):
                arr[..., offset:offset + comp.width] = 0.25
            if comp.kind == "viewpoint":  # held at the scored windows' own binding site
                arr[..., offset] = central_span(1, spec.length, comp.span)[0]
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
