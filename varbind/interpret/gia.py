"""Global importance analysis (Koo et al. 2021, PLoS Comput Biol 17:e1008925).

The global importance of a pattern is the mean, over N background sequences drawn from an
approximate data distribution, of the change in a model's prediction when the pattern is
embedded: ``GI = mean_n f(x_n with pattern) - f(x_n)``. Backgrounds (:data:`BACKGROUNDS`):

- ``profile``: each position drawn from the per-position base frequencies of observed
  sequences (uniform when none are given);
- ``shuffle``: observed sequences with their bases permuted (base composition kept);
- ``dinuc``: observed sequences dinucleotide-shuffled (dinucleotide counts kept exactly);
- ``data``: observed sequences as they are.

Experiments: one pattern (a motif) at a position; every k-mer at the center (*ab initio*
motif discovery, the top k-mer first); the number of copies of a motif; the spacing between
two copies. Patterns are placed relative to the window center (index ``L // 2``), where
variant windows put the variant.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from varbind.encoding import ALPHABET, N_CODE, REGION_CODE, encode
from varbind.errors import InputFileError, VarbindError
from varbind.model.inputs import WindowBatch, build_inputs, crop_center, required_lengths
from varbind.model.rna_graph import PairFolder, add_pairs

log = logging.getLogger(__name__)

BACKGROUNDS = ("profile", "shuffle", "dinuc", "data")
_FOLDER = PairFolder(processes=1)  # RNA graphs of GIA sequences, cached in memory for the process


# ----------------------------------------------------------------------------- backgrounds


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffle one sequence (L,) keeping its dinucleotide counts and first base.

    The Eulerian-walk method (as in DeepLIFT's ``dinuc_shuffle``): the successors of each base
    are permuted except the last one, which keeps the walk able to use every edge.
    """
    codes = np.asarray(codes)
    if len(codes) < 3:
        return codes.copy()
    successors = {}
    for token in np.unique(codes[:-1]):
        nxt = np.flatnonzero(codes[:-1] == token) + 1
        order = np.arange(len(nxt))
        order[:-1] = rng.permutation(len(nxt) - 1)
        successors[int(token)] = nxt[order]
    used = dict.fromkeys(successors, 0)
    out = np.empty_like(codes)
    out[0] = codes[0]
    index = 0
    for j in range(1, len(codes)):
        token = int(codes[index])
        index = successors[token][used[token]]
        used[token] += 1
        out[j] = codes[index]
    return out


def background_codes(kind: str, n: int, length: int, observed: np.ndarray | None,
                     rng: np.random.Generator) -> np.ndarray:
    """N background sequences (N, length) uint8 of one :data:`BACKGROUNDS` kind.

    observed : (M, length) codes sampled from data, or None (only ``profile`` then works:
        a uniform profile)
    """
    if kind not in BACKGROUNDS:
        raise VarbindError(f"unknown --background {kind!r}",
                           fix=f"choose one of {', '.join(BACKGROUNDS)}")
    if observed is None or len(observed) == 0:
        if kind != "profile":
            raise VarbindError(f"--background {kind} needs observed sequences",
                               fix="pass --data (a training dataset .h5 or a FASTA)")
        return rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    if kind == "profile":
        called = observed[observed < N_CODE].size
        freq = np.stack([(observed == b).mean(axis=0) for b in range(4)], axis=1)  # (L, 4)
        freq = freq / np.maximum(freq.sum(axis=1, keepdims=True), 1e-12)
        if called == 0:
            freq[:] = 0.25
        cum = np.cumsum(freq, axis=1)
        draws = rng.random((n, length, 1))
        return np.minimum((draws > cum[None]).sum(axis=2), 3).astype(np.uint8)
    rows = observed[rng.integers(0, len(observed), size=n)]
    if kind == "data":
        return rows.copy()
    if kind == "shuffle":
        return np.stack([rng.permutation(r) for r in rows]).astype(np.uint8)
    return np.stack([dinucleotide_shuffle(r, rng) for r in rows]).astype(np.uint8)


def read_observed(path: str | os.PathLike, length: int, n: int, rng: np.random.Generator,
                  split: int | None = 2) -> tuple:
    """Observed windows for backgrounds: ``(seq (M, length), region (M, Lr) | None,
    expression (M,) | None)``.

    path : a training dataset HDF5 (rows of ``split``, default test; any group of a per-RBP
        file) or a FASTA (``n`` windows of ``length`` drawn at random from records at least that
        long, windows with N skipped)
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("no such file", path=path, fix="pass a dataset .h5 or a FASTA")
    if path.suffix in (".h5", ".hdf5"):
        return _observed_from_dataset(path, length, split)
    return _observed_from_fasta(path, length, n, rng), None, None


def _observed_from_dataset(path: Path, length: int, split: int | None):
    import h5py

    with h5py.File(path, "r") as f:
        group = f if "seq" in f else next((f[k] for k in f if "seq" in f[k]), None)
        if group is None:
            raise InputFileError("the HDF5 file has no 'seq' dataset", path=path,
                                 fix="pass a file written by 'varbind dataset'")
        rows = slice(None)
        if split is not None and "split" in group:
            rows = np.flatnonzero(group["split"][:] == split)
            if len(rows) == 0:
                rows = slice(None)
        seq = group["seq"][rows]
        region = group["region"][rows] if "region" in group else None
        expression = group["expression"][rows] if "expression" in group else None
    if seq.shape[1] < length:
        raise InputFileError(f"dataset windows are {seq.shape[1]} nt, the model needs {length}",
                             path=path, fix="use a dataset built for this model's window")
    return crop_center(seq, length), region, expression


def _observed_from_fasta(path: Path, length: int, n: int, rng) -> np.ndarray:
    from varbind.genomics.genome import Genome

    genome = Genome(path)  # a bad file: a one-line InputFileError naming the fix
    lengths = genome.lengths
    names = [k for k, size in lengths.items() if size >= length]
    if not names:
        raise InputFileError(f"no FASTA record is at least {length} nt", path=path)
    sizes = np.array([lengths[k] - length + 1 for k in names], dtype=float)
    out = []
    for _ in range(n * 20):
        name = names[rng.choice(len(names), p=sizes / sizes.sum())]
        start = int(rng.integers(0, lengths[name] - length + 1))
        codes = genome.fetch_codes(name, start, start + length)
        if (codes == N_CODE).mean() < 0.01:
            out.append(codes)
        if len(out) == n:
            break
    if not out:
        raise InputFileError("every sampled window is N-rich", path=path)
    return np.stack(out)


# ----------------------------------------------------------------------------- model calls


@dataclass
class Background:
    """Background windows for one model: seq (N, L) codes, and the model's other inputs."""

    seq: np.ndarray
    region: np.ndarray | None
    expression: np.ndarray | None

    def with_seq(self, seq: np.ndarray) -> WindowBatch:
        reps = len(seq) // len(self.seq)  # seq holds `reps` stacked copies of the background

        def tile(a):
            return None if a is None else np.tile(a, (reps,) + (1,) * (a.ndim - 1))

        return WindowBatch(seq=seq, region=tile(self.region), expression=tile(self.expression))


def make_background(specs, kind: str, n: int, rng: np.random.Generator,
                    observed=None, region_class: str | None = None,
                    expression: float | None = None) -> Background:
    """Backgrounds shaped for a model's inputs (``specs``).

    Region classes and expression come from the observed rows when given (sampled with the
    sequences), else from ``region_class`` (default ``3utr``) and ``expression`` (default 1.0
    log1p TPM, about 1.7 TPM) for models that take them.
    """
    need = required_lengths(specs)
    length = need.get("sequence", 0)
    seq_obs, reg_obs, expr_obs = observed if observed is not None else (None, None, None)
    codes = background_codes(kind, n, length, seq_obs, rng)
    region = expr = None
    if "region" in need:
        if reg_obs is not None and reg_obs.shape[1] >= need["region"] and region_class is None:
            region = crop_center(reg_obs[rng.integers(0, len(reg_obs), n)], need["region"])
        else:
            name = region_class or "3utr"
            if name not in REGION_CODE:
                raise VarbindError(f"unknown --region {name!r}",
                                   fix=f"choose one of {', '.join(REGION_CODE)}")
            region = np.full((n, need["region"]), REGION_CODE[name], np.int8)
    if any(c.kind == "expression" for s in specs for c in s.components):
        if expr_obs is not None and expression is None:
            expr = expr_obs[rng.integers(0, len(expr_obs), n)].astype(np.float32)
        else:
            expr = np.full(n, 1.0 if expression is None else expression, np.float32)
    return Background(codes, region, expr)


def embed(codes: np.ndarray, patterns: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """Copy of ``codes`` (N, L) with each ``(pattern, start index)`` written in; a pattern is
    codes (k,) for every row, or (N, k), one per row (e.g. sites drawn from a matrix)."""
    out = codes.copy()
    for pattern, start in patterns:
        k = np.shape(pattern)[-1]
        if start < 0 or start + k > out.shape[1]:
            raise VarbindError(f"a pattern of {k} nt at {start} does not fit a "
                               f"{out.shape[1]}-nt window", fix="choose a smaller offset")
        out[:, start:start + k] = pattern
    return out


def centered_start(length: int, k: int, offset: int = 0) -> int:
    """Start index that puts a k-mer's middle at the window center plus ``offset``."""
    return length // 2 - k // 2 + offset


def _scores(bundle, batch: WindowBatch, targets: Sequence[int], batch_size: int) -> np.ndarray:
    """(N, T) predictions of output columns ``targets``."""
    from varbind.interpret.baselines import predict_arrays

    batch = add_pairs(bundle.meta.inputs, batch, _FOLDER)  # RNASSR-Net: fold each sequence
    return predict_arrays(bundle.model, build_inputs(bundle.meta.inputs, batch),
                          batch_size)[:, list(targets)]


@dataclass
class Importance:
    """One GIA experiment: ``local`` (N,) per-sequence effects and their mean (``global_``)."""

    label: str
    local: np.ndarray

    @property
    def global_(self) -> float:
        return float(self.local.mean())

    @property
    def std(self) -> float:
        return float(self.local.std())


def importance_many(bundle, background: Background, targets: Sequence[int],
                    arrangements: Sequence[tuple[str, Sequence[tuple[np.ndarray, int]]]],
                    batch_size: int = 1024,
                    progress: Callable | None = None) -> dict[int, list[Importance]]:
    """Global importance of each arrangement ``(label, [(pattern, start), ...])`` for several
    output columns at once (one forward pass serves every RBP of a multi-label model)."""
    base = _scores(bundle, background.with_seq(background.seq), targets, batch_size)  # (N, T)
    n = len(background.seq)
    per_call = max(1, batch_size * 4 // n)
    out: dict[int, list[Importance]] = {t: [] for t in targets}
    for i in range(0, len(arrangements), per_call):
        chunk = arrangements[i:i + per_call]
        seqs = np.concatenate([embed(background.seq, a) for _, a in chunk])
        y = _scores(bundle, background.with_seq(seqs), targets, batch_size)
        y = y.reshape(len(chunk), n, len(targets))
        for j, t in enumerate(targets):
            out[t].extend(Importance(label, y[c, :, j] - base[:, j])
                          for c, (label, _) in enumerate(chunk))
        if progress is not None:
            progress(len(chunk))
    return out


def importance(bundle, background: Background, target: int,
               arrangements: Sequence[tuple[str, Sequence[tuple[np.ndarray, int]]]],
               batch_size: int = 1024, progress: Callable | None = None) -> list[Importance]:
    """Global importance of each arrangement ``(label, [(pattern, start), ...])``."""
    return importance_many(bundle, background, [target], arrangements, batch_size,
                           progress)[target]


def kmer_arrangements(length: int, k: int, offset: int = 0) -> list:
    """Every k-mer at the window center (+ ``offset``), as arrangements."""
    start = centered_start(length, k, offset)
    kmers = ["".join(p) for p in itertools.product(ALPHABET, repeat=k)]
    return [(km, [(encode(km), start)]) for km in kmers]


def kmer_importance(bundle, background: Background, target: int, k: int = 6,
                    offset: int = 0, batch_size: int = 1024,
                    progress: Callable | None = None) -> list[Importance]:
    """Every k-mer embedded at the center; sorted by global importance, highest first."""
    arrangements = kmer_arrangements(background.seq.shape[1], k, offset)
    found = importance(bundle, background, target, arrangements, batch_size, progress)
    return sorted(found, key=lambda r: -r.global_)


def known_motif_arrangements(motifs, n: int, length: int, rng: np.random.Generator,
                             offset: int = 0) -> list:
    """One arrangement per known motif (labels ``RBP:ID``): each of the ``n`` backgrounds gets
    its own site drawn from the motif's matrix (W, 4), centered (+ ``offset``), so the global
    importance is the motif's mean effect over its sites, not its consensus's."""
    out = []
    for m in motifs:
        cumulative = np.cumsum(m.pfm, axis=1)
        draws = rng.random((n, m.width, 1))
        sites = np.minimum((draws > cumulative[None, :, :]).sum(axis=-1), 3).astype(np.uint8)
        out.append((f"{m.rbp}:{m.id}", [(sites, centered_start(length, m.width, offset))]))
    return out


def known_motif_importance(bundle, background: Background, targets: Sequence[int], motifs,
                           rng: np.random.Generator, offset: int = 0,
                           batch_size: int = 1024) -> dict[int, list[Importance]]:
    """GI of every known motif (sites drawn from its matrix) for output columns ``targets``,
    sorted highest first: the known motif a model responds to most."""
    arrangements = known_motif_arrangements(motifs, len(background.seq),
                                            background.seq.shape[1], rng, offset)
    found = importance_many(bundle, background, targets, arrangements, batch_size)
    return {t: sorted(r, key=lambda x: -x.global_) for t, r in found.items()}


def count_positions(length: int, k: int, count: int, gap: int = 2) -> list[int]:
    """Starts of ``count`` non-overlapping copies around the center: center, right, left, ..."""
    stride = k + gap
    center = centered_start(length, k)
    # copy i sits (i + 1) // 2 strides from the center, odd copies to the right
    return [center + (i + 1) // 2 * stride * (1 if i % 2 else -1) for i in range(count)]


def count_effect(bundle, background: Background, target: int, motif: str, max_count: int = 4,
                 batch_size: int = 1024) -> list[Importance]:
    """GI of 1..max_count copies of ``motif`` (additivity of binding sites)."""
    pattern = encode(motif)
    length = background.seq.shape[1]
    arrangements = [(str(c), [(pattern, s) for s in count_positions(length, len(pattern), c)])
                    for c in range(1, max_count + 1)]
    return importance(bundle, background, target, arrangements, batch_size)


def spacing_effect(bundle, background: Background, target: int, motif: str,
                   spacings: Sequence[int], batch_size: int = 1024) -> list[Importance]:
    """GI of two copies of ``motif`` with ``s`` nt between them, the pair centered."""
    pattern = encode(motif)
    k = len(pattern)
    length = background.seq.shape[1]
    arrangements = []
    for s in spacings:
        first = length // 2 - (2 * k + s) // 2
        arrangements.append((str(s), [(pattern, first), (pattern, first + k + s)]))
    return importance(bundle, background, target, arrangements, batch_size)


def mutation_effect(bundle, background: Background, target: int, motif: str,
                    batch_size: int = 1024) -> list[Importance]:
    """GI of every single-base variant of ``motif`` at the center (labels like ``TGAATG``);
    compared with the motif's own GI it shows which positions matter (Koo et al. Fig. 2e)."""
    length = background.seq.shape[1]
    start = centered_start(length, len(motif))
    variants = [motif[:i] + b + motif[i + 1:] for i in range(len(motif)) for b in ALPHABET
                if b != motif[i]]
    return importance(bundle, background, target,
                      [(v, [(encode(v), start)]) for v in variants], batch_size)


def position_effect(bundle, background: Background, target: int, motif: str,
                    step: int = 10, batch_size: int = 1024) -> list[Importance]:
    """GI of ``motif`` placed every ``step`` nt across the window (labels: offset of its
    middle from the window center, in nt)."""
    length = background.seq.shape[1]
    k = len(motif)
    lo = -(length // 2 - k // 2)
    hi = length - k - (length // 2 - k // 2)
    first = -((-lo) // step) * step  # the smallest multiple of step >= lo
    offsets = list(range(first, hi + 1, step))
    pattern = encode(motif)
    return importance(bundle, background, target,
                      [(str(o), [(pattern, centered_start(length, k, o))]) for o in offsets],
                      batch_size)


# ----------------------------------------------------------------------------- outputs


def results_table(rows: Sequence[tuple[str, Importance]]):
    """A DataFrame: ``experiment pattern global_importance std n`` (one row per result)."""
    import pandas as pd

    return pd.DataFrame([{"experiment": exp, "pattern": r.label,
                          "global_importance": r.global_, "std": r.std, "n": len(r.local)}
                         for exp, r in rows])


def plot_gia(kmers: Sequence[Importance], counts: Sequence[Importance],
             spacings: Sequence[Importance], title: str, top: int = 20):
    """Figure: top k-mers (bars), GI by motif count and by spacing (local effects as boxes,
    global importance as triangles)."""
    from matplotlib.figure import Figure

    panels = [p for p in (kmers, counts, spacings) if p]
    fig = Figure(figsize=(4.5 * max(1, len(panels)), 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(1, len(panels))))
    i = 0
    if kmers:
        ax = axes[i]
        shown = list(kmers[:top])[::-1]
        ax.barh([r.label.replace("T", "U") for r in shown], [r.global_ for r in shown],
                color="#4c72b0")
        ax.set_xlabel("global importance")
        ax.set_title(f"top {len(shown)} k-mers")
        ax.tick_params(axis="y", labelsize=7)
        i += 1
    for results, name in ((counts, "motif copies"), (spacings, "spacing (nt)")):
        if not results:
            continue
        ax = axes[i]
        ax.boxplot([r.local for r in results], tick_labels=[r.label for r in results],
                   showfliers=False)
        ax.plot(np.arange(1, len(results) + 1), [r.global_ for r in results], "g^",
                label="global importance")
        ax.set_xlabel(name)
        ax.set_ylabel("local importance")
        ax.set_title(f"effect of {name.split(' (')[0]}")
        ax.legend(fontsize=7)
        i += 1
    fig.suptitle(title)
    return fig
