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
      weight decay is ``min(0.1, 4 / sqrt(total steps))``, ~0.09 on the usual
      ~2,000 steps: the convolutions before a BatchNorm are scale-invariant, so the decay
      mostly sets their effective learning rate (van Laarhoven 2017). At the plain decay
      (~0.004) Multi-resBind on one world of ~1,200 training windows learnt so slowly that it
      ended at a training AUROC of 0.88 (test 0.81 against DeepRiPe's 0.91). On the training
      benchmark's six small worlds (``varbind train`` defaults, one run each) the stronger
      decay raised the test AUROC in 5 of 6 for each residual model (median +0.008
      Multi-resBind, +0.010 ResidualBind; the sixth -0.012 and -0.003). On real data, 3,000
      training sequences drawn from each of two RBP-24 sets (no jitter; the full test sets;
      one run each), Multi-resBind reached 0.976 against 0.967 (QKI) and 0.863 against 0.843
      (C22ORF28) at the plain decay. It was measured only below 4,000 windows, so larger
      sets (the full worlds and the demo set, ~6,400 windows) keep the plain decay. Just
      above the switch, on one world of 5,013 training windows (the simulator at 0.75 of the
      full world's size, seed 32; one run each), Multi-resBind with this decay and the weight
      averaging below (``--weight-decay 0.088 --ema-fraction 0.05``) reached a test AUROC of
      0.935 against 0.929 with the defaults (DeepRiPe 0.946, ResidualBind 0.932): within
      one run's spread, so the switch stays at 4,000. With the global head (a few hundred
      windows) the stronger decay made no difference on balance: on six tiny worlds it was
      higher in 6 of 12 world x architecture pairs (Multi-resBind 4 of 6, ResidualBind 2 of
      6; median change +0.0002), so the global head keeps the plain decay.
      On fresh small world 17 (1,794 training windows, 10 RBPs), where Multi-resBind still
      ends underfit (mean validation AUROC 0.852, training AUROC 0.913 and rising at its last
      epoch; DeepRiPe 0.884), none of these reached the default's validation AUROC, one run
      each: DeepRiPe's class weights 0.807 (a retry needed), no decay on BatchNorm's gamma
      and beta and on biases 0.825, nor on the output layer either 0.795, a decay of 0.2
      0.844, a peak learning rate of 1e-2 0.844 (a retry needed). The residual models' gap to
      DeepRiPe on such worlds sits mostly in the three rarest RBPs (ESRP2, MSI1, BRUNOL5, with
      4-45 positive test windows each; e.g. ESRP2 on world 17: 0.69 and 0.59 against 0.95),
      but DeepRiPe's class weights, which raise exactly those, did not close it either (one
      run each, ``--class-weight``, against the benchmark's rows of the defaults):
      Multi-resBind 0.796 against 0.830 (world 17) and 0.853 against 0.854 (world 22; ESRP2
      and BRUNOL5 up by 0.03 and 0.06, QKI down by 0.04), ResidualBind 0.823 against 0.831
      (world 17), and on world 22 its first try was judged weak (PCBP2, RBFOX1 and ESRP2
      below the k-mer baseline on validation; not run further). Judged instead on all 5,259
      windows of an independent world (medium world 32: ``varbind evaluate B --dataset
      multilabel.h5 --split all``), where three training seeds of Multi-resBind on world 17
      agreed within 0.01 (0.865, 0.867, 0.875; test AUROCs 0.830, 0.814, 0.846), world 17's
      gap is real (DeepRiPe 0.901, ResidualBind 0.873) and none of these closed it
      (Multi-resBind on world 17, one run each, commit d4c53b0): max pooling in the flattened
      head (a one-line change, not kept) 0.871 (on world 2 0.821 against 0.872), dropouts
      0.1/0.2/0.2 0.860, peak learning rate 2e-3 0.841 or 1e-2 0.855, batch 16 0.869 or 64
      0.820, no BatchNorm 0.851, the global head 0.828, kernel 7 0.866, pool 5 0.832, 100
      epochs 0.870 (445 s), DeepRiPe's max pool (4, stride 2) after the first convolution (not
      kept) 0.845 (world 2: 0.849). The gap is in what the residual trunk learns from the
      sequence: on sequence alone (``--inputs sequence``) it reaches 0.828 against DeepRiPe's
      0.892. The training benchmark now scores every model this way (``--judge``;
      ``docs/concepts/models.md`` has its gaps on five worlds);
    * batch size ``clip(2**floor(log2(N / 40)), 32, 128)``, so small sets still get ~40 steps
      an epoch;
    * a step budget: ``epochs = clip(ceil(B / steps_per_epoch), 20, 100)`` with B = 1000
      steps, 2000 for jittered models (multi-label models on peak datasets): the residual
      models' validation AUROC was still rising at the last epoch of 1000 steps
      (Multi-resBind on ~1,200 windows of one world ended at a training AUROC of 0.81),
      DeepRiPe's had levelled off; early stopping after ``clip(epochs // 5, 10, 15)``
      epochs without a better validation AUROC (the cap of 15, rather than 20 on runs of 100
      planned epochs, changed no kept epoch of 21 multi-label runs on seven worlds or of 36
      POLARIS models on six, and saved 16 % of POLARIS's epochs); the weights of the best
      validation-AUROC epoch are kept; below ``SMOOTH_BELOW`` training windows that AUROC is
      averaged over the last ``SMOOTH_EPOCHS`` epochs, since on a validation split of
      a few hundred windows one lucky early epoch would otherwise be kept (and stop the run)
      while the model is still underfit (the first epochs, before there are that many, are
      not candidates); and no run stops before half its planned epochs (a residual model on
      a few hundred windows can stay near chance for 15+ epochs, then learn; kept on
      unjittered sequence datasets too, where it was not measured). POLARIS's per-RBP models
      stopped on patience alone until one did exactly that on a fresh medium world (seed 32):
      BRUNOL5's model (289 training windows, 100 planned epochs) sat at a validation AUROC of
      0.65-0.68 for 22 epochs, was stopped at epoch 25 keeping epoch 10 (test AUROC 0.64,
      against 0.91-0.93 for the multi-label models' BRUNOL5 on that world), and, trained on,
      reached 0.93 at epoch 26 and 0.96 at epoch 28. On six small and tiny worlds the wait
      had changed none of 36 POLARIS models' kept epoch and cost 15 % of their epochs. A shorter
      patience for them was replayed on two fresh small worlds (19 POLARIS models trained
      without early stopping, test AUROC recorded every epoch): 10 epochs would have saved
      19 % of their epochs but lost 0.015-0.06 of test AUROC on 3 models, 8 epochs would
      have saved 30 % but lost 0.008-0.10 on 5 (one 0.001 better), so the patience stays;
    * a run still learning at its planned end (:func:`varbind.training.health.still_learning`)
      trains once more for ``EXTEND_FRACTION`` of its planned epochs, a warm restart of the
      same schedule with the same best-epoch keeper (:mod:`varbind.training.fitting`); runs
      not still learning are unchanged. On fresh small worlds 17 and 22, where both residual
      models had ended still learning (one run each, ``varbind train --arch A --dataset
      multilabel.h5 --seed W``, paired with the same run stopped at its planned epochs,
      ``--epochs 36`` / ``43``, which is the extension's first part): Multi-resBind's test
      AUROC went from 0.803 to 0.865 (world 17) and stayed at 0.857 (world 22: the extension
      validated no better, so the kept weights were the first part's); ResidualBind's from
      0.833 to 0.852 on world 22, and on world 17 its first part was judged weak (QKI below
      the k-mer baseline, MSI1 near chance) and retrained (0.791 after two tries), where the
      extended run passed the health check at once (0.789). DeepRiPe: 0.895 and 0.878.
      Planning 90 epochs from the start gave Multi-resBind 0.855 and 0.867 at twice the
      time of every run. User-given ``--epochs`` are never extended. Starting each output's
      bias at the log-odds of its RBP's share of positive training windows (-1.2 to -3.3
      on these worlds), instead of 0, was tried on worlds 17, 22, 24 and 25 against these
      defaults (one run each, ``varbind train --arch A --dataset multilabel.h5 --seed W``):
      Multi-resBind 0.865 -> 0.805, 0.857 -> 0.856, 0.859 -> 0.870, 0.882 -> 0.884,
      ResidualBind 0.789 -> 0.848, 0.852 -> 0.862, 0.870 -> 0.870, 0.898 -> 0.884 (median
      +0.002): within one run's spread, so the outputs start at 0;
    * BatchNorm momentum ``clip(1 - 10 / steps_per_epoch, 0.9, 0.99)``: with momentum 0.99
      and ~13 steps an epoch the moving statistics never catch up with the weights and
      validation runs on stale statistics (validation AUROC 0.62 against 0.93 in training);
    * Multi-resBind's and ResidualBind's BatchNorm stays at every size. Training them without
      it (``batch_norm=False``, peak learning rate 2e-3) rescued one world of ~1,200 training
      windows where, with BatchNorm, both stayed at a training AUROC of ~0.88 (test AUROC
      0.81 and 0.76 against DeepRiPe's 0.91; without it 0.88 and 0.87), but on five fresh
      worlds of that size it lowered the test AUROC in 6 of 8 world x architecture pairs
      (median -0.019; one +0.0002, one +0.008); with the global head (a few hundred
      windows) it was lower in 9 of 11;
    * an L2 penalty on kernels (POLARIS) of at most 1e-4: the paper's 0.01 assumes SGD at
      lr 0.01; under Adam it drives the convolutions to ~0 and the model ignores the sequence;
    * POLARIS reads the central 500 nt of a peaks dataset's 1-kb windows
      (``varbind_seq_length`` in :mod:`varbind.training.models`; the dataset keeps 1 kb, so
      ``--recipe paper`` trains on the same file). The paper's model over 1,000 nt spends ~90
      ms a step of 32 windows on one core, compute-bound (two 100-filter convolutions over
      1,000 and 250 positions), and its 274-548 epochs on a small world took 145-457 s of
      wall time on 2 cores (over the 180 s target on 20 of the benchmark's 26 small worlds,
      depending on the day's machine). Paired on five fresh small worlds (seeds 27-31,
      one run each, ``varbind train --arch polaris --dataset per-rbp.h5 --seed W --seq-length
      500`` against ``1000``, the same code; world 28's 1-kb run is the training benchmark's
      row, which world 27's rerun reproduced exactly): mean test AUROC 0.932 against 0.932,
      0.934 against 0.925, 0.946 against 0.936, 0.944 against 0.910 and 0.893 against 0.881,
      in 118-147 s of wall time against 210-255 s (0.69-0.85 s against 1.30-1.56 s per
      epoch, summed over the RBPs' models). On three tiny worlds (seeds 1-3, 99-193
      training windows per RBP model) the 1-kb model was barely above chance on some RBPs
      (mean 0.708, 0.734, 0.676; QKI, RBFOX1 and KHDRBS1 at 0.49-0.60) and the 500-nt one
      reached 0.842, 0.856 and 0.846 (about half the weights of its first dense layer). On
      medium world 32 and full world 2 (the training benchmark, one run each) the 500-nt
      model reached 0.961 and 0.985 against the 1-kb rows' 0.952 and 0.980. Variant effects
      too: on worlds 27, 29 and 30 the AUROC of |delta| for the simulator's loss and gain
      variants against neutral ones (``python tests/benchmarks/bench_score.py --world W
      --models B --skip-memory --repeats 1 --n 1000 --loop 10 --auroc-world bench``, commit
      f625d93; per strand, 12 figures a model on all contigs and 12 on the held-out ones) was
      higher with the 500-nt model in 9 of 12 on all contigs (median 0.788 against 0.708;
      the other three 0.002-0.021 lower) and in 10 of 12 held out (median 0.768 against
      0.730). The region class and expression reach the model as side inputs, not through
      the window;
    * multi-label models: every training window shifted by a random ``±JITTER`` of the input
      length (:mod:`varbind.training.augment`); per-RBP models (POLARIS) keep their
      peak-centered windows, and no model jitters on a dataset built from labelled sequences
      (``sequences``: :mod:`varbind.training.sequences`, e.g. RBP-24): each record is already
      centred on its binding site (GraphProt's viewpoint) and the test records are centred
      the same way and never shifted, so a shift only moves training windows away from where
      the test sites sit (DeepRiPe on the five RBP-24 sets, one seed each: mean test AUROC
      0.928 with jitter, lower on every set than a run without it (mean 0.937) and on four
      of five than a second (0.936; QKI 0.001 higher with jitter)). On ~1,400 windows of a
      peaks dataset jitter narrowed Multi-resBind's train / validation gap (AUROC
      0.98 / 0.80 -> 0.92 / 0.84, one world); on a few hundred windows Multi-resBind still
      overfits. The residual models' ``head=global`` (pooling over
      positions, ~6x fewer weights) was tried too: much better on a few hundred windows, no
      better than jitter alone on ~1,400 and a worse variant-effect ranking (a motif anywhere
      in the window counts as much as one at the variant), so the papers' head stays from
      ``GLOBAL_HEAD_BELOW`` training windows up; below it the flattened head memorised the
      training windows (test AUROC 0.76-0.81 against DeepRiPe's 0.83-0.87 on three worlds
      of 300-450 training windows; 0.79-0.84 with the global head), so it pools there;
    * multi-label models on a peaks dataset below ``EMA_BELOW`` training windows are validated
      and kept with an exponential moving average of their weights over ~``EMA_FRACTION`` of
      the planned steps (:mod:`varbind.training.averaging`). On the training benchmark's ten
      small worlds (~1,200-1,700 training windows; ``varbind train`` defaults, one run each,
      the same code otherwise) against the raw weights: Multi-resBind higher on 8 of 10
      (median +0.003; -0.002 to +0.014), ResidualBind on 8 of 10 (median +0.002; -0.002 to
      +0.010), DeepRiPe about unchanged (median +0.0003; -0.004 to +0.003), which brought the
      residual models within 0.02 of DeepRiPe on four more of them (worlds 1, 10, 11 and 12;
      not world 2). On three tiny worlds (a few hundred windows; one RBP's AUROC has a
      standard error of 0.04-0.07 there) Multi-resBind moved by -0.008 to +0.009, ResidualBind
      by +0.001 to +0.009, DeepRiPe by -0.021 to 0. On real data it did not help:
      Multi-resBind on 3,000 training sequences drawn from each of two RBP-24 sets (as for the
      weight decay above; one run each) reached 0.973 against 0.976 (QKI) and 0.858 against
      0.863 (C22ORF28) with the raw weights, so datasets of labelled sequences keep the raw
      weights. It was not measured on larger sets (the demo's ~6,400 windows) or on POLARIS's
      per-RBP models, which keep their raw weights too.

Explicit settings (``--epochs``, ``--learning-rate``, ``--hparam ...``) override a recipe.
The rules only read :class:`ArchitectureInfo` (its paper settings and hyperparameter names),
so an architecture added later gets the same treatment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from varbind.errors import VarbindError
from varbind.training import models as arch_models

PAPER, VARBIND = "paper", "varbind"
RECIPES = (VARBIND, PAPER)

#: The varbind recipe's constants (see the module docstring).
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
#: Below this many training windows the residual models pool over positions (head=global).
GLOBAL_HEAD_BELOW = 1000
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
    extend_fraction : a run still learning when ``epochs`` end trains this share of them
        more, once (0: never; :mod:`varbind.training.fitting`)
    schedule : ``constant``, ``plateau`` (decay by ``lr_decay`` after ``lr_patience`` flat
        epochs) or ``cosine`` (warm-up over ``warmup_epochs``, then cosine decay)
    hparams : the recipe's architecture hyperparameters (user overrides already applied)
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
    extend_fraction: float = 0.0
    hparams: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["hparams"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams.items()}
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
    if "head" in hparams and n_train < GLOBAL_HEAD_BELOW:
        hparams["head"] = "global"
    return Recipe(VARBIND, "adamw", learning_rate_for(hparams), batch, epochs,
                  min(MAX_PATIENCE, max(MIN_PATIENCE, epochs // 5)),
                  info.training.class_weight, monitor="val_auroc", schedule="cosine",
                  weight_decay=weight_decay_for(hparams, n_train, steps * epochs), warmup_epochs=1,
                  jitter=jitter, smooth_epochs=SMOOTH_EPOCHS if n_train < SMOOTH_BELOW else 1,
                  ema_fraction=default_ema_fraction(info, n_train, sequences),
                  min_run_fraction=MIN_RUN_FRACTION,
                  extend_fraction=EXTEND_FRACTION, hparams=hparams)


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
    the latest ``recipe.smooth_epochs``) and stopping after ``recipe.patience`` epochs without
    improvement (0: never stop early), once ``recipe.min_run_fraction`` of the epochs ran."""
    import keras

    higher = recipe.monitor != "val_loss"
    window = max(1, min(recipe.smooth_epochs, recipe.epochs))
    earliest_stop = math.ceil(recipe.min_run_fraction * recipe.epochs)

    class BestValidation(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = -math.inf if higher else math.inf
            self.best_epoch, self.best_weights, self.wait = -1, None, 0
            self.recent = []

        def on_epoch_end(self, epoch, logs=None):
            self.recent.append(float((logs or {}).get(recipe.monitor, math.nan)))
            latest = self.recent[-window:]  # a mean of fewer epochs is not a candidate
            value = sum(latest) / len(latest) if len(latest) == window else math.nan
            better = value > self.best if higher else value < self.best
            if math.isfinite(value) and better:
                self.best, self.best_epoch, self.wait = value, epoch, 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if recipe.patience and self.wait >= recipe.patience \
                        and epoch + 1 >= earliest_stop:
                    self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestValidation()


def schedule_callbacks(recipe: Recipe) -> list:
    """Learning-rate callbacks of ``recipe`` (ResidualBind's decay on plateau)."""
    import keras

    if recipe.schedule != "plateau" or not recipe.lr_decay:
        return []
    return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=recipe.lr_decay,
                                              patience=recipe.lr_patience, min_lr=1e-6,
                                              verbose=0)]
