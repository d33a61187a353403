"""RNA secondary-structure graphs for RNASSR-Net: backbone edges plus ViennaRNA base pairs.

A window's graph has one node per base of the folded span (the window without its ``N``
padding at either end), backbone edges between neighbours of that span, and base-pair edges
from one of two foldings (:data:`GRAPHS`):

- ``mfe``: the minimum-free-energy structure (``RNA.fold_compound(...).mfe()``), one edge of
  weight 1 per base pair;
- ``bpp``: RNAplfold base-pair probabilities (``RNA.pfl_fold``, window :data:`PLFOLD_WINDOW`),
  as in the RNASSR-Net paper, one edge of weight ``p(i, j)`` to each of a base's ``partners``
  most probable partners (pairs below :data:`BPP_CUTOFF` dropped).

Pairs span at most :data:`MAX_BP_SPAN` nt (RNAplfold's ``L``). The graph is held per position,
crop-safe, as ``2 K + 1`` channels for ``K`` partners per base (:func:`graph_channels`):

- ``partner_offset`` / ``bpp_offset_k``: ``j - i`` for a base ``i`` paired with ``j``, 0 if none;
- ``pair_weight`` / ``bpp_prob_k``: the edge weight (1 for an MFE pair, ``p(i, j)``), else 0;
- ``node``: 1 inside the folded span, 0 on padding (padding nodes have no edges).

An MFE graph is the ``K = 1`` case (:data:`PAIR_CHANNELS`). :class:`PairFolder` folds batches
of windows (optionally in a process pool) and caches the result in memory and on disk per
window (keyed by a digest of its codes and the folding), so a training set or a variant's
reference window is folded once.
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
PLFOLD_WINDOW = 150  # RNAplfold -W, as the RNASSR-Net code folds the RBP-24 sequences
BPP_CUTOFF = 1e-3
GRAPHS = ("mfe", "bpp")
PAIR_CHANNELS = ("partner_offset", "pair_weight", "node")


def graph_channels(graph: str = "mfe", partners: int = 1) -> tuple[str, ...]:
    """Channel names of a graph input: :data:`PAIR_CHANNELS` for ``mfe``, else
    ``bpp_offset_1, bpp_prob_1, ..., bpp_offset_K, bpp_prob_K, node``."""
    if graph == "mfe":
        return PAIR_CHANNELS
    if graph != "bpp" or int(partners) < 1:
        raise ValueError(f"graph must be one of {GRAPHS} with partners >= 1, got "
                         f"{graph!r}, {partners!r}")
    return tuple(c for k in range(1, int(partners) + 1)
                 for c in (f"bpp_offset_{k}", f"bpp_prob_{k}")) + ("node",)


def graph_kind(channels) -> tuple[str, int]:
    """``(graph, partners)`` of a graph input from its channel names."""
    channels = tuple(channels)
    if channels == PAIR_CHANNELS:
        return "mfe", 1
    kind = ("bpp", (len(channels) - 1) // 2)
    if channels != graph_channels(*kind):
        raise ValueError(f"not RNA-graph channels: {channels}")
    return kind
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


def bpp_partners(seq: str, top_k: int, max_span: int = MAX_BP_SPAN,
                 window: int = PLFOLD_WINDOW, cutoff: float = BPP_CUTOFF):
    """The ``top_k`` most probable pairing partners of each base (RNAplfold).

    Returns
    -------
    offsets : (L, top_k) int32, ``j - i`` (0 where none); probs : (L, top_k) float32
    """
    import RNA

    length = len(seq)
    found: list[list[tuple[float, int]]] = [[] for _ in range(length)]
    span = max(1, min(int(max_span), length))
    for ep in RNA.pfl_fold(seq.upper().replace("T", "U"), max(span, min(window, length)),
                           span, cutoff):
        i, j = ep.i - 1, ep.j - 1
        if 0 <= i < j < length:
            found[i].append((ep.p, j - i))
            found[j].append((ep.p, i - j))
    offsets = np.zeros((length, top_k), dtype=np.int32)
    probs = np.zeros((length, top_k), dtype=np.float32)
    for i, pairs in enumerate(found):
        for k, (prob, offset) in enumerate(sorted(pairs, reverse=True)[:top_k]):
            offsets[i, k], probs[i, k] = offset, prob
    return offsets, probs


def pair_channels(codes: np.ndarray, max_span: int = MAX_BP_SPAN, graph: str = "mfe",
                  top_k: int = 1) -> np.ndarray:
    """The graph channels of one window.

    Parameters
    ----------
    codes : (L,) uint8 nucleotide codes on the transcript strand
    graph, top_k : the folding (:data:`GRAPHS`) and partners kept per base (``bpp`` only)

    Returns
    -------
    np.ndarray, shape (L, 2 K + 1) float32 (:func:`graph_channels`)
    """
    codes = np.asarray(codes, dtype=np.uint8)
    k = 1 if graph == "mfe" else int(top_k)
    out = np.zeros((len(codes), 2 * k + 1), dtype=np.float32)
    lo, hi = folded_span(codes)
    if hi - lo < 1:
        return out
    seq = _RNA[codes[lo:hi]].tobytes().decode("ascii")
    if graph == "mfe":
        part = partners(mfe_structure(seq, max_span))
        paired = part >= 0
        offsets = np.where(paired, part - np.arange(hi - lo), 0)[:, None]
        weights = paired.astype(np.float32)[:, None]
    else:
        offsets, weights = bpp_partners(seq, k, max_span)
    out[lo:hi, 0:-1:2] = offsets
    out[lo:hi, 1:-1:2] = weights
    out[lo:hi, -1] = 1.0
    return out


def _fold_one(args) -> np.ndarray:
    codes, max_span, graph, top_k = args
    return pair_channels(codes, max_span, graph, top_k)


def default_processes() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class PairFolder:
    """Batched, cached RNA graphs of windows (any of :data:`GRAPHS`).

    Parameters
    ----------
    cache_dir : folder holding ``rna-pairs.sqlite``, a cache of each window's pair channels
        keyed by a digest of its codes, the folding and ``max_span`` (safe to share between
        processes); None keeps the cache in memory only
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

    def _key(self, row: np.ndarray, graph: str, top_k: int) -> bytes:
        folding = (f"|mfe|{self.max_span}" if graph == "mfe" else
                   f"|bpp|{self.max_span}|{PLFOLD_WINDOW}|{BPP_CUTOFF}|{top_k}")
        return hashlib.sha1(row.tobytes() + folding.encode()).digest()

    def pairs(self, codes: np.ndarray, graph: str = "mfe", top_k: int = 1) -> np.ndarray:
        """Graph channels of windows.

        Parameters
        ----------
        codes : (N, L) uint8 nucleotide codes
        graph, top_k : the folding (:data:`GRAPHS`) and partners per base (``bpp`` only)

        Returns
        -------
        np.ndarray, shape (N, L, 2 K + 1) float32 (:func:`graph_channels`)
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
        top_k = 1 if graph == "mfe" else int(top_k)
        out = np.zeros(codes.shape + (len(graph_channels(graph, top_k)),), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        for i, row in enumerate(codes):
            key = self._key(row, graph, top_k)
            hit = self._memory.get(key)
            if hit is not None:
                out[i] = hit
            else:
                todo.setdefault(key, []).append(i)
        if todo and self.cache_dir is not None:
            for key, blob in _DiskCache(self.cache_dir).get(list(todo)).items():
                rows = todo.pop(key)
                graph_rows = _expand(blob, codes[rows[0]], graph, top_k)
                out[rows] = graph_rows
                self._remember(key, graph_rows)
        if todo:
            results = self._run([(codes[rows[0]], self.max_span, graph, top_k)
                                 for rows in todo.values()])
            for (key, rows), channels in zip(todo.items(), results, strict=True):
                out[rows] = channels
                self._remember(key, channels)
            self.folded += len(todo)
            if self.cache_dir is not None:
                _DiskCache(self.cache_dir).put({k: _pack(g, graph) for k, g in
                                                zip(todo, results, strict=True)})
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
    """Packed pair channels (:func:`_pack`) by window digest, in one SQLite file."""

    def __init__(self, folder: Path):
        import sqlite3

        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "rna-pairs.sqlite", timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS pairs (key BLOB PRIMARY KEY, offsets BLOB)")

    def get(self, keys: list[bytes]) -> dict[bytes, bytes]:
        found = {}
        for lo in range(0, len(keys), 500):
            chunk = keys[lo:lo + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                    f"SELECT key, offsets FROM pairs WHERE key IN ({marks})", chunk):
                found[bytes(key)] = bytes(blob)
        self.db.close()
        return found

    def put(self, items: dict[bytes, bytes]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO pairs VALUES (?, ?)", list(items.items()))
        self.db.close()


def _pack(channels: np.ndarray, graph: str) -> bytes:
    """A window's pair channels without the node flag: MFE partner offsets as int16 (L,),
    base-pair offsets and probabilities as float16 (L, 2 K)."""
    if graph == "mfe":
        return channels[:, 0].astype(np.int16).tobytes()
    return channels[:, :-1].astype(np.float16).tobytes()


def _expand(blob: bytes, codes: np.ndarray, graph: str, top_k: int) -> np.ndarray:
    """Graph channels (L, 2 K + 1) of one window from its packed channels and codes (L,)."""
    out = np.zeros((len(codes), 2 * top_k + 1), dtype=np.float32)
    if graph == "mfe":
        offsets = np.frombuffer(blob, dtype=np.int16)
        out[:, 0] = offsets
        out[:, 1] = offsets != 0
    else:
        out[:, :-1] = np.frombuffer(blob, dtype=np.float16).reshape(len(codes), 2 * top_k)
    lo, hi = folded_span(codes)
    out[lo:hi, -1] = 1.0
    return out


def fold_window_pairs(folder: PairFolder, seq: np.ndarray, length: int,
                      channels=PAIR_CHANNELS) -> np.ndarray:
    """Graph channels of each window's centered ``length`` nt, zero-padded back to the full
    width: (N, Lw) codes -> (N, Lw, C) for the graph input ``channels``, so a model folds
    exactly its own window."""
    from varbind.model.inputs import crop_center

    graph = folder.pairs(crop_center(seq, length), *graph_kind(channels))
    out = np.zeros(seq.shape + (graph.shape[-1],), dtype=np.float32)
    lo = seq.shape[1] // 2 - length // 2
    out[:, lo:lo + length] = graph
    return out


def graph_input(specs):
    """``(length, channels)`` of the model's RNA-graph input, or None when it has none."""
    found = [(s.length, c.channels) for s in specs for c in s.components if c.kind == "pairs"]
    return max(found) if found else None


def add_pairs(specs, batch, folder: PairFolder | None = None):
    """Fill ``batch.pairs`` (N, Lw, C) when the model ``specs`` take an RNA graph and the
    batch has none; each window's centered model-length span is folded the way the graph
    input's channels say (MFE or base-pair probabilities). Returns the batch."""
    found = graph_input(specs)
    if found is not None and batch.pairs is None:
        folder = folder or PairFolder(cache_dir=default_cache_dir())
        batch.pairs = fold_window_pairs(folder, batch.seq, *found)
    return batch


def default_cache_dir() -> Path:
    """``$VARBIND_CACHE`` or ``~/.cache/varbind``."""
    return Path(os.environ.get("VARBIND_CACHE") or Path.home() / ".cache" / "varbind")
