"""A simple baseline for the training health check: logistic regression on k-mer counts.

For each RBP, an L2-regularised logistic regression is fitted on the 1- to 4-mer counts of
the training windows' sequences (340 features, counts divided by the window length and
standardised) and scored on the validation and test windows of the same split. A deep model
that does not beat it has not learnt the binding signal; see :mod:`varbind.training.health`.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

KMER_SIZES = (1, 2, 3, 4)
DESCRIPTION = "logistic regression on 1-4-mer counts of the sequence window"
MAX_TRAIN_WINDOWS = 50_000


def kmer_counts(seq: np.ndarray, sizes=KMER_SIZES) -> np.ndarray:
    """k-mer counts per window, divided by the window length.

    Parameters
    ----------
    seq : (N, L) uint8 codes, 0-3 = A, C, G, T; any other code (N) breaks a k-mer

    Returns
    -------
    np.ndarray, (N, sum(4**k)) float32
    """
    seq = np.asarray(seq)
    n, length = seq.shape
    valid = seq < 4
    codes = np.where(valid, seq, 0).astype(np.int64)
    blocks = []
    for k in sizes:
        span = length - k + 1
        if span <= 0:
            blocks.append(np.zeros((n, 4 ** k), np.float32))
            continue
        index = np.zeros((n, span), np.int64)
        ok = np.ones((n, span), bool)
        for j in range(k):
            index = index * 4 + codes[:, j:j + span]
            ok &= valid[:, j:j + span]
        rows = np.repeat(np.arange(n), span)[ok.ravel()]
        flat = rows * 4 ** k + index.ravel()[ok.ravel()]
        counts = np.bincount(flat, minlength=n * 4 ** k).reshape(n, 4 ** k)
        blocks.append(counts.astype(np.float32) / max(length, 1))
    return np.concatenate(blocks, axis=1)


def fit_kmer_baseline(train_seq: np.ndarray, train_labels: np.ndarray,
                      seed: int = 0) -> list:
    """One fitted scikit-learn pipeline (scaler + logistic regression) per label column.

    train_seq : (N, L) codes; train_labels : (N, K) 0/1
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = np.arange(len(train_seq))
    if len(rows) > MAX_TRAIN_WINDOWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_TRAIN_WINDOWS,
                                                          replace=False))
    x = kmer_counts(train_seq[rows])
    fitted = []
    for k in range(train_labels.shape[1]):
        y = train_labels[rows, k]
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(C=0.05, max_iter=500, random_state=seed))
        fitted.append(model.fit(x, y))
    return fitted


def kmer_baseline_metrics(data, seed: int = 0) -> dict:
    """Fit the baseline on ``data``'s training split; its metrics per held-out split.

    Parameters
    ----------
    data : :class:`~varbind.training.train.TrainingData`

    Returns
    -------
    {"validation": metrics, "test": metrics}, each as
    :func:`varbind.training.evaluate.score_metrics` returns them.
    """
    from varbind.training.evaluate import score_metrics

    train = data.splits["train"]
    fitted = fit_kmer_baseline(train.batch.seq, train.labels, seed)
    out = {}
    for split in ("validation", "test"):
        part = data.splits[split]
        x = kmer_counts(part.batch.seq)
        preds = np.stack([m.predict_proba(x)[:, 1] for m in fitted], axis=1)
        out[split] = score_metrics(part.labels, preds, data.rbps, split)
    return out
