"""Training: windows and labels in, a saved, evaluated, self-describing model bundle out.

The flow is :func:`load_dataset` (a training HDF5 from :mod:`varbind.training.datasets`)
-> :func:`train_multilabel` (Multi-resBind, DeepRiPe, ResidualBind) or
:func:`train_per_rbp` (POLARIS, one model per RBP, joined) -> :func:`write_bundle`.
Model inputs come only from :func:`varbind.model.inputs.build_inputs`, like scoring.

One fit of a model (batches, optimiser, kept epoch, the extension of a run still learning)
is :func:`varbind.training.fitting.fit`. Same seed, same model: see
:func:`varbind.training.fitting.set_determinism`.
"""

from __future__ import annotations

import logging
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
from varbind.training.fitting import (  # noqa: F401  (re-exported: they lived here)
    FitResult,
    fit,
    positive_weights,
    set_determinism,
)
from varbind.training.health import (
    add_held_out_check,
    attempt_rank,
    held_out_metrics,
    train_until_healthy,
    warn_if_still_learning,
)
from varbind.training.members import device_description, resolve_jobs, train_members
from varbind.training.recipes import Recipe, resolve_recipe
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
    """Everything that decides a training run. None means "the recipe's value": ``resolve``
    fills them from ``recipe`` (:mod:`varbind.training.recipes`) for the data size."""

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
    viewpoint_span: int = 0  # bases the viewpoint input marks when scoring (from the dataset)
    min_positives: int = 50
    baseline_windows: int = 2000
    name: str | None = None
    cell_line: str = "unknown"
    genome_build: str = "unknown"
    progress: bool = True
    structure_cache: str | None = None
    recipe: str = "varbind"
    weight_decay: float | None = None
    ema_fraction: float | None = None
    max_tries: int = 3
    jitter: float | None = None
    allow_weak: bool = False
    jobs: int | None = None  # per-RBP models trained at once (None: 1.5 per core on a CPU)
    plan: Recipe | None = None  # the resolved recipe (set by ``resolve``)

    def resolve_for(self, data: TrainingData) -> TrainConfig:
        """:meth:`resolve` for the training split of ``data`` and how ``data`` was built."""
        return self.resolve(len(data.splits["train"]), data.sequences)

    def resolve(self, n_train: int = 0, sequences: bool = False) -> TrainConfig:
        """Fill every None from the recipe for ``n_train`` training windows (``sequences``:
        of a dataset built from labelled sequences)."""
        plan = resolve_recipe(self.arch, self.recipe, n_train, optimizer=self.optimizer,
                              learning_rate=self.learning_rate, batch_size=self.batch_size,
                              epochs=self.epochs, patience=self.patience,
                              class_weight=self.class_weight, weight_decay=self.weight_decay,
                              ema_fraction=self.ema_fraction, jitter=self.jitter,
                              hparams=self.hparams, sequences=sequences)
        return replace(
            self, inputs=arch_models.parse_inputs(self.inputs, self.arch), epochs=plan.epochs,
            batch_size=plan.batch_size, learning_rate=plan.learning_rate,
            optimizer=plan.optimizer, patience=plan.patience, class_weight=plan.class_weight,
            weight_decay=plan.weight_decay, jitter=plan.jitter, hparams=plan.hparams,
            ema_fraction=plan.ema_fraction, name=self.name or self.arch, plan=plan)

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()
             if k not in ("progress", "structure_cache", "plan", "jobs")}
        d["inputs"] = list(self.inputs or ())
        d["hparams"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams.items()}
        if self.plan is not None:
            d["recipe_settings"] = self.plan.to_json()
        return d


def _enough_positives(data: TrainingData, k: int, min_positives: int) -> bool:
    """False (with a warning naming the RBP and its count) if RBP ``k`` is too rare."""
    n_train = int(data.splits["train"].labels[:, k].sum())
    if n_train >= min_positives:
        return True
    log.warning("skipping RBP %s: %d training windows are positive (need %d; lower "
                "--min-positives or add peaks)", data.rbps[k], n_train, min_positives)
    return False


def check_both_classes(data: TrainingData) -> None:
    """Raise a VarbindError naming the RBP and split where a split has one class only
    (its AUROC would be undefined)."""
    for split_name, split in data.splits.items():
        n = len(split)
        for k, rbp in enumerate(data.rbps):
            positives = int(split.labels[:, k].sum())
            if n and 0 < positives < n:
                continue
            only = "no windows" if not n else \
                "only negative windows" if positives == 0 else "only positive windows"
            raise VarbindError(f"RBP {rbp} has {only} in the {split_name} split, so it "
                               "cannot be trained and evaluated",
                               fix="rebuild the dataset with other held-out contigs "
                                   "(--test-chroms) or without this RBP (--rbps)")


def drop_rare_rbps(data: TrainingData, min_positives: int) -> TrainingData:
    """Drop (with a warning naming each) RBPs too rare to train; a split with one class
    only for a kept RBP is an error (:func:`check_both_classes`)."""
    keep = [rbp for k, rbp in enumerate(data.rbps) if _enough_positives(data, k, min_positives)]
    if not keep:
        raise VarbindError(f"no RBP has enough peaks to train on (need {min_positives} "
                           "positive training windows)",
                           fix="lower --min-positives or provide more peaks")
    data = data.select(keep) if keep != data.rbps else data
    check_both_classes(data)
    return data


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
        # a viewpoint channel is held at the central span that scoring marks
        arrays = build_inputs(specs, replace(take(split.batch, idx), viewpoint=None))
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
    """Train one multi-label model (Multi-resBind, DeepRiPe, ResidualBind), check its health
    against a k-mer baseline (retrying weak ones, :mod:`varbind.training.health`) and
    evaluate it on the test split."""
    from varbind.training.evaluate import predict
    from varbind.training.kmer_baseline import kmer_baseline_metrics
    from varbind.training.sequences import dataset_defaults

    config = dataset_defaults(config, data)
    if arch_models.check_architecture(config.arch).training.per_rbp:
        raise VarbindError(f"{config.arch} trains one model per RBP",
                           fix="use train_per_rbp (a per-RBP dataset)")
    specs = _checked_specs(config)
    check_lengths(specs, data)
    data = drop_rare_rbps(data, config.min_positives)
    add_structure_if_needed(specs, data, config.structure_cache)
    plain, config = config, config.resolve_for(data)
    baseline = kmer_baseline_metrics(data, config.seed)
    log.info("training %s on %d windows (%d RBPs) on %s", config.arch,
             len(data.splits["train"]), len(data.rbps), device_description())
    best, health, heads = _train_best_head(plain, config, specs, data, baseline["validation"])
    model, config = best.model, best.config
    metrics = held_out_metrics(model, specs, data, data.rbps, baseline["test"], config.name)
    train_preds = predict(model, specs, data.splits["train"].batch)
    baselines = lowest_scoring_baselines(model, specs, data.splits["train"], data.rbps,
                                         config.baseline_windows, train_preds)
    training = _fit_summary(best.fit, data, config)
    training["health"] = add_held_out_check(health, metrics)
    if heads:
        training["head_choice"] = heads
    meta = _meta(config, specs, data.rbps, data, metrics, training)
    return TrainResult(model, meta, baselines, {config.name: best.fit})


def _train_best_head(plain: TrainConfig, config: TrainConfig, specs: list[InputSpec],
                     data: TrainingData, baseline: dict):
    """:func:`train_until_healthy` once, or once per head of the recipe's ``head_choice``
    (``plain``: the config before :meth:`TrainConfig.resolve`, re-resolved with each head).

    Returns (the kept attempt, its health record, ``{"validation_mean_auroc": {head: ...},
    "kept": head}`` or {} without a choice); the kept head is the best by the health check's
    rank (fewest weak RBPs, then the mean validation AUROC), the first head on a tie.
    """
    def run(cfg):
        return train_until_healthy(lambda c: _attempt(c, specs, data), cfg, baseline)

    if not config.plan.head_choice:
        return (*run(config), {})
    tries = {}
    for head in config.plan.head_choice:
        log.info("%s: training with head=%s (of %s; the better on validation is kept)",
                 config.name, head, ", ".join(config.plan.head_choice))
        tries[head] = run(replace(plain, hparams={**plain.hparams, "head": head})
                          .resolve_for(data))
    kept = max(tries, key=lambda head: attempt_rank(tries[head][0], baseline))
    return (*tries[kept], {"validation_mean_auroc": {h: tries[h][0].validation["mean_auroc"]
                                                     for h in tries}, "kept": kept})


def _checked_specs(config: TrainConfig) -> list[InputSpec]:
    """The model inputs of an unresolved config (unknown inputs or hyperparameters fail)."""
    checked = config.resolve(0)
    return arch_models.input_specs(checked.arch, checked.inputs, checked.seq_length,
                                   checked.region_length, checked.hparams,
                                   checked.viewpoint_span)


def _attempt(config: TrainConfig, specs: list[InputSpec], data: TrainingData):
    """Build and fit one model; its validation metrics (one try of the health check)."""
    from varbind.training.evaluate import evaluate_split
    from varbind.training.health import Attempt

    set_determinism(config.seed)
    model = arch_models.build_model(config.arch, specs, len(data.rbps), config.hparams,
                                    name=config.name)
    fitted = fit(model, specs, data, config)
    validation = evaluate_split(model, specs, data.splits["validation"], data.rbps,
                                "validation")
    return Attempt(model, fitted, validation, config)


def _fit_summary(result: FitResult, data: TrainingData, config: TrainConfig) -> dict:
    return {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "history": result.history, "seconds": round(result.seconds, 2),
            "train_windows_per_second": round(result.windows_per_second, 1),
            "extended_epochs": result.extended_epochs,
            "still_learning": warn_if_still_learning(result, config),
            "n_windows": {k: len(v) for k, v in data.splits.items()},
            "baseline": f"mean of the {config.baseline_windows} lowest-scoring training "
                        "windows per RBP"}


def train_per_rbp(datasets: dict[str, TrainingData], config: TrainConfig,
                  join: bool = True) -> TrainResult | list[TrainResult]:
    """Train one POLARIS model per RBP, each with its own health check (a weak RBP is
    retrained alone and recorded by name); join them into one (N, K) model (``join=True``).

    Parameters
    ----------
    datasets : {rbp: its per-RBP TrainingData (labels (N, 1))}
    """
    from varbind.training.evaluate import merge_metrics
    from varbind.training.health import merge_baselines, merge_health
    from varbind.training.sequences import dataset_defaults

    config = dataset_defaults(config, next(iter(datasets.values())))
    specs = _checked_specs(config)
    name = config.name or config.arch
    tasks = []
    for rbp, data in datasets.items():
        check_lengths(specs, data)
        if not _enough_positives(data, 0, config.min_positives):
            continue
        check_both_classes(data)
        add_structure_if_needed(specs, data, config.structure_cache)
        tasks.append((replace(config, name=f"{name}_{rbp}").resolve_for(data), data))
    jobs = resolve_jobs(config.jobs, len(tasks), device_description() != "CPU")
    results = train_members(tasks, specs, jobs, _train_one_rbp)
    if not results:
        raise VarbindError("no RBP has enough peaks to train on",
                           fix="lower --min-positives or provide more peaks")
    if not join:
        return results
    rbps = [r.meta.rbps[0] for r in results]
    joined = arch_models.join_polaris([r.model for r in results], rbps, specs)
    metrics = merge_metrics([r.meta.metrics for r in results])
    metrics["baseline"] = merge_baselines([r.meta.metrics["baseline"] for r in results])
    training = {"members": {r.meta.rbps[0]: r.meta.training for r in results},
                "gradcam_layers": {rbp: arch_models.last_conv_layer("polaris", f"{rbp}.")
                                   for rbp in rbps},
                "health": merge_health([r.meta.training["health"] for r in results])}
    first = next(iter(datasets.values()))
    top = replace(config, name=name).resolve_for(first)
    meta = _meta(top, specs, rbps, first, metrics, training)
    meta.data_digests = {k: v for r in results for k, v in r.meta.data_digests.items()}
    meta.rbp_cell_lines = {rbp: cells for rbp in rbps
                           if (cells := datasets[rbp].provenance.get("cell_type"))}
    baselines = {k: v for r in results for k, v in r.baselines.items()}
    fits = {k: v for r in results for k, v in r.fits.items()}
    return TrainResult(joined, meta, baselines, fits)


def _train_one_rbp(config: TrainConfig, specs: list[InputSpec],
                   data: TrainingData) -> TrainResult:
    """One per-RBP model with its health check, test metrics and IG baseline."""
    from varbind.training.kmer_baseline import kmer_baseline_metrics

    rbp = data.rbps[0]
    log.info("training %s for %s on %d windows on %s", config.arch, rbp,
             len(data.splits["train"]), device_description())
    baseline = kmer_baseline_metrics(data, config.seed)
    best, health = train_until_healthy(lambda cfg: _attempt(cfg, specs, data), config,
                                       baseline["validation"])
    model, config = best.model, best.config
    metrics = held_out_metrics(model, specs, data, [rbp], baseline["test"], config.name)
    baselines = lowest_scoring_baselines(model, specs, data.splits["train"], [rbp],
                                         config.baseline_windows)
    training = _fit_summary(best.fit, data, config)
    training["gradcam_layers"] = {rbp: arch_models.last_conv_layer(config.arch)}
    training["health"] = add_held_out_check(health, metrics)
    meta = _meta(config, specs, [rbp], data, metrics, training)
    return TrainResult(model, meta, baselines, {rbp: best.fit})


