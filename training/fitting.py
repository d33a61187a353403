"""One Keras fit of a model on a training dataset: batches, loss, optimiser, callbacks, and the
kept epoch (:func:`fit`).

Same seed, same model: :func:`set_determinism` seeds Python, NumPy and the backend and turns
on deterministic kernels; batches are shuffled by a NumPy generator seeded per epoch.

A run whose validation AUROC is still rising when its planned epochs end
(:func:`varbind.training.health.still_learning`) is extended once, when the recipe says so
(``Recipe.extend_fraction``): it trains ``extend_fraction`` x the planned epochs more, with a
fresh optimiser on the same schedule (warm-up, then cosine decay over the extension; a warm
restart), the same early stopping and the same best-epoch keeper, so the extension can only
replace the kept weights with better-validating ones.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from dataclasses import dataclass, replace

import numpy as np

from varbind.model.inputs import InputSpec, build_inputs
from varbind.training.augment import jitter_batch, training_shift
from varbind.training.averaging import averaging_callbacks
from varbind.training.health import still_learning
from varbind.training.recipes import (
    Recipe,
    best_epoch_callback,
    make_optimizer,
    schedule_callbacks,
)
from varbind.training.training_data import SplitData, TrainingData, take

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """One fit: the model holding its kept weights, the kept epoch and the epochs run
    (1-based), the per-epoch Keras history, and the epochs the extension planned (0: none)."""

    model: object
    best_epoch: int
    epochs_run: int
    history: dict
    seconds: float
    windows_per_second: float
    extended_epochs: int = 0


def set_determinism(seed: int) -> None:
    """Same seed, same weights: seed every generator and use deterministic kernels."""
    import keras

    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with contextlib.suppress(RuntimeError, AttributeError):
            tf.config.experimental.enable_op_determinism()


def _window_dataset_class():
    import keras

    class WindowDataset(keras.utils.PyDataset):
        """Batches of inputs built on the fly from codes; windows shifted by up to ``shift`` nt.

        ``shuffle=False``: the split's batches in order (validation). ``shuffle=True``: an
        endless stream for ``fit(steps_per_epoch=len(dataset))``, read through one iterator
        for the whole fit. Batch ``i`` is batch ``i % len(dataset)`` of data epoch
        ``first_data_epoch + i // len(dataset)`` (order and shifts seeded by that epoch), a pure
        function of ``i``, so Keras may prefetch across an epoch's end. (A finite dataset
        made Keras open a fresh iterator every epoch: ~0.4-0.9 s lost in half the epochs.)
        """

        def __init__(self, specs, data: SplitData, batch_size: int, shuffle: bool, seed: int,
                     shift: int = 0):
            super().__init__(workers=1, use_multiprocessing=False)
            self.specs, self.data = specs, data
            self.batch_size, self.shuffle, self.seed, self.shift = batch_size, shuffle, seed, shift
            self.first_data_epoch = 0
            self._order = (None, np.arange(len(data)))  # (data epoch, its window order)

        def __len__(self):
            return math.ceil(len(self.data) / self.batch_size)

        @property
        def num_batches(self):
            return None if self.shuffle else len(self)

        def start_phase(self, first_epoch: int, phase: int) -> None:
            """Number the data epochs of a fit's ``phase`` (0: the first) that starts at
            global epoch ``first_epoch``: ``first_epoch + phase + 1`` onwards, the numbers
            Keras's epoch-end calls gave them before (it announced one epoch end before
            each fit), so a seed trains the same weights as before."""
            self.first_data_epoch = first_epoch + phase + 1

        def order(self, epoch: int) -> np.ndarray:
            """The window order of data epoch ``epoch``, shape (N,)."""
            if self.shuffle and self._order[0] != epoch:
                self._order = (epoch, np.random.default_rng([self.seed, epoch])
                               .permutation(len(self.data)))
            return self._order[1]

        def __getitem__(self, i):
            epoch, j = divmod(i, len(self)) if self.shuffle else (0, i)
            epoch += self.first_data_epoch
            idx = np.sort(self.order(epoch)[j * self.batch_size:(j + 1) * self.batch_size])
            rng = np.random.default_rng([self.seed, epoch, j, 1])
            x = build_inputs(self.specs, jitter_batch(take(self.data.batch, idx), self.shift, rng))
            y = self.data.labels[idx].astype(np.float32)
            return tuple(x), y

    return WindowDataset


def _epoch_bar(total_epochs: int, steps: int, enabled: bool):
    """A callback drawing one tqdm bar per epoch on stderr and logging the losses at its end."""
    import keras

    class EpochBar(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.bar = None

        def on_epoch_begin(self, epoch, logs=None):
            from tqdm import tqdm

            self.bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{total_epochs}", unit="batch",
                            file=sys.stderr, disable=not enabled, leave=False)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs and "loss" in logs and batch % 10 == 0:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.close()
            logs = logs or {}
            log.info("epoch %d/%d: loss %.4f, validation loss %.4f, validation AUROC %.3f",
                     epoch + 1, total_epochs, float(logs.get("loss", float("nan"))),
                     float(logs.get("val_loss", float("nan"))),
                     float(logs.get("val_auroc", float("nan"))))

    return EpochBar()


def positive_weights(labels: np.ndarray, mu: float = 0.5) -> np.ndarray:
    """DeepRiPe's class weights: ``max(1, ln(mu * N / n_k))`` per label column, shape (K,)."""
    n = len(labels)
    pos = np.maximum(labels.sum(axis=0).astype(np.float64), 1.0)
    return np.maximum(1.0, np.log(mu * n / pos))


def _compile(model, plan: Recipe, labels: np.ndarray, steps: int):
    """Compile ``model`` with ``plan``'s optimiser and schedule (a fresh optimiser each call)."""
    import keras

    from varbind.model.layers import WeightedBinaryCrossentropy

    if plan.class_weight:
        loss = WeightedBinaryCrossentropy(positive_weights(labels).tolist())
    else:
        loss = keras.losses.BinaryCrossentropy()
    n_labels = labels.shape[1] if labels.ndim == 2 else 1
    auroc = keras.metrics.AUC(multi_label=n_labels > 1, num_labels=n_labels if n_labels > 1
                              else None, name="auroc")
    model.compile(optimizer=make_optimizer(plan, steps), loss=loss, metrics=[auroc])


def _run_phase(model, plan: Recipe, train, val, best, labels, first_epoch: int, phase: int,
               total_epochs: int, progress: bool) -> dict:
    """``plan.epochs`` epochs from epoch ``first_epoch`` (0-based) with a fresh optimiser;
    ``phase``: 0 for the first, 1 for the extension; ``best`` (the best-epoch keeper)
    carries over between phases. The phase's history."""
    steps = len(train)
    train.start_phase(first_epoch, phase)
    _compile(model, plan, labels, steps)
    averaging = averaging_callbacks(steps * plan.epochs, plan.ema_fraction, val)
    keepers = [averaging[0], best, averaging[1]] if averaging else [best]
    callbacks = keepers + [_epoch_bar(total_epochs, steps, progress)] + schedule_callbacks(plan)
    history = model.fit(train, validation_data=None if averaging else val,
                        initial_epoch=first_epoch, epochs=first_epoch + plan.epochs,
                        steps_per_epoch=steps, verbose=0, callbacks=callbacks, shuffle=False)
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def extension_epochs(plan: Recipe) -> int:
    """Epochs of the one extension of a run still learning at its end (0: never extended)."""
    return math.ceil(plan.extend_fraction * plan.epochs)


def fit(model, specs: list[InputSpec], data: TrainingData, config) -> FitResult:
    """Compile and fit ``model`` by ``config.plan`` (a resolved ``TrainConfig``); keep the best
    epoch; extend a run still learning at its end once (module docstring)."""
    from varbind.model.device import spend_onednn_boolean_notice

    spend_onednn_boolean_notice()
    plan = config.plan
    window_dataset = _window_dataset_class()
    train = window_dataset(specs, data.splits["train"], plan.batch_size, True, config.seed,
                           training_shift(plan, specs))
    val = window_dataset(specs, data.splits["validation"], max(plan.batch_size, 256), False,
                         config.seed)
    labels = data.splits["train"].labels
    n_train = len(labels)
    best = best_epoch_callback(plan)
    progress = config.progress and sys.stderr.isatty()
    start = time.perf_counter()
    history = _run_phase(model, plan, train, val, best, labels, 0, 0, plan.epochs, progress)
    result = _result(model, best, history, start, n_train, 0)
    extra = extension_epochs(plan)
    if extra and still_learning(result, plan.epochs):
        log.info("%s: validation AUROC still rising after the %d planned epochs; training "
                 "up to %d more", config.name or config.arch, plan.epochs, extra)
        more = _run_phase(model, replace(plan, epochs=extra), train, val, best, labels,
                          result.epochs_run, 1, plan.epochs + extra, progress)
        history = {k: history.get(k, []) + more.get(k, [])
                   for k in dict.fromkeys([*history, *more])}  # keys in a stable order
        result = _result(model, best, history, start, n_train, extra)
    return result


def _result(model, best, history: dict, start: float, n_train: int, extra: int) -> FitResult:
    """The FitResult of a fit begun at ``start`` (``time.perf_counter()``) on ``n_train``
    windows, holding ``best``'s kept epoch; ``extra``: the extension's planned epochs."""
    seconds = time.perf_counter() - start
    epochs_run = len(history.get("loss", []))
    return FitResult(model=model, best_epoch=best.best_epoch + 1, epochs_run=epochs_run,
                     history=history, seconds=seconds,
                     windows_per_second=epochs_run * n_train / max(seconds, 1e-9),
                     extended_epochs=extra)
