"""GradCAM (Selvaraju et al. 2017; POLARIS): ``map = ReLU(sum_k alpha_k A_k)`` over the
chosen feature map, ``alpha_k`` the mean over positions of ``dy/dA_k``; one forward and one
backward pass per RBP; the map is brought to the sequence length (:mod:`.receptive`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from varbind.interpret.gradcam_layers import gradcam_layers
from varbind.interpret.gradients import gradients
from varbind.interpret.receptive import layer_walk, stretch


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
        walked = layer_walk(conv)
        placement = None if walked is None else walked[:2]
        for j, row in enumerate(rows):
            coarse[row] = np.concatenate(parts[j]) if parts[j] else np.zeros((0, 0), np.float32)
            maps[row] = stretch(coarse[row], length, placement) if n else maps[row]
            names[row] = conv.name
            fields[row] = 0 if walked is None else walked[2]
            width = coarse[row].shape[-1]
            strides[row] = walked[0] if walked else (length / width if width else 1.0)
    return GradCAMResult(maps, coarse, preds, names, fields, strides)
