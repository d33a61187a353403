"""Training: windows and labels in, a saved, evaluated, self-describing model bundle out.

The flow is :func:`load_dataset` (a training HDF5 from :mod:`varbind.training.datasets`)
-> :func:`train_multilabel` (Multi-resBind, DeepRiPe, ResidualBind) or
:func:`train_per_rbp` (POLARIS, one model per RBP, joined) -> :func:`write_bundle`.
Model inputs come only from :func:`varbind.model.inputs.build_inputs`, like scoring.

Same seed, same model: :func:`set_determinism` seeds Python, NumPy and the backend and turns
on deterministic kernels; batches are shuffled by a NumPy generator seeded per epoch.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from varbind.errors import VarbindError
from varbind.model.bundle import ModelMeta
from varbind.model.inputs import InputSpec, build_inputs
from varbind.training import models as arch_models
from varbind.training.export import (  # noqa: F401  (re-exported: they lived here)
    BASELINE_FILE,
    inference_copy,
    safe_name,
    write_bundle,
)
from varbind.training.training_data import (  # noqa: F401  (re-exported: they lived here)
    SPLITS,
    SplitData,
    TrainingData,
    add_structure_if_needed,
    build_training_dataset,
    check_lengths,
    data_digests,
    dataset_kind,
    load_dataset,
    take,
)

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- config


@dataclass
class TrainConfig:
    """Everything that decides a training run (defaults: the paper's, via ``resolve``)."""

    arch: str
    inputs: tuple[str, ...] | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    patience: int | None = None
    class_weight: bool | None = None
    seed: int = 0
    hparams: dict = field(default_factory=dict)
    seq_length: int | None = None
    region_length: int | None = None
    min_positives: int = 50
    baseline_windows: int = 2000
    name: str | None = None
    cell_line: str = "unknown"
    genome_build: str = "unknown"
    progress: bool = True
    structure_cache: str | None = None

    def resolve(self) -> TrainConfig:
        """Fill every None with the architecture's paper default."""
        info = arch_models.check_architecture(self.arch)
        t = info.training
        return replace(
            self,
            inputs=arch_models.parse_inputs(self.inputs, self.arch),
            epochs=t.epochs if self.epochs is None else self.epochs,
            batch_size=self.batch_size or t.batch_size,
            learning_rate=self.learning_rate or t.learning_rate,
            optimizer=self.optimizer or t.optimizer,
            patience=t.patience if self.patience is None else self.patience,
            class_weight=t.class_weight if self.class_weight is None else self.class_weight,
            hparams=arch_models.hyperparameters(self.arch, self.hparams),
            name=self.name or self.arch,
        )

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("progress", "structure_cache")}
        d["inputs"] = list(self.inputs or ())
        d["hparams"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams.items()}
        return d


# ----------------------------------------------------------------------------- keras glue


def set_determinism(seed: int) -> None:
    """Same seed, same weights: seed every generator and use deterministic kernels."""
    import keras

    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with contextlib.suppress(RuntimeError, AttributeError):
            tf.config.experimental.enable_op_determinism()


def device_description() -> str:
    """``"GPU (name)"`` when the backend sees one, else ``"CPU"``."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"GPU ({gpus[0].name})" if gpus else "CPU"
    if keras.backend.backend() == "jax":
        import jax

        return "GPU" if any(d.platform == "gpu" for d in jax.devices()) else "CPU"
    return "CPU"


def _window_dataset_class():
    import keras

    class WindowDataset(keras.utils.PyDataset):
        """Batches of model inputs built on the fly from codes (one-hot never held whole)."""

        def __init__(self, specs, data: SplitData, batch_size: int, shuffle: bool, seed: int):
            super().__init__(workers=1, use_multiprocessing=False)
            self.specs, self.data = specs, data
            self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
            self.epoch = 0
            self.order = np.arange(len(data))
            self._reshuffle()

        def _reshuffle(self):
            if self.shuffle:
                rng = np.random.default_rng([self.seed, self.epoch])
                self.order = rng.permutation(len(self.data))

        def __len__(self):
            return math.ceil(len(self.data) / self.batch_size)

        def __getitem__(self, i):
            idx = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
            x = build_inputs(self.specs, take(self.data.batch, idx))
            y = self.data.labels[idx].astype(np.float32)
            return tuple(x), y

        def on_epoch_end(self):
            self.epoch += 1
            self._reshuffle()

    return WindowDataset


def _callbacks(config: TrainConfig, steps: int):
    import keras

    class BestValidation(keras.callbacks.Callback):
        """Keep the weights of the epoch with the lowest validation loss; stop after
        ``patience`` epochs without improvement (0: never stop early)."""

        def __init__(self, patience: int):
            super().__init__()
            self.patience = patience
            self.best, self.best_epoch, self.best_weights, self.wait = math.inf, -1, None, 0

        def on_epoch_end(self, epoch, logs=None):
            loss = float((logs or {}).get("val_loss", math.inf))
            if loss < self.best:
                self.best, self.best_epoch, self.wait = loss, epoch, 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.patience and self.wait >= self.patience:
                    self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    class EpochBar(keras.callbacks.Callback):
        """One tqdm bar per epoch on stderr; a log line with the losses at its end."""

        def __init__(self, total_epochs: int, enabled: bool):
            super().__init__()
            self.total, self.enabled, self.bar = total_epochs, enabled, None

        def on_epoch_begin(self, epoch, logs=None):
            from tqdm import tqdm

            self.bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{self.total}", unit="batch",
                            file=sys.stderr, disable=not self.enabled, leave=False)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs and "loss" in logs and batch % 10 == 0:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.close()
            logs = logs or {}
            log.info("epoch %d/%d: loss %.4f, validation loss %.4f, validation AUROC %.3f",
                     epoch + 1, self.total, float(logs.get("loss", float("nan"))),
                     float(logs.get("val_loss", float("nan"))),
                     float(logs.get("val_auroc", float("nan"))))

    best = BestValidation(config.patience)
    cbs = [best, EpochBar(config.epochs, config.progress and sys.stderr.isatty())]
    t = arch_models.ARCHITECTURE_INFO[config.arch].training
    if t.lr_decay:
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=t.lr_decay,
                                                     patience=t.lr_patience, min_lr=1e-6,
                                                     verbose=0))
    return cbs, best


def positive_weights(labels: np.ndarray, mu: float = 0.5) -> np.ndarray:
    """DeepRiPe's class weights: ``max(1, ln(mu * N / n_k))`` per label column, shape (K,)."""
    n = len(labels)
    pos = np.maximum(labels.sum(axis=0).astype(np.float64), 1.0)
    return np.maximum(1.0, np.log(mu * n / pos))


def _optimizer(config: TrainConfig):
    import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=config.learning_rate)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=config.learning_rate)
    raise VarbindError(f"unknown optimizer {config.optimizer!r}", fix="use adam or sgd")


def _compile(model, config: TrainConfig, labels: np.ndarray):
    import keras

    from varbind.model.layers import WeightedBinaryCrossentropy

    if config.class_weight:
        loss = WeightedBinaryCrossentropy(positive_weights(labels).tolist())
    else:
        loss = keras.losses.BinaryCrossentropy()
    n_labels = labels.shape[1] if labels.ndim == 2 else 1
    auroc = keras.metrics.AUC(multi_label=n_labels > 1, num_labels=n_labels if n_labels > 1
                              else None, name="auroc")
    model.compile(optimizer=_optimizer(config), loss=loss, metrics=[auroc])


# ----------------------------------------------------------------------------- training


@dataclass
class FitResult:
    model: object
    best_epoch: int
    epochs_run: int
    history: dict
    seconds: float
    windows_per_second: float


def drop_rare_rbps(data: TrainingData, min_positives: int) -> TrainingData:
    """Drop (with a warning naming each) RBPs too rare to train or to evaluate."""
    keep = []
    for k, rbp in enumerate(data.rbps):
        n_train = int(data.splits["train"].labels[:, k].sum())
        n_val = int(data.splits["validation"].labels[:, k].sum())
        n_test = int(data.splits["test"].labels[:, k].sum())
        if n_train < min_positives or n_val == 0 or n_test == 0:
            log.warning("skipping RBP %s: %d training / %d validation / %d test positive "
                        "windows (need %d training and at least 1 in each held-out split; "
                        "lower --min-positives or add peaks)", rbp, n_train, n_val, n_test,
                        min_positives)
        else:
            keep.append(rbp)
    if not keep:
        raise VarbindError(f"no RBP has enough peaks to train on (need {min_positives} "
                           "positive training windows)",
                           fix="lower --min-positives or provide more peaks")
    return data.select(keep) if keep != data.rbps else data


def fit(model, specs: list[InputSpec], data: TrainingData, config: TrainConfig) -> FitResult:
    """Compile and fit ``model`` with the paper's loss and optimiser, keep the best epoch."""
    window_dataset = _window_dataset_class()
    train = window_dataset(specs, data.splits["train"], config.batch_size, True, config.seed)
    val = window_dataset(specs, data.splits["validation"], max(config.batch_size, 256), False,
                         config.seed)
    _compile(model, config, data.splits["train"].labels)
    callbacks, best = _callbacks(config, len(train))
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=config.epochs, verbose=0,
                        callbacks=callbacks, shuffle=False)
    seconds = time.perf_counter() - start
    epochs_run = len(history.history.get("loss", []))
    return FitResult(model=model, best_epoch=best.best_epoch + 1, epochs_run=epochs_run,
                     history={k: [float(v) for v in vals] for k, vals in history.history.items()},
                     seconds=seconds,
                     windows_per_second=epochs_run * len(data.splits["train"]) / max(seconds,
                                                                                     1e-9))


def lowest_scoring_baselines(model, specs: list[InputSpec], split: SplitData,
                             rbps: list[str], n: int = 2000,
                             predictions: np.ndarray | None = None) -> dict[str, list]:
    """Multi-resBind's IG baseline: per RBP, the mean input of its ``n`` lowest-scoring
    training windows.

    Returns
    -------
    {rbp: [array per input, shaped like the input without the batch axis]}
    """
    from varbind.training.evaluate import predict

    preds = predict(model, specs, split.batch) if predictions is None else predictions
    out = {}
    for k, rbp in enumerate(rbps):
        idx = np.sort(np.argsort(preds[:, k], kind="stable")[:min(n, len(preds))])
        arrays = build_inputs(specs, take(split.batch, idx))
        out[rbp] = [a.mean(axis=0).astype(np.float32) for a in arrays]
    return out


def _meta(config: TrainConfig, specs, rbps, data: TrainingData, metrics: dict,
          training: dict) -> ModelMeta:
    info = arch_models.ARCHITECTURE_INFO[config.arch]
    training = {"config": config.to_json(), "paper": info.citation,
                "dataset_file": data.source_name,
                "rbp_groups": {r: data.rbp_groups[r] for r in rbps if r in data.rbp_groups},
                **training}
    digests = data_digests(data.provenance) if isinstance(data.provenance, dict) else {}
    if data.source:
        digests["dataset"] = data.source
    cell_line = config.cell_line
    if cell_line == "unknown" and isinstance(data.provenance, dict):
        cell_line = data.provenance.get("cell_type") or "unknown"
    return ModelMeta(name=config.name, architecture=config.arch, rbps=list(rbps),
                     inputs=list(specs), output="sigmoid", cell_line=cell_line,
                     genome_build=config.genome_build, metrics=metrics, training=training,
                     data_digests=digests)


@dataclass
class TrainResult:
    model: object
    meta: ModelMeta
    baselines: dict  # {rbp: [arrays per input]}
    fits: dict  # {name: FitResult}


def train_multilabel(data: TrainingData, config: TrainConfig) -> TrainResult:
    """Train one multi-label model (Multi-resBind, DeepRiPe, ResidualBind) and evaluate it."""
    from varbind.training.evaluate import evaluate_split, predict
    from varbind.training.sequences import dataset_defaults

    config = dataset_defaults(config, data).resolve()
    if arch_models.ARCHITECTURE_INFO[config.arch].training.per_rbp:
        raise VarbindError(f"{config.arch} trains one model per RBP",
                           fix="use train_per_rbp (a per-RBP dataset)")
    specs = arch_models.input_specs(config.arch, config.inputs, config.seq_length,
                                    config.region_length)
    check_lengths(specs, data)
    data = drop_rare_rbps(data, config.min_positives)
    add_structure_if_needed(specs, data, config.structure_cache)
    set_determinism(config.seed)
    model = arch_models.build_model(config.arch, specs, len(data.rbps), config.hparams,
                                    name=config.name)
    log.info("training %s on %d windows (%d RBPs) on %s", config.arch,
             len(data.splits["train"]), len(data.rbps), device_description())
    result = fit(model, specs, data, config)
    metrics = evaluate_split(model, specs, data.splits["test"], data.rbps)
    train_preds = predict(model, specs, data.splits["train"].batch)
    baselines = lowest_scoring_baselines(model, specs, data.splits["train"], data.rbps,
                                         config.baseline_windows, train_preds)
    training = _fit_summary(result, data, config)
    meta = _meta(config, specs, data.rbps, data, metrics, training)
    return TrainResult(model, meta, baselines, {config.name: result})


def _fit_summary(result: FitResult, data: TrainingData, config: TrainConfig) -> dict:
    return {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "history": result.history, "seconds": round(result.seconds, 2),
            "train_windows_per_second": round(result.windows_per_second, 1),
            "n_windows": {k: len(v) for k, v in data.splits.items()},
            "baseline": f"mean of the {config.baseline_windows} lowest-scoring training "
                        "windows per RBP"}


def train_per_rbp(datasets: dict[str, TrainingData], config: TrainConfig,
                  join: bool = True) -> TrainResult | list[TrainResult]:
    """Train one POLARIS model per RBP; join them into one (N, K) model (``join=True``).

    Parameters
    ----------
    datasets : {rbp: its per-RBP TrainingData (labels (N, 1))}
    """
    from varbind.training.evaluate import evaluate_split, merge_metrics
    from varbind.training.sequences import dataset_defaults

    config = dataset_defaults(config, next(iter(datasets.values()))).resolve()
    specs = arch_models.input_specs(config.arch, config.inputs, config.seq_length,
                                    config.region_length)
    results = []
    for rbp, data in datasets.items():
        check_lengths(specs, data)
        n_train = int(data.splits["train"].labels.sum())
        if n_train < config.min_positives or data.splits["test"].labels.sum() == 0 \
                or data.splits["validation"].labels.sum() == 0:
            log.warning("skipping RBP %s: %d positive training windows (need %d, and "
                        "positives in validation and test; lower --min-positives or add "
                        "peaks)", rbp, n_train, config.min_positives)
            continue
        add_structure_if_needed(specs, data, config.structure_cache)
        set_determinism(config.seed)
        sub = replace(config, name=f"{config.name}_{rbp}")
        model = arch_models.build_model(config.arch, specs, 1, config.hparams, name="polaris")
        log.info("training POLARIS for %s on %d windows on %s", rbp,
                 len(data.splits["train"]), device_description())
        fitted = fit(model, specs, data, sub)
        metrics = evaluate_split(model, specs, data.splits["test"], [rbp])
        baselines = lowest_scoring_baselines(model, specs, data.splits["train"], [rbp],
                                             config.baseline_windows)
        training = _fit_summary(fitted, data, config)
        training["gradcam_layers"] = {rbp: arch_models.last_conv_layer("polaris")}
        meta = _meta(sub, specs, [rbp], data, metrics, training)
        results.append(TrainResult(model, meta, baselines, {rbp: fitted}))
    if not results:
        raise VarbindError("no RBP has enough peaks to train on",
                           fix="lower --min-positives or provide more peaks")
    if not join:
        return results
    rbps = [r.meta.rbps[0] for r in results]
    joined = arch_models.join_polaris([r.model for r in results], rbps, specs)
    metrics = merge_metrics([r.meta.metrics for r in results])
    training = {"members": {r.meta.rbps[0]: r.meta.training for r in results},
                "gradcam_layers": {rbp: arch_models.last_conv_layer("polaris", f"{rbp}.")
                                   for rbp in rbps}}
    first = next(iter(datasets.values()))
    meta = _meta(config, specs, rbps, first, metrics, training)
    meta.data_digests = {k: v for r in results for k, v in r.meta.data_digests.items()}
    baselines = {k: v for r in results for k, v in r.baselines.items()}
    fits = {k: v for r in results for k, v in r.fits.items()}
    return TrainResult(joined, meta, baselines, fits)
