"""Tiny training sets with a planted, learnable signal (shared by the training tests)."""

from __future__ import annotations

import json

import keras
import numpy as np

from varbind.encoding import encode_batch, one_hot
from varbind.model.inputs import WindowBatch
from varbind.training.train import SplitData, TrainingData

MOTIFS = {"UUUUUU": np.array([3, 3, 3, 3, 3, 3], np.uint8),
          "GAGAGA": np.array([2, 0, 2, 0, 2, 0], np.uint8)}

#: tiny hyperparameters so that the tests train in seconds
TINY = {
    "multiresbind": {"filters": 8, "dense_units": 32, "bn_momentum": 0.8},
    "residualbind": {"filters": 8, "dense_units": 32, "bn_momentum": 0.8},
    "deepripe": {"filters": 8, "merged_filters": 8, "dense_units": 16},
    "polaris": {"filters": 16, "kernel_size": 6, "dense_units": (32, 16, 8), "l2": 0.001},
    "rnassr": {"filters": 8, "kernel_size": 7, "second_kernel": 3, "pool_size": 2,
               "gcn_units": 8, "gcn_layers": 2, "gcn_pool": 4, "dense_units": 16},
}


def planted_arrays(n: int, seq_length: int = 60, region_length: int = 80, rbps=("U6", "GA3"),
                   rate: float = 0.4, seed: int = 0):
    """Random windows; RBP k's positives carry motif k in the k-th slot of the window (slots
    do not overlap, so one RBP's motif never overwrites another's).

    Returns seq (n, Ls) u1, region (n, Lr) i1, expression (n,) f4, labels (n, K) u1,
    split (n,) u1 (70/20/10).
    """
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, 4, (n, seq_length)).astype(np.uint8)
    region = rng.integers(0, 8, (n, region_length)).astype(np.int8)
    labels = np.zeros((n, len(rbps)), np.uint8)
    motifs = list(MOTIFS.values())
    slot = seq_length // len(rbps)
    for k in range(len(rbps)):
        pos = np.flatnonzero(rng.random(n) < rate)
        labels[pos, k] = 1
        for i in pos:
            start = k * slot + int(rng.integers(0, slot - 6))
            seq[i, start:start + 6] = motifs[k % len(motifs)]
    expression = rng.random(n).astype(np.float32)
    u = rng.random(n)
    split = np.where(u < 0.7, 0, np.where(u < 0.9, 1, 2)).astype(np.uint8)
    return seq, region, expression, labels, split


def planted_data(n: int = 400, seq_length: int = 60, region_length: int = 80,
                 rbps=("U6", "GA3"), seed: int = 0) -> TrainingData:
    seq, region, expr, labels, split = planted_arrays(n, seq_length, region_length, rbps,
                                                      seed=seed)
    splits = {}
    for name, code in {"train": 0, "validation": 1, "test": 2}.items():
        r = split == code
        splits[name] = SplitData(WindowBatch(seq[r], region[r], expr[r]), labels[r])
    return TrainingData(list(rbps), splits, seq_length, region_length)


def _write_group(grp, seq, region, expr, labels, split):
    n = len(seq)
    grp["seq"] = seq
    grp["region"] = region
    grp["expression"] = expr
    grp["labels"] = labels
    grp["split"] = split
    grp["chrom"] = np.array([b"chr1"] * n)
    grp["center"] = np.arange(n, dtype=np.int64) * 100
    grp["strand"] = np.array([b"+"] * n, dtype="S1")
    grp["gene_id"] = np.array([b"g1"] * n)


def write_dataset(path, n: int = 400, seq_length: int = 60, region_length: int = 80,
                  rbps=("U6", "GA3"), per_rbp: bool = False, seed: int = 0) -> None:
    """A training HDF5 in the layout of docs/ARCHITECTURE.md."""
    import h5py

    with h5py.File(path, "w") as h5:
        h5.attrs["kind"] = "per-rbp" if per_rbp else "multilabel"
        h5.attrs["rbps"] = json.dumps(list(rbps))
        h5.attrs["rbp_groups"] = json.dumps({r: "low" for r in rbps})
        h5.attrs["seq_length"] = seq_length
        h5.attrs["region_length"] = region_length
        h5.attrs["bin_size"] = 50
        h5.attrs["provenance"] = json.dumps({"varbind_version": "test"})
        if per_rbp:
            for k, rbp in enumerate(rbps):
                seq, region, expr, labels, split = planted_arrays(
                    n, seq_length, region_length, rbps, seed=seed + k)
                _write_group(h5.create_group(rbp), seq, region, expr, labels[:, k:k + 1],
                             split)
        else:
            _write_group(h5, *planted_arrays(n, seq_length, region_length, rbps, seed=seed))


def motif_detector(length: int, motif: str = "TGCATG", spread: int = 0):
    """A Keras model over (length, 4) one-hot windows: ~0.98 when ``motif`` is anywhere in the
    window, ~0.02 otherwise (one Conv1D ``motif_conv`` with the motif as its kernel, global
    max pooling, a sigmoid ``out``). With ``spread`` > 0 a second conv ``spread_conv`` of ones
    spreads each match over ``spread`` positions, as deeper models blur."""
    inp = keras.Input((length, 4), name="seq")
    conv = keras.layers.Conv1D(1, len(motif), padding="same", activation="relu",
                               name="motif_conv")
    features = conv(inp)
    if spread:
        blur = keras.layers.Conv1D(1, spread, padding="same", name="spread_conv")
        features = blur(features)
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(
        keras.layers.GlobalMaxPooling1D()(features))
    model = keras.Model(inp, out)
    conv.set_weights([one_hot(encode_batch([motif]))[0][:, :, None],
                      np.array([1.0 - len(motif)], "f4")])
    if spread:
        blur.set_weights([np.ones((spread, 1, 1), "f4"), np.zeros(1, "f4")])
    model.get_layer("out").set_weights([np.array([[8.0]], "f4"), np.array([-4.0], "f4")])
    return model
