"""The training health check: is each RBP's model better than chance and than a k-mer baseline?

After a model is trained, every RBP is judged on the **validation** split (the test split
stays untouched for reporting):

* near chance: validation AUROC below :data:`NEAR_CHANCE`;
* clearly worse than the baseline: validation AUROC below the k-mer baseline's
  (:mod:`varbind.training.kmer_baseline`) by more than :data:`BASELINE_MARGIN` and more than
  two standard errors of an AUROC on that many validation windows (Hanley & McNeil 1982), so
  that a small validation split does not raise false alarms.

A model with a weak RBP is retrained (another initialisation, the learning rate times
:data:`RETRY_LR_FACTOR` per retry) up to ``max_tries`` times in all; the best try is kept
(fewest weak RBPs, then the highest mean validation AUROC). The kept model is then checked on
the test split too (:func:`held_out_reasons`: clearly below chance or the baseline there; a
validation split of a few dozen windows can pass a model that does not carry over to other
contigs), which marks an RBP weak without retraining. What is left weak is recorded in
``model.json`` (``training.health``) and reported by ``varbind train``, which exits non-zero
unless ``--allow-weak``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from varbind.training.evaluate import auroc_standard_error, class_counts

log = logging.getLogger(__name__)

NEAR_CHANCE = 0.6
BASELINE_MARGIN = 0.05
RETRY_LR_FACTOR = 0.3
RULE = (f"weak: validation AUROC < {NEAR_CHANCE}, or below the k-mer baseline's validation "
        f"AUROC by more than max({BASELINE_MARGIN}, 2 standard errors); or test AUROC below "
        f"0.5 by more than 2 standard errors, or below the baseline's by more than "
        f"max({BASELINE_MARGIN}, 2 standard errors of the difference)")


@dataclass
class Attempt:
    """One training try: the model, its fit, its validation metrics and its config."""

    model: object
    fit: object
    validation: dict  # score_metrics of the validation split
    config: object


def weak_reasons(validation: dict, baseline: dict) -> dict[str, str]:
    """``{rbp: why}`` for every weak RBP (see the module docstring); healthy RBPs are absent.

    validation, baseline : metrics of the model and of the k-mer baseline on the validation
        split (:func:`varbind.training.evaluate.score_metrics`)
    """
    out = {}
    for rbp, auroc in validation["auroc"].items():
        base = baseline["auroc"].get(rbp)
        if auroc is None or not np.isfinite(auroc):
            out[rbp] = "no validation AUROC"
            continue
        pos = validation.get("positives", {}).get(rbp, 0)
        margin = BASELINE_MARGIN if base is None else max(
            BASELINE_MARGIN, 2 * auroc_standard_error(base, pos, validation["n_windows"] - pos))
        if auroc < NEAR_CHANCE:
            out[rbp] = f"validation AUROC {auroc:.3f} is near chance (< {NEAR_CHANCE})"
        elif base is not None and auroc < base - margin:
            out[rbp] = (f"validation AUROC {auroc:.3f} is below the k-mer baseline's "
                        f"{base:.3f}")
    return out


#: A run is still learning at its end when it ran all its planned epochs, kept the last one,
#: and its validation AUROC rose by at least STILL_RISING over the last RISE_EPOCHS epochs
#: (more than a flat plateau's noise). Of the 24 multi-label runs on the training
#: benchmark's fresh small worlds 16-22 it flags exactly the four 0.03-0.09 below DeepRiPe's
#: test AUROC (Multi-resBind and ResidualBind on worlds 17 and 22, rising by 0.0045-0.012);
#: no other run (the next worst: 0.021 below), nor any of the 103 POLARIS models there,
#: kept its last planned epoch.
STILL_RISING, RISE_EPOCHS = 0.001, 5
#: Architectures that learnt more slowly than DeepRiPe where they ended still learning.
SLOWER_THAN_DEEPRIPE = ("multiresbind", "residualbind")


def still_learning(fit, planned_epochs: int, arch: str = "") -> str | None:
    """Why the run ``fit`` (a ``FitResult``: ``history``, ``best_epoch``, ``epochs_run``,
    1-based) looks underfit, or None: it ran all ``planned_epochs``, kept the last, and its
    validation AUROC rose by at least :data:`STILL_RISING` over the last :data:`RISE_EPOCHS`."""
    val = fit.history.get("val_auroc", [])
    if fit.epochs_run < planned_epochs or fit.best_epoch != fit.epochs_run \
            or len(val) <= RISE_EPOCHS:
        return None
    rise = val[-1] - val[-1 - RISE_EPOCHS]
    if not rise >= STILL_RISING:
        return None
    advice = ("compare it with --arch deepripe, which learnt faster on the small simulated "
              "sets where this architecture ended so, or train longer (--epochs)"
              if arch in SLOWER_THAN_DEEPRIPE else "train longer (--epochs)")
    return (f"its validation AUROC was still rising when the {planned_epochs} planned epochs "
            f"ended (+{rise:.3f} over the last {RISE_EPOCHS}), so it is likely underfit: "
            + advice)


def warn_if_still_learning(fit, config) -> str | None:
    """:func:`still_learning` for the run of ``config`` (planned ``config.epochs``, plus the
    extension's if it ran), logged as a warning naming the model; the reason, or None."""
    why = still_learning(fit, config.epochs + fit.extended_epochs, config.arch)
    if why:
        log.warning("%s: %s", config.name or config.arch, why)
    return why


def retry_config(config, index: int):
    """The config of retry ``index`` (0: the first try): another seed, a lower learning rate."""
    if index == 0:
        return config
    lr = config.plan.learning_rate * RETRY_LR_FACTOR ** index
    return replace(config, seed=config.seed + 1000 * index, learning_rate=lr,
                   plan=replace(config.plan, learning_rate=lr))


def attempt_rank(attempt: Attempt, baseline: dict) -> tuple:
    """Higher is better: (minus the number of weak RBPs, mean validation AUROC)."""
    weak = weak_reasons(attempt.validation, baseline)
    mean = attempt.validation.get("mean_auroc") or 0.0
    return (-len(weak), mean)


def train_until_healthy(run_once: Callable[[object], Attempt], config,
                        baseline: dict) -> tuple[Attempt, dict]:
    """Train with ``run_once(config)`` until no RBP is weak or ``config.max_tries`` are used.

    Returns
    -------
    (the best attempt, its health record for ``model.json``)
    """
    best, tries = None, 0
    for index in range(max(1, config.max_tries)):
        attempt = run_once(retry_config(config, index))
        tries += 1
        if best is None or attempt_rank(attempt, baseline) > attempt_rank(best, baseline):
            best = attempt
        weak = weak_reasons(attempt.validation, baseline)
        if not weak:
            break
        if index + 1 < config.max_tries:
            log.warning("retraining (try %d of %d): %s", index + 2, config.max_tries,
                        "; ".join(f"{r}: {why}" for r, why in weak.items()))
    return best, health_record(best, baseline, tries)


def health_record(attempt: Attempt, baseline: dict, tries: int) -> dict:
    """``{"status", "rule", "rbps": {rbp: {...}}}`` for ``model.json``."""
    weak = weak_reasons(attempt.validation, baseline)
    rbps = {}
    for rbp, auroc in attempt.validation["auroc"].items():
        rbps[rbp] = {"status": "weak" if rbp in weak else "ok", "validation_auroc": auroc,
                     "baseline_validation_auroc": baseline["auroc"].get(rbp), "tries": tries,
                     "seed": attempt.config.seed,
                     "learning_rate": attempt.config.plan.learning_rate}
        if rbp in weak:
            rbps[rbp]["reason"] = weak[rbp]
    return {"status": "weak" if weak else "ok", "rule": RULE, "rbps": rbps}


def held_out_reasons(metrics: dict) -> dict[str, str]:
    """``{rbp: why}`` for every RBP whose *test* AUROC is below chance by more than two
    standard errors, or below the k-mer baseline's by more than :data:`BASELINE_MARGIN` and
    two standard errors of the difference (both AUROCs' errors combined): a model that
    passed on validation but does not carry over to the held-out contigs, which a validation
    split of a few dozen windows cannot see. Only recorded: the test split chooses nothing,
    so nothing is retrained on it.

    metrics : test metrics with the baseline's under ``baseline`` (:func:`held_out_metrics`)
    """
    base, out = metrics.get("baseline", {}).get("auroc", {}), {}
    for rbp, auroc in metrics["auroc"].items():
        pos, neg = class_counts(metrics, rbp) or (0, 0)
        if auroc is None or pos < 1 or neg < 1:
            continue
        b = base.get(rbp)
        if auroc < 0.5 - 2 * auroc_standard_error(0.5, pos, neg):
            out[rbp] = f"test AUROC {auroc:.3f} is below chance on the held-out contigs"
        elif b is not None and auroc < b - max(BASELINE_MARGIN, 2 * float(np.hypot(
                auroc_standard_error(auroc, pos, neg), auroc_standard_error(b, pos, neg)))):
            out[rbp] = (f"test AUROC {auroc:.3f} is below the k-mer baseline's {b:.3f} on the "
                        "held-out contigs")
    return out


def add_held_out_check(health: dict, metrics: dict) -> dict:
    """``health`` (:func:`health_record`) with every RBP failing :func:`held_out_reasons`
    marked weak, its reason added."""
    for rbp, why in held_out_reasons(metrics).items():
        entry = health["rbps"].get(rbp)
        if entry is not None:
            entry["status"], health["status"] = "weak", "weak"
            entry["reason"] = "; ".join(r for r in (entry.get("reason"), why) if r)
    return health


def merge_health(records: list[dict]) -> dict:
    """One record from per-RBP records (POLARIS members)."""
    rbps = {r: v for rec in records for r, v in rec["rbps"].items()}
    weak = any(v["status"] == "weak" for v in rbps.values())
    return {"status": "weak" if weak else "ok", "rule": RULE, "rbps": rbps}


def held_out_metrics(model, specs: list, data, rbps: list[str], baseline_test: dict,
                     name: str) -> dict:
    """``model``'s metrics on the test split of ``data`` with the k-mer baseline's
    (``baseline_test``) under ``baseline``; logs a warning naming each RBP with too few
    positive test windows to judge it (:func:`~varbind.training.evaluate.warn_if_few_positives`)."""
    from varbind.training.evaluate import evaluate_split, warn_if_few_positives

    metrics = evaluate_split(model, specs, data.splits["test"], rbps)
    metrics["baseline"] = baseline_summary(baseline_test)
    warn_if_few_positives(metrics, name)
    return metrics


def baseline_summary(metrics: dict) -> dict:
    """The k-mer baseline's test metrics as stored under ``metrics.baseline``."""
    from varbind.training.kmer_baseline import DESCRIPTION

    return {"method": DESCRIPTION, "auroc": metrics["auroc"], "ap": metrics["ap"],
            "mean_auroc": metrics["mean_auroc"], "mean_ap": metrics["mean_ap"]}


def merge_baselines(parts: list[dict]) -> dict:
    """One ``metrics.baseline`` from per-RBP ones (POLARIS members), means recomputed."""
    auroc = {r: v for p in parts for r, v in p["auroc"].items()}
    ap = {r: v for p in parts for r, v in p["ap"].items()}

    def mean(values):
        got = [v for v in values.values() if v is not None]
        return round(float(np.mean(got)), 6) if got else None

    return {"method": parts[0]["method"], "auroc": auroc, "ap": ap, "mean_auroc": mean(auroc),
            "mean_ap": mean(ap)}


def weak_messages(health: dict) -> list[str]:
    """One line per weak RBP for stderr."""
    return [f"weak model for RBP {rbp}: {v.get('reason', 'weak')} after {v['tries']} "
            f"tr{'y' if v['tries'] == 1 else 'ies'}"
            for rbp, v in health.get("rbps", {}).items() if v["status"] == "weak"]
