"""RNA secondary-structure graphs for RNASSR-Net: backbone edges plus ViennaRNA MFE base pairs.

A window's graph has one node per base of the folded span (the window without its ``N``
padding at either end), backbone edges between neighbours of that span, and one edge per base
pair of the minimum-free-energy structure (``RNA.fold_compound(...).mfe()``, pairs spanning at
most :data:`MAX_BP_SPAN` nt, as RNAplfold's ``L``). Every base has at most one partner, so the
graph is held per position, crop-safe, as three channels ``(L, 3)``:

- ``partner_offset``: ``j - i`` for a base ``i`` paired with ``j``, 0 when unpaired;
- ``pair_weight``: 1 for a paired base, else 0;
- ``node``: 1 inside the folded span, 0 on padding (padding nodes have no edges).

:class:`PairFolder` folds batches of windows (optionally in a process pool) and caches the
result in memory and on disk per window (keyed by a digest of its codes), so a training set
or a variant's reference window is folded once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from varbind.encoding import N_CODE

log = logging.getLogger(__name__)

MAX_BP_SPAN = 100
PAIR_CHANNELS = ("partner_offset", "pair_weight", "node")
_RNA = np.frombuffer(b"ACGUN", dtype=np.uint8)


def partners(dot_bracket: str) -> np.ndarray:
    """Partner index of each base from a dot-bracket string (L,) int32, -1 when unpaired."""
    out = np.full(len(dot_bracket), -1, dtype=np.int32)
    stack: list[int] = []
    for i, c in enumerate(dot_bracket):
        if c == "(":
            stack.append(i)
        elif c == ")":
            j = stack.pop()
            out[i], out[j] = j, i
    return out


def mfe_structure(seq: str, max_span: int = MAX_BP_SPAN) -> str:
    """ViennaRNA minimum-free-energy structure (dot-bracket) of an RNA/DNA string."""
    import RNA

    md = RNA.md()
    md.max_bp_span = int(max_span)
    structure, _ = RNA.fold_compound(seq.upper().replace("T", "U"), md).mfe()
    return structure


def folded_span(codes: np.ndarray) -> tuple[int, int]:
    """``[lo, hi)`` of a window without its leading and trailing ``N`` padding."""
    real = np.flatnonzero(np.asarray(codes) != N_CODE)
    return (int(real[0]), int(real[-1]) + 1) if real.size else (0, 0)


def pair_channels(codes: np.ndarray, max_span: int = MAX_BP_SPAN) -> np.ndarray:
    """The graph channels of one window.

    Parameters
    ----------
    codes : (L,) uint8 nucleotide codes on the transcript strand

    Returns
    -------
    np.ndarray, shape (L, 3) float32: ``partner_offset``, ``pair_weight``, ``node``
    """
    codes = np.asarray(codes, dtype=np.uint8)
    out = np.zeros((len(codes), 3), dtype=np.float32)
    lo, hi = folded_span(codes)
    if hi - lo < 1:
        return out
    part = partners(mfe_structure(_RNA[codes[lo:hi]].tobytes().decode("ascii"), max_span))
    paired = part >= 0
    idx = np.arange(hi - lo)
    out[lo:hi, 0] = np.where(paired, part - idx, 0)
    out[lo:hi, 1] = paired
    out[lo:hi, 2] = 1.0
    return out


def _fold_one(args) -> np.ndarray:
    codes, max_span = args
    return pair_channels(codes, max_span)


def default_processes() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class PairFolder:
    """Batched, cached MFE graphs of windows.

    Parameters
    ----------
    cache_dir : folder holding ``rna-pairs.sqlite``, a cache of each window's partner offsets
        keyed by a digest of its codes and ``max_span`` (safe to share between processes);
        None keeps the cache in memory only
    processes : worker processes for 256 or more windows to fold (1: fold here)
    max_span : the longest base pair (nt)
    memory_items : windows kept in the in-memory cache
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, processes: int | None = None,
                 max_span: int = MAX_BP_SPAN, memory_items: int = 50_000):
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.processes = default_processes() if processes is None else max(1, int(processes))
        self.max_span = int(max_span)
        self.memory_items = memory_items
        self._memory: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.folded = 0  # windows folded (not served from a cache)

    def _key(self, row: np.ndarray) -> bytes:
        return hashlib.sha1(row.tobytes() + f"|mfe|{self.max_span}".encode()).digest()

    def pairs(self, codes: np.ndarray) -> np.ndarray:
        """Graph channels of windows.

        Parameters
        ----------
        codes : (N, L) uint8 nucleotide codes

        Returns
        -------
        np.ndarray, shape (N, L, 3) float32 (:data:`PAIR_CHANNELS`)
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
        out = np.zeros(codes.shape + (3,), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        for i, row in enumerate(codes):
            key = self._key(row)
            hit = self._memory.get(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
        if todo and self.cache_dir is not None:
            for key, offsets in _DiskCache(self.cache_dir).get(list(todo)).items():
                rows = todo.pop(key)
                graph = _expand(offsets, codes[rows[0]])
                out[rows] = graph
                self._remember(key, graph)
        if todo:
            results = self._run([(codes[rows[0]], self.max_span) for rows in todo.values()])
            for (key, rows), graph in zip(todo.items(), results, strict=True):
                out[rows] = graph
                self._remember(key, graph)
            self.folded += len(todo)
            if self.cache_dir is not None:
                _DiskCache(self.cache_dir).put({k: g[:, 0] for k, g in zip(todo, results,
                                                                            strict=True)})
        return out

    def _run(self, jobs: list) -> list[np.ndarray]:
        import multiprocessing

        if self.processes > 1 and len(jobs) >= 256 \
                and not multiprocessing.current_process().daemon:  # daemons have no children
            from multiprocessing import get_context

            log.info("folding %d windows in %d processes", len(jobs), self.processes)
            with get_context("spawn").Pool(self.processes) as pool:
                return pool.map(_fold_one, jobs, chunksize=32)
        return [_fold_one(job) for job in jobs]

    def _remember(self, key: bytes, graph: np.ndarray) -> None:
        self._memory[key] = graph
        if len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)


class _DiskCache:
    """Partner offsets (int16 per position) by window digest, in one SQLite file."""

    def __init__(self, folder: Path):
        import sqlite3

        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "rna-pairs.sqlite", timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS pairs (key BLOB PRIMARY KEY, offsets BLOB)")

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found = {}
        for lo in range(0, len(keys), 500):
            chunk = keys[lo:lo + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                    f"SELECT key, offsets FROM pairs WHERE key IN ({marks})", chunk):
                found[bytes(key)] = np.frombuffer(blob, dtype=np.int16)
        self.db.close()
        return found

    def put(self, items: dict[bytes, np.ndarray]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO pairs VALUES (?, ?)",
                                [(k, v.astype(np.int16).tobytes()) for k, v in items.items()])
        self.db.close()


def _expand(offsets: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Graph channels (L, 3) of one window from its partner offsets (L,) and codes (L,)."""
    out = np.zeros((len(codes), 3), dtype=np.float32)
    out[:, 0] = offsets
    out[:, 1] = offsets != 0
    lo, hi = folded_span(codes)
    out[lo:hi, 2] = 1.0
    return out


def fold_window_pairs(folder: PairFolder, seq: np.ndarray, length: int) -> np.ndarray:
    """Graph channels of each window's centered ``length`` nt, zero-padded back to the full
    width: (N, Lw) codes -> (N, Lw, 3), so a model folds exactly its own window."""
    from varbind.model.inputs import crop_center

    graph = folder.pairs(crop_center(seq, length))
    out = np.zeros(seq.shape + (3,), dtype=np.float32)
    lo = seq.shape[1] // 2 - length // 2
    out[:, lo:lo + length] = graph
    return out


def graph_length(specs) -> int | None:
    """Window of the model's RNA-graph input, or None when it has none."""
    lengths = [s.length for s in specs for c in s.components if c.kind == "pairs"]
    return max(lengths) if lengths else None


def add_pairs(specs, batch, folder: PairFolder | None = None):
    """Fill ``batch.pairs`` (N, Lw, 3) when the model ``specs`` take an RNA graph and the
    batch has none; each window's centered model-length span is folded. Returns the batch."""
    length = graph_length(specs)
    if length is not None and batch.pairs is None:
        folder = folder or PairFolder(cache_dir=default_cache_dir())
        batch.pairs = fold_window_pairs(folder, batch.seq, length)
    return batch


def default_cache_dir() -> Path:
    """``$VARBIND_CACHE`` or ``~/.cache/varbind``."""
    return Path(os.environ.get("VARBIND_CACHE") or Path.home() / ".cache" / "varbind")
