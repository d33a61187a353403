"""Evaluation: AUROC and average precision per RBP on held-out windows, tables and plots.

Metrics are stored in ``model.json`` as::

    {"split": "test", "n_windows": N, "positives": {rbp: n},
     "auroc": {rbp: x}, "ap": {rbp: x}, "mean_auroc": x, "mean_ap": x}

An RBP without both positive and negative windows in the split gets ``None`` and is left
out of the means (with a warning).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from varbind.model.inputs import InputSpec, WindowBatch, build_inputs

log = logging.getLogger(__name__)

#: Below this many positive windows an RBP's AUROC has a standard error of ~0.05 or more
#: (Hanley & McNeil) and ``varbind train`` warns that its test AUROC cannot judge the model.
MIN_TEST_POSITIVES = 20


def predict(model, specs: list[InputSpec], batch: WindowBatch,
            batch_size: int = 512) -> np.ndarray:
    """Model outputs for windows, built through :func:`build_inputs` in chunks.

    Returns
    -------
    np.ndarray, shape (N, K) float32
    """
    from varbind.training.training_data import take

    n = len(batch)
    chunks = []
    for lo in range(0, n, batch_size):
        idx = np.arange(lo, min(lo + batch_size, n))
        x = build_inputs(specs, take(batch, idx))
        out = model(x, training=False)
        chunks.append(np.asarray(out, dtype=np.float32))
    if not chunks:
        return np.zeros((0, int(model.outputs[0].shape[-1])), dtype=np.float32)
    return np.concatenate(chunks, axis=0)


def score_metrics(labels: np.ndarray, preds: np.ndarray, rbps: list[str],
                  split: str = "test") -> dict:
    """AUROC and AP per RBP and their means.

    Parameters
    ----------
    labels : (N, K) 0/1
    preds : (N, K) scores
    rbps : K names
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(np.int64)
    auroc, ap, positives = {}, {}, {}
    for k, rbp in enumerate(rbps):
        y, p = labels[:, k], preds[:, k]
        positives[rbp] = int(y.sum())
        if 0 < y.sum() < len(y):
            auroc[rbp] = round(float(roc_auc_score(y, p)), 6)
            ap[rbp] = round(float(average_precision_score(y, p)), 6)
        else:
            log.warning("cannot score %s: its %s windows are all %s", rbp, split,
                        "negative" if y.sum() == 0 else "positive")
            auroc[rbp] = ap[rbp] = None
    return {"split": split, "n_windows": int(len(labels)), "positives": positives,
            "auroc": auroc, "ap": ap, "mean_auroc": _mean(auroc), "mean_ap": _mean(ap)}


def auroc_standard_error(auroc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil's standard error of an AUROC from ``positives`` and ``negatives``."""
    if positives < 1 or negatives < 1:
        return float("inf")
    q1, q2 = auroc / (2 - auroc), 2 * auroc ** 2 / (1 + auroc)
    var = (auroc * (1 - auroc) + (positives - 1) * (q1 - auroc ** 2)
           + (negatives - 1) * (q2 - auroc ** 2)) / (positives * negatives)
    return float(np.sqrt(max(var, 0.0)))


def class_counts(metrics: dict, rbp: str) -> tuple[int, int] | None:
    """``(positives, negatives)`` of ``rbp``'s windows in ``metrics`` (:func:`score_metrics`:
    one window count for all RBPs; :func:`merge_metrics`: one per RBP); None when the count
    is unknown."""
    n = metrics.get("n_windows")
    total = n[rbp] if isinstance(n, dict) else n
    if total is None:
        return None
    pos = metrics["positives"][rbp]
    return pos, total - pos


def auroc_errors(metrics: dict) -> dict[str, float | None]:
    """Hanley & McNeil's standard error of each RBP's AUROC in ``metrics``
    (:func:`score_metrics` or :func:`merge_metrics`), from its positive and negative windows;
    None where the AUROC is."""
    out = {}
    for rbp, auroc in metrics["auroc"].items():
        counts = class_counts(metrics, rbp)
        out[rbp] = None if auroc is None or counts is None else round(
            auroc_standard_error(auroc, *counts), 3)
    return out


def few_positives_warning(metrics: dict, least: int = MIN_TEST_POSITIVES) -> str | None:
    """A one-line warning naming the RBPs of ``metrics`` scored on fewer than ``least``
    positive windows, with their count and AUROC's standard error; None if there are none."""
    errors = auroc_errors(metrics)
    few = [f"{rbp} ({pos}, SE {errors[rbp]:.2f})" for rbp, pos in metrics["positives"].items()
           if pos < least and errors[rbp] is not None]
    if not few:
        return None
    return (f"fewer than {least} positive {metrics.get('split', 'test')} windows for "
            f"{', '.join(few)} (positives, the AUROC's standard error): their AUROC cannot "
            "tell a good model from a weak one; judge them on more peaks with 'varbind evaluate "
            "BUNDLE --peaks ...', or train with more")


def warn_if_few_positives(metrics: dict, name: str) -> None:
    """Log :func:`few_positives_warning` for ``metrics`` of the model ``name``, if any."""
    if few := few_positives_warning(metrics):
        log.warning("%s: %s", name, few)


def _mean(values: dict) -> float | None:
    got = [v for v in values.values() if v is not None]
    return round(float(np.mean(got)), 6) if got else None


def evaluate_split(model, specs: list[InputSpec], split, rbps: list[str],
                   name: str = "test") -> dict:
    """Metrics of ``model`` on a :class:`~varbind.training.training_data.SplitData`."""
    return score_metrics(split.labels, predict(model, specs, split.batch), rbps, name)


def merge_metrics(parts: list[dict]) -> dict:
    """Join per-RBP metrics (POLARIS) into one metrics dict with recomputed means."""
    out = {"split": parts[0].get("split", "test"), "n_windows": {}, "positives": {},
           "auroc": {}, "ap": {}}
    for m in parts:
        for rbp in m["auroc"]:
            out["n_windows"][rbp] = m["n_windows"]
            out["positives"][rbp] = m["positives"][rbp]
            out["auroc"][rbp] = m["auroc"][rbp]
            out["ap"][rbp] = m["ap"][rbp]
    out["mean_auroc"], out["mean_ap"] = _mean(out["auroc"]), _mean(out["ap"])
    return out


def format_table(metrics: dict, title: str = "", health: dict | None = None) -> str:
    """A plain-text table: one row per RBP (positives, AUROC and its standard error, AP) and
    a mean row; with the k-mer baseline's AUROC and AP beside them when ``metrics`` has
    ``baseline``, and each RBP's health-check status when ``health`` (``training.health``)
    is given."""
    def fmt(v):
        return "  n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"

    base = metrics.get("baseline") or {}
    errors = auroc_errors(metrics)
    status = (health or {}).get("rbps", {})
    rbps = list(metrics["auroc"])
    width = max([len(r) for r in rbps] + [4])
    lines = [title] if title else []
    head = f"{'RBP':<{width}}  {'positives':>9}  {'AUROC':>5}  {'SE':>5}  {'AP':>5}"
    if base:
        head += f"  {'k-mer AUROC':>11}  {'k-mer AP':>8}"
    if status:
        head += "  status"
    lines.append(head)

    def row(name, positives, auroc, se, ap, b_auroc, b_ap, state):
        se = "" if se == "" else fmt(se)
        line = f"{name:<{width}}  {positives:>9}  {fmt(auroc):>5}  {se:>5}  {fmt(ap):>5}"
        if base:
            line += f"  {fmt(b_auroc):>11}  {fmt(b_ap):>8}"
        if status and state:
            line += f"  {state}"
        return line

    for rbp in rbps:
        lines.append(row(rbp, metrics["positives"][rbp], metrics["auroc"][rbp], errors[rbp],
                         metrics["ap"][rbp], base.get("auroc", {}).get(rbp),
                         base.get("ap", {}).get(rbp), status.get(rbp, {}).get("status", "")))
    lines.append(row("mean", "", metrics["mean_auroc"], "", metrics["mean_ap"],
                     base.get("mean_auroc"), base.get("mean_ap"), ""))
    return "\n".join(lines)


def curves_of(groups, labels, preds) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(rbp, y (N,), score (N,))`` per RBP from :func:`evaluate_bundle`'s output."""
    return [(rbp, y[:, k], p[:, k]) for g, y, p in zip(groups, labels, preds, strict=True)
            for k, rbp in enumerate(g)]


def plot_curves(curves: list[tuple[str, np.ndarray, np.ndarray]],
                outdir: str | os.PathLike, title: str = "") -> list[Path]:
    """ROC and precision-recall curves, one line per RBP: ``roc.png`` and ``pr.png``.

    curves : ``(rbp, labels (N,), scores (N,))`` each (see :func:`curves_of`)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    from varbind.files import atomic_output

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in ("roc", "pr"):
        fig, ax = plt.subplots(figsize=(5, 5))
        for rbp, y, score in curves:
            if not 0 < y.sum() < len(y):
                continue
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, score)
                ax.plot(fpr, tpr, lw=1, label=rbp)
            else:
                prec, rec, _ = precision_recall_curve(y, score)
                ax.plot(rec, prec, lw=1, label=rbp)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
            ax.set(xlabel="false positive rate", ylabel="true positive rate")
        else:
            ax.set(xlabel="recall", ylabel="precision")
        ax.set_title(f"{title} {kind.upper()}".strip())
        if len(curves) <= 20:
            ax.legend(fontsize=6, loc="lower right" if kind == "roc" else "upper right")
        path = outdir / f"{kind}.png"
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
        plt.close(fig)
        paths.append(path)
    return paths


def evaluate_bundle(bundle, dataset: str | os.PathLike, split: str = "test"):
    """Score a loaded bundle on a training-format HDF5 (another cell line, another set).

    RBPs are matched by name; the bundle's RBPs missing from the dataset are skipped with a
    warning. ``split`` is ``test``, ``validation``, ``train`` or ``all``.

    Returns
    -------
    (metrics, groups, labels, predictions): ``groups`` lists the RBP tuples scored together
    (one tuple for a multi-label dataset, one per RBP for a per-RBP one); ``labels[i]`` and
    ``predictions[i]`` are (N_i, len(groups[i])).
    """
    from varbind.errors import VarbindError
    from varbind.training.training_data import (
        add_structure_if_needed,
        check_lengths,
        dataset_kind,
        load_dataset,
    )

    kind, data_rbps = dataset_kind(dataset)
    shared = [r for r in bundle.meta.rbps if r in data_rbps]
    missing = [r for r in bundle.meta.rbps if r not in data_rbps]
    if missing:
        log.warning("the dataset has no labels for %s; not evaluated", ", ".join(missing))
    if not shared:
        raise VarbindError(f"the dataset labels none of the model's RBPs "
                           f"({', '.join(bundle.meta.rbps)})", path=dataset,
                           fix="evaluate on peaks of the same RBPs")
    specs = bundle.meta.inputs
    labels, preds = [], []
    groups = [(r,) for r in shared] if kind == "per-rbp" else [tuple(shared)]
    for group in groups:
        data = load_dataset(dataset, rbp=group[0] if kind == "per-rbp" else None)
        data = data.select(list(group))
        names = ["train", "validation", "test"] if split == "all" else [split]
        if any(n not in data.splits for n in names):
            raise VarbindError(f"unknown split {split!r}", fix="use test, validation, train or all")
        check_lengths(specs, data)
        add_structure_if_needed(specs, data, None)
        cols = [bundle.meta.rbps.index(r) for r in group]
        parts = [data.splits[n] for n in names if len(data.splits[n])]
        y = np.concatenate([p.labels for p in parts]) if parts else \
            np.zeros((0, len(group)), np.uint8)
        p = np.concatenate([predict(bundle.model, specs, part.batch)[:, cols]
                            for part in parts]) if parts else np.zeros(y.shape, np.float32)
        labels.append(y)
        preds.append(p)
    scored = [score_metrics(y, p, list(g), split) for g, y, p in zip(groups, labels, preds,
                                                                      strict=True)]
    metrics = scored[0] if len(scored) == 1 else merge_metrics(scored)
    return metrics, groups, labels, preds
