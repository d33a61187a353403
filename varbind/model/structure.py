"""RNA secondary-structure channels: RNAplfold paired/unpaired probabilities (ViennaRNA).

Multi-resBind's and ResidualBind's optional structure input is a per-position (L, 2) profile
``[paired, unpaired]`` from RNAplfold, computed here through ViennaRNA's Python bindings
(``import RNA``; ``RNA.pfl_fold_up``). Following ResidualBind, the folding window ``W`` and
the maximum base-pair span ``L`` are the whole sequence for windows up to
:data:`FULL_FOLD_MAX` nt; longer windows use ``W = 150, L = 100`` (the cost grows as
``L**2`` per base).

Profiles are computed in batches (optionally across processes) and cached in memory per
sequence and, with ``cache_dir``, on disk per batch, so a training set or a variant's
reference window is folded once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from varbind.model.inputs import WindowBatch

log = logging.getLogger(__name__)

FULL_FOLD_MAX = 200
LONG_WINDOW = 150
LONG_SPAN = 100
_RNA_LETTERS = np.frombuffer(b"ACGUN", dtype=np.uint8)


def fold_parameters(length: int, window: int | None = None,
                    span: int | None = None) -> tuple[int, int]:
    """RNAplfold ``(W, L)`` for a sequence of ``length`` nt (explicit values win)."""
    if length <= FULL_FOLD_MAX:
        w, s = length, length
    else:
        w, s = LONG_WINDOW, LONG_SPAN
    w = min(window or w, length)
    s = min(span or s, w)
    return w, s


def codes_to_rna(codes: np.ndarray) -> str:
    """Nucleotide codes (L,) to an RNA string (``ACGUN``)."""
    return _RNA_LETTERS[np.asarray(codes, dtype=np.intp)].tobytes().decode("ascii")


def unpaired_probabilities(seq: str, window: int | None = None,
                           span: int | None = None) -> np.ndarray:
    """RNAplfold probability that each base is unpaired.

    Parameters
    ----------
    seq : RNA or DNA string, length L (N bases cannot pair)

    Returns
    -------
    np.ndarray, shape (L,), float32 in [0, 1]
    """
    import RNA

    if not seq:
        return np.zeros(0, dtype=np.float32)
    w, s = fold_parameters(len(seq), window, span)
    up = RNA.pfl_fold_up(seq.upper().replace("T", "U"), 1, w, s)  # 1-based, up[i][1]
    out = np.array([up[i][1] for i in range(1, len(seq) + 1)], dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def _profile_one(args) -> np.ndarray:
    codes, window, span = args
    unpaired = unpaired_probabilities(codes_to_rna(codes), window, span)
    return np.stack([1.0 - unpaired, unpaired], axis=-1).astype(np.float32)  # (L, 2)


class StructureProfiler:
    """Batched, cached RNAplfold profiles.

    Parameters
    ----------
    window, span : RNAplfold ``-W`` / ``-L``; None for :func:`fold_parameters`' choice
    cache_dir : folder for on-disk batch caches (``.npy`` named by a digest of the batch's
        codes and the parameters); None keeps the cache in memory only
    processes : worker processes for large batches (1 folds in this process)
    memory_items : sequences kept in the in-memory cache
    """

    def __init__(self, window: int | None = None, span: int | None = None,
                 cache_dir: str | os.PathLike | None = None, processes: int = 1,
                 memory_items: int = 100_000):
        self.window, self.span = window, span
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.processes = max(1, int(processes))
        self.memory_items = memory_items
        self._memory: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.folded = 0  # sequences folded (not served from a cache)

    def _key(self, codes: np.ndarray) -> str:
        h = hashlib.sha1(np.ascontiguousarray(codes, dtype=np.uint8).tobytes())
        h.update(f"{codes.shape}|{self.window}|{self.span}".encode())
        return h.hexdigest()

    def profiles(self, codes: np.ndarray) -> np.ndarray:
        """Structure channels for windows.

        Parameters
        ----------
        codes : (N, L) uint8 nucleotide codes on the transcript strand

        Returns
        -------
        np.ndarray, shape (N, L, 2) float32: ``[paired, unpaired]`` probabilities
        """
        codes = np.asarray(codes, dtype=np.uint8)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
        disk = self.cache_dir / f"plfold-{self._key(codes)}.npy" if self.cache_dir else None
        if disk is not None and disk.exists():
            return np.load(disk)
        out = np.zeros(codes.shape + (2,), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}  # each distinct uncached window, folded once
        for i, row in enumerate(codes):
            key = row.tobytes()
            hit = self._memory.get(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
        if todo:
            jobs = [(codes[rows[0]], self.window, self.span) for rows in todo.values()]
            if self.processes > 1 and len(jobs) >= 4 * self.processes:
                from multiprocessing import get_context

                with get_context("spawn").Pool(self.processes) as pool:
                    results = pool.map(_profile_one, jobs, chunksize=16)
            else:
                results = [_profile_one(job) for job in jobs]
            for (key, rows), prof in zip(todo.items(), results, strict=True):
                out[rows] = prof
                self._remember(key, prof)
            self.folded += len(todo)
        if disk is not None:
            disk.parent.mkdir(parents=True, exist_ok=True)
            tmp = disk.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, out)
            os.replace(tmp, disk)
        return out

    def _remember(self, key: bytes, prof: np.ndarray) -> None:
        self._memory[key] = prof
        if len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def add_structure(self, batch: WindowBatch) -> WindowBatch:
        """Fill ``batch.structure`` (N, Ls, 2) from ``batch.seq`` if it is missing."""
        if batch.structure is None:
            log.debug("folding %d windows of %d nt with RNAplfold", *batch.seq.shape)
            batch.structure = self.profiles(batch.seq)
        return batch
