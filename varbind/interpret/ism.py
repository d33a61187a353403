"""In-silico mutagenesis: ``F(x with base b at i) - F(x)`` for every position and base."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from varbind.interpret.baselines import predict_arrays

if TYPE_CHECKING:
    from varbind.interpret.baselines import SequenceSlot


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
