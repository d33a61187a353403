"""Training recipes: how a model is optimised, decided per architecture and data size.

Two recipes exist for every architecture (``--recipe``):

``paper``
    The seed paper's exact recipe (:class:`varbind.training.models.TrainingDefaults`):
    optimiser, learning rate, batch size, epochs, early stopping on validation loss,
    ResidualBind's learning-rate decay on plateau, the paper's hyperparameters.
``varbind`` (default)
    One rule set, derived from the paper's settings and the number of training windows, that
    trains every architecture well from a few hundred to hundreds of thousands of windows:

    * AdamW with normalised decoupled weight decay ``min(0.01, 0.2 / sqrt(total steps))``, peak
      learning rate 5e-3 with BatchNorm (1e-3 without, also when ``--hparam
      batch_norm=false`` turns it off), one epoch of linear warm-up, then cosine decay to
      5 % over the planned steps. With BatchNorm and the flattened head (``head=flatten``,
      from ``GLOBAL_HEAD_BELOW`` windows up), below ``BN_DECAY_BELOW`` training windows, the
      weight decay is ``min(0.1, 4 / sqrt(total steps))``, ~0.09 on the usual ~2,000 steps:
      the convolutions before a BatchNorm are scale-invariant, so the decay mostly sets their
      effective learning rate (van Laarhoven 2017);
    * batch size ``clip(2**floor(log2(N / 40)), 32, 128)``, so small sets still get ~40 steps
      an epoch;
    * a step budget: ``epochs = clip(ceil(B / steps_per_epoch), 20, 100)`` with B = 1000
      steps, 2000 for jittered models (multi-label models on peak datasets); early stopping
      after ``clip(epochs // 5, 10, 15)`` epochs without a better validation AUROC, never
      before half the planned epochs; the weights of the best validation-AUROC epoch are
      kept, and below ``SMOOTH_BELOW`` training windows that AUROC is averaged over the last
      ``SMOOTH_EPOCHS`` epochs (the first epochs, before there are that many, are not
      candidates); an epoch is a candidate only once every epoch of that average separated
      its training windows (training AUROC at least ``MIN_TRAIN_AUROC``), so a small
      validation split cannot pick an untrained model by chance;
    * a run still learning at its planned end (:func:`varbind.training.health.still_learning`)
      trains once more for ``EXTEND_FRACTION`` of its planned epochs, a warm restart of the
      same schedule with the same best-epoch keeper (:mod:`varbind.training.fitting`); runs
      not still learning are unchanged, and user-given ``--epochs`` are never extended;
    * BatchNorm momentum ``clip(1 - 10 / steps_per_epoch, 0.9, 0.99)``, so the moving
      statistics catch up with the weights on a few steps an epoch; Multi-resBind's and
      ResidualBind's BatchNorm stays at every size;
    * an L2 penalty on kernels (POLARIS) of at most 1e-4: the paper's 0.01 assumes SGD at
      lr 0.01; under Adam it drives the convolutions to ~0;
    * POLARIS reads the central 500 nt of a peaks dataset's 1-kb windows
      (``varbind_seq_length`` in :mod:`varbind.training.models`; the dataset keeps 1 kb, so
      ``--recipe paper`` trains on the same file);
    * multi-label models on a peaks dataset: every training window shifted by a random
      ``±JITTER`` of the input length (:mod:`varbind.training.augment`); per-RBP models and
      datasets of labelled sequences (:mod:`varbind.training.sequences`) are not shifted.
      Below ``GLOBAL_HEAD_BELOW`` training windows the residual models pool over positions
      (``head=global``) and so does DeepRiPe (``head=max``: the maximum of its last
      convolution map, instead of the paper's pooled and flattened map); from
      ``HEAD_CHOICE_FROM`` up to ``GLOBAL_HEAD_BELOW`` the model is trained with both that
      head and the paper's (``head_choice``) and the one with the better validation AUROC is
      kept (:mod:`varbind.training.train`); below ``COARSE_POOL_BELOW`` the residual models'
      flattened head averages over ``COARSE_POOL`` positions (the papers: 10) before its
      dense layer;
    * multi-label models on a peaks dataset below ``EMA_BELOW`` training windows are validated
      and kept with an exponential moving average of their weights over ~``EMA_FRACTION`` of
      the planned steps (:mod:`varbind.training.averaging`).

What each rule was measured on, what else was tried and what it gave (including the residual
models' open gap to DeepRiPe on small worlds) is recorded in the documentation's page "The
varbind recipe: what was measured" (``docs/concepts/recipe-measurements.md``).

Explicit settings (``--epochs``, ``--learning-rate``, ``--hparam ...``) override a recipe.
The rules only read :class:`ArchitectureInfo` (its paper settings and hyperparameter names),
so an architecture added later gets the same treatment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from varbind.errors import VarbindError
from varbind.training import models as arch_models
from varbind.training.health import NEAR_CHANCE

PAPER, VARBIND = "paper", "varbind"
RECIPES = (VARBIND, PAPER)

#: The varbind recipe's constants (the module docstring; the measurements behind them are in
#: docs/concepts/recipe-measurements.md).
MIN_STEPS = 1000
MIN_EPOCHS, MAX_EPOCHS = 20, 100
WEIGHT_DECAY_NORM, MAX_WEIGHT_DECAY = 0.2, 0.01
#: The same for a model with BatchNorm and the flattened head below ``BN_DECAY_BELOW``
#: training windows: its convolutions are scale-invariant, so weight decay mostly sets their
#: effective learning rate (module docstring).
BN_WEIGHT_DECAY_NORM, BN_MAX_WEIGHT_DECAY, BN_DECAY_BELOW = 4.0, 0.1, 4000
BN_LEARNING_RATE, PLAIN_LEARNING_RATE = 5e-3, 1e-3
MAX_L2 = 1e-4
#: Largest random shift of a training window, as a fraction of the model's input length.
JITTER = 0.07
#: Jittered training sees a new view of each window every epoch: its step budget is larger.
JITTER_STEPS_FACTOR = 2
#: Below this many training windows the validation AUROC is averaged over SMOOTH_EPOCHS.
SMOOTH_BELOW, SMOOTH_EPOCHS = 4000, 3
#: Early stopping after ``clip(epochs // 5, MIN_PATIENCE, MAX_PATIENCE)`` epochs without a better
#: validation AUROC.
MIN_PATIENCE, MAX_PATIENCE = 10, 15
#: Early stopping waits until this share of the planned epochs has run.
MIN_RUN_FRACTION = 0.5
#: An epoch is kept only if each epoch its validation AUROC averages reached this training
#: AUROC (the health check's near-chance level); a run that never does keeps its best anyway.
MIN_TRAIN_AUROC = NEAR_CHANCE
#: Below this many training windows the residual models and DeepRiPe pool over positions
#: (their ``pooled_head``: head=global, head=max).
GLOBAL_HEAD_BELOW = 1000
#: From this many training windows up to GLOBAL_HEAD_BELOW the pooled head and the paper's are
#: both trained and the one with the better validation AUROC is kept.
HEAD_CHOICE_FROM = 500
#: Below COARSE_POOL_BELOW training windows the residual models' flattened head (theirs from
#: GLOBAL_HEAD_BELOW up, or one of the head_choice) averages over COARSE_POOL positions before
#: its dense layer (the papers: 10).
COARSE_POOL, COARSE_POOL_BELOW = 30, 4000
#: Below this many training windows a multi-label model on a peaks dataset is validated and
#: kept with an exponential moving average of its weights over ~EMA_FRACTION of the steps.
EMA_BELOW, EMA_FRACTION = 4000, 0.05
#: A run still learning at the end of its planned epochs trains this share of them more, once.
EXTEND_FRACTION = 0.5


@dataclass(frozen=True)
class Recipe:
    """Every optimisation setting of one training run, resolved.

    monitor : ``val_loss`` (lower is better) or ``val_auroc`` (higher is better): the
        quantity that picks the kept epoch and drives early stopping
    smooth_epochs : the monitor is averaged over this many latest epochs (1: not smoothed)
    ema_fraction : validate and keep an exponential moving average of the weights spanning
        about this share of the planned steps (0: the raw weights;
        :mod:`varbind.training.averaging`)
    min_run_fraction : early stopping waits until this share of ``epochs`` has run
    min_train_auroc : an epoch is a candidate for keeping only if each epoch the monitor
        averages reached this training AUROC (0: any epoch; a run in which none did keeps
        its best epoch regardless)
    extend_fraction : a run still learning when ``epochs`` end trains this share of them
        more, once (0: never; :mod:`varbind.training.fitting`)
    schedule : ``constant``, ``plateau`` (decay by ``lr_decay`` after ``lr_patience`` flat
        epochs) or ``cosine`` (warm-up over ``warmup_epochs``, then cosine decay)
    hparams : the recipe's architecture hyperparameters (user overrides already applied)
    head_choice : the ``head`` values to train one model with each of, keeping the one with
        the better validation AUROC (empty: train once with ``hparams["head"]``)
    """

    name: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    patience: int
    class_weight: bool
    monitor: str = "val_loss"
    schedule: str = "constant"
    weight_decay: float = 0.0
    lr_decay: float = 0.0
    lr_patience: int = 0
    warmup_epochs: int = 0
    jitter: float = 0.0
    smooth_epochs: int = 1
    ema_fraction: float = 0.0
    min_run_fraction: float = 0.0
    min_train_auroc: float = 0.0
    extend_fraction: float = 0.0
    hparams: dict = field(default_factory=dict)
    head_choice: tuple[str, ...] = ()

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["hparams"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams.items()}
        d["head_choice"] = list(self.head_choice)
        return d


def check_recipe(name: str) -> str:
    if name not in RECIPES:
        raise VarbindError(f"unknown recipe {name!r}", fix=f"use one of: {', '.join(RECIPES)}")
    return name


def paper_recipe(arch: str) -> Recipe:
    """The seed paper's recipe for ``arch``."""
    info = arch_models.check_architecture(arch)
    t = info.training
    return Recipe(PAPER, t.optimizer, t.learning_rate, t.batch_size, t.epochs, t.patience,
                  t.class_weight, monitor="val_loss",
                  schedule="plateau" if t.lr_decay else "constant", lr_decay=t.lr_decay,
                  lr_patience=t.lr_patience, hparams=dict(info.hyperparameters))


def varbind_batch_size(n_train: int) -> int:
    """``clip(2**floor(log2(N / 40)), 32, 128)``: ~40 or more steps an epoch on small sets."""
    return int(min(128, max(32, 2 ** math.floor(math.log2(max(n_train, 1) / 40)))))


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps in one epoch over ``n_train`` windows (at least 1)."""
    return max(1, math.ceil(n_train / batch_size))


def varbind_recipe(arch: str, n_train: int, batch_size: int | None = None,
                   sequences: bool = False) -> Recipe:
    """The varbind recipe for ``arch`` on ``n_train`` training windows (module docstring);
    ``sequences``: the dataset was built from labelled sequences (no jitter)."""
    info = arch_models.check_architecture(arch)
    batch = batch_size or varbind_batch_size(n_train)
    steps = steps_per_epoch(n_train, batch)
    jitter = default_jitter(info, sequences)
    budget = MIN_STEPS * (JITTER_STEPS_FACTOR if jitter else 1)
    epochs = int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(budget / steps))))
    hparams = dict(info.hyperparameters)
    if "bn_momentum" in hparams:
        hparams["bn_momentum"] = round(bn_momentum(steps), 4)
    if "l2" in hparams:
        hparams["l2"] = min(float(hparams["l2"]), MAX_L2)
    head_choice = ()
    if info.pooled_head and n_train < GLOBAL_HEAD_BELOW:
        if n_train >= HEAD_CHOICE_FROM:
            head_choice = (info.pooled_head, hparams["head"])
        hparams["head"] = info.pooled_head
    if "head" in hparams and "pool_size" in hparams and n_train < COARSE_POOL_BELOW:
        hparams["pool_size"] = COARSE_POOL  # the residual models' flattened head
    return Recipe(VARBIND, "adamw", learning_rate_for(hparams), batch, epochs,
                  min(MAX_PATIENCE, max(MIN_PATIENCE, epochs // 5)),
                  info.training.class_weight, monitor="val_auroc", schedule="cosine",
                  weight_decay=weight_decay_for(hparams, n_train, steps * epochs), warmup_epochs=1,
                  jitter=jitter, smooth_epochs=SMOOTH_EPOCHS if n_train < SMOOTH_BELOW else 1,
                  ema_fraction=default_ema_fraction(info, n_train, sequences),
                  min_run_fraction=MIN_RUN_FRACTION, min_train_auroc=MIN_TRAIN_AUROC,
                  extend_fraction=EXTEND_FRACTION, hparams=hparams, head_choice=head_choice)


def learning_rate_for(hparams: dict) -> float:
    """The varbind recipe's peak learning rate: ``BN_LEARNING_RATE`` for a model with
    BatchNorm (``batch_norm``), ``PLAIN_LEARNING_RATE`` otherwise."""
    return BN_LEARNING_RATE if hparams.get("batch_norm") else PLAIN_LEARNING_RATE


def weight_decay_for(hparams: dict, n_train: int, total_steps: int) -> float:
    """The varbind recipe's decoupled weight decay for ``total_steps`` planned steps on
    ``n_train`` windows: the BatchNorm constants for a model with BatchNorm (``batch_norm``)
    and the flattened head (``head``) below ``BN_DECAY_BELOW`` windows, else the plain ones."""
    strong = hparams.get("batch_norm") and hparams.get("head") == "flatten"
    if strong and n_train < BN_DECAY_BELOW:
        return normalised_weight_decay(total_steps, BN_WEIGHT_DECAY_NORM, BN_MAX_WEIGHT_DECAY)
    return normalised_weight_decay(total_steps)


def check_ema_fraction(fraction: float | None) -> float | None:
    """``fraction`` if it is None or within [0, 1], else a :class:`VarbindError`."""
    if fraction is not None and not 0.0 <= fraction <= 1.0:
        raise VarbindError(f"--ema-fraction must be between 0 and 1, got {fraction}",
                           fix="give the share of the planned steps the weight average spans "
                               "(0.05 is the default; 0 keeps the raw weights)")
    return fraction


def default_ema_fraction(info, n_train: int, sequences: bool) -> float:
    """The varbind recipe's weight averaging: ``EMA_FRACTION`` for a multi-label architecture
    on a peaks dataset below ``EMA_BELOW`` training windows, else 0 (raw weights: per-RBP
    models, datasets of labelled sequences and larger sets)."""
    small_peaks = not sequences and n_train < EMA_BELOW
    return EMA_FRACTION if small_peaks and not info.training.per_rbp else 0.0


def default_jitter(info, sequences: bool) -> float:
    """The varbind recipe's training-window jitter: ``JITTER`` for a multi-label
    architecture on a peaks dataset; 0 for a per-RBP architecture (peak-centred windows) and
    for any architecture on a dataset of labelled sequences (records centred on their site)."""
    return 0.0 if info.training.per_rbp or sequences else JITTER


def normalised_weight_decay(total_steps: int, norm: float = WEIGHT_DECAY_NORM,
                            cap: float = MAX_WEIGHT_DECAY) -> float:
    """Normalised decoupled weight decay (Loshchilov & Hutter 2019):
    ``min(cap, norm / sqrt(total steps))``, so its total effect does not grow with the run."""
    return float(min(cap, norm / math.sqrt(max(total_steps, 1))))


def bn_momentum(steps_per_epoch: int) -> float:
    """BatchNorm moving-average momentum for ``steps_per_epoch``: ``clip(1 - 10/s, .9, .99)``."""
    return float(min(0.99, max(0.9, 1.0 - 10.0 / max(steps_per_epoch, 1))))


def resolve_recipe(arch: str, name: str, n_train: int, *, optimizer=None, learning_rate=None,
                   batch_size=None, epochs=None, patience=None, class_weight=None,
                   weight_decay=None, monitor=None, jitter=None, ema_fraction=None,
                   hparams: dict | None = None, sequences: bool = False) -> Recipe:
    """The recipe ``name`` for ``arch`` on ``n_train`` windows with explicit settings applied.

    Any argument that is not None overrides the recipe's value; ``hparams`` overrides single
    hyperparameters (unknown keys raise :class:`VarbindError`); ``sequences``: the dataset
    was built from labelled sequences (the varbind recipe does not jitter there).
    """
    check_recipe(name)
    base = paper_recipe(arch) if name == PAPER else varbind_recipe(arch, n_train, batch_size,
                                                                    sequences)
    params = arch_models.hyperparameters(arch, {**base.hparams, **(hparams or {})})
    if name == VARBIND and learning_rate is None:
        learning_rate = learning_rate_for(params)  # the rate goes with the user's hparams
    given = dict(optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
                 epochs=epochs, patience=patience, class_weight=class_weight,
                 weight_decay=weight_decay, monitor=monitor, jitter=jitter,
                 ema_fraction=check_ema_fraction(ema_fraction))
    changes = {k: v for k, v in given.items() if v is not None}
    if "epochs" in changes:  # the user's epochs are not extended
        changes["extend_fraction"] = 0.0
    if "head" in (hparams or {}):  # so is the user's head
        changes["head_choice"] = ()
    if changes.get("optimizer") in ("adam", "sgd") and "weight_decay" not in changes:
        changes["weight_decay"] = 0.0
    elif name == VARBIND and "weight_decay" not in changes:  # so does the decay
        total_steps = steps_per_epoch(n_train, base.batch_size) * base.epochs
        changes["weight_decay"] = weight_decay_for(params, n_train, total_steps)
    return Recipe(**{**base.__dict__, **changes, "hparams": params})


# ----------------------------------------------------------------------------- keras glue


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    """The Keras optimiser of ``recipe`` with its learning-rate schedule."""
    import keras

    lr = recipe.learning_rate
    if recipe.schedule == "cosine":
        warmup = recipe.warmup_epochs * steps_per_epoch
        total = max(recipe.epochs * steps_per_epoch - warmup, 1)
        lr = keras.optimizers.schedules.CosineDecay(
            recipe.learning_rate / 10 if warmup else recipe.learning_rate, total, alpha=0.05,
            warmup_target=recipe.learning_rate if warmup else None, warmup_steps=warmup)
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    raise VarbindError(f"unknown optimizer {recipe.optimizer!r}", fix="use adamw, adam or sgd")


def best_epoch_callback(recipe: Recipe):
    """A callback keeping the weights of the best epoch by ``recipe.monitor`` (averaged over
    the latest ``recipe.smooth_epochs``) among the epochs whose averaged epochs all reached a
    training AUROC of ``recipe.min_train_auroc`` (if none did: among all), and stopping after
    ``recipe.patience`` epochs without improvement (0: never stop early), once
    ``recipe.min_run_fraction`` of the epochs ran."""
    import keras

    higher = recipe.monitor != "val_loss"
    window = max(1, min(recipe.smooth_epochs, recipe.epochs))
    earliest_stop = math.ceil(recipe.min_run_fraction * recipe.epochs)

    class Keeper:
        """The best (monitor value, epoch, weights) seen among the epochs offered to it."""

        def __init__(self):
            self.best, self.epoch, self.weights = (-math.inf if higher else math.inf), -1, None

        def offer(self, value: float, epoch: int, model) -> bool:
            if not math.isfinite(value) or not (value > self.best if higher
                                                else value < self.best):
                return False
            self.best, self.epoch, self.weights = value, epoch, model.get_weights()
            return True

    class BestValidation(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.trained, self.any = Keeper(), Keeper()  # among fitted epochs; among all
            self.wait, self.recent, self.fitted = 0, [], []

        @property
        def kept(self) -> Keeper:
            """The best fitted epoch's keeper, or while there is none the fallback's."""
            return self.trained if self.trained.weights is not None else self.any

        @property
        def best_epoch(self) -> int:
            return self.kept.epoch

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.recent.append(float(logs.get(recipe.monitor, math.nan)))
            self.fitted.append(not recipe.min_train_auroc  # 0: every epoch counts as fitted
                               or float(logs.get("auroc", math.inf)) >= recipe.min_train_auroc)
            latest = self.recent[-window:]  # a mean of fewer epochs is not a candidate
            value = sum(latest) / len(latest) if len(latest) == window else math.nan
            if all(self.fitted[-window:]) and self.trained.offer(value, epoch, self.model):
                self.wait = 0
                return
            if self.trained.weights is None:  # patience counts from the first fitted epoch
                self.any.offer(value, epoch, self.model)  # the fallback
                return
            self.wait += 1
            if recipe.patience and self.wait >= recipe.patience and epoch + 1 >= earliest_stop:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.kept.weights is not None:
                self.model.set_weights(self.kept.weights)

    return BestValidation()


def schedule_callbacks(recipe: Recipe) -> list:
    """Learning-rate callbacks of ``recipe`` (ResidualBind's decay on plateau)."""
    import keras

    if recipe.schedule != "plateau" or not recipe.lr_decay:
        return []
    return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=recipe.lr_decay,
                                              patience=recipe.lr_patience, min_lr=1e-6,
                                              verbose=0)]
