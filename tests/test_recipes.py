"""Training recipes, the k-mer baseline and the health check (weak RBPs are retrained, then
reported by name; a dataset built to fail makes `varbind train` exit non-zero)."""

import json
import math

import numpy as np
import pytest
from planted import TINY, planted_data, write_dataset

from varbind.cli import main
from varbind.errors import VarbindError
from varbind.model.bundle import read_meta
from varbind.training import health, recipes
from varbind.training import models as arch_models
from varbind.training import train as tr
from varbind.training.kmer_baseline import kmer_baseline_metrics, kmer_counts

# ----------------------------------------------------------------------------- recipes


@pytest.mark.parametrize("arch", sorted(arch_models.ARCHITECTURE_INFO))
def test_every_architecture_has_both_recipes(arch):
    paper = recipes.resolve_recipe(arch, "paper", 1000)
    t = arch_models.ARCHITECTURE_INFO[arch].training
    assert (paper.optimizer, paper.learning_rate, paper.batch_size, paper.epochs,
            paper.patience, paper.monitor) == (t.optimizer, t.learning_rate, t.batch_size,
                                               t.epochs, t.patience, "val_loss")
    assert paper.hparams == arch_models.hyperparameters(arch)
    ours = recipes.resolve_recipe(arch, "varbind", 1000)
    assert ours.monitor == "val_auroc" and ours.optimizer == "adamw"
    assert ours.schedule == "cosine" and ours.weight_decay > 0


def test_varbind_recipe_adapts_to_the_number_of_windows():
    small = recipes.resolve_recipe("multiresbind", "varbind", 1400)
    large = recipes.resolve_recipe("multiresbind", "varbind", 400_000)
    assert small.batch_size == 32 and large.batch_size == 128
    assert small.hparams["bn_momentum"] == 0.9  # 44 steps an epoch
    assert large.hparams["bn_momentum"] == 0.99  # 3125 steps an epoch
    assert small.epochs == 46  # ceil(2000 / 44) epochs: a step budget, doubled for jitter
    assert recipes.resolve_recipe("polaris", "varbind", 1400).epochs == 23  # not jittered
    assert small.min_run_fraction == recipes.MIN_RUN_FRACTION  # multi-label: waits half the run
    # per-RBP models wait too: one POLARIS model sat near its start for 22 epochs, then learnt
    assert recipes.resolve_recipe("polaris", "varbind", 1400).min_run_fraction == 0.5
    assert [recipes.resolve_recipe("deepripe", "varbind", n).patience
            for n in (300, 1400, 400_000)] == [15, 10, 10]  # epochs 100, 46, 20: clip(e/5, 10, 15)
    assert large.epochs == recipes.MIN_EPOCHS
    assert recipes.bn_momentum(200) == pytest.approx(0.95)
    assert small.weight_decay == pytest.approx(4 / (44 * 46) ** 0.5)  # BatchNorm's constants
    assert large.weight_decay == pytest.approx(0.2 / 250)  # from BN_DECAY_BELOW up: plain
    plain = recipes.resolve_recipe("deepripe", "varbind", 1400)
    assert plain.weight_decay == pytest.approx(0.2 / (44 * 46) ** 0.5)
    assert recipes.resolve_recipe("deepripe", "varbind", 400_000).weight_decay == \
        pytest.approx(0.2 / 250)


def test_residual_models_keep_batchnorm_and_the_rate_and_decay_follow_it():
    """The varbind recipe keeps the papers' BatchNorm at every size, at the higher learning
    rate (and, with the flattened head below 4,000 windows, the higher weight decay);
    ``--hparam batch_norm=false`` turns it off and the rate and the decay go down with it,
    unless they are given too."""
    for arch in ("multiresbind", "residualbind"):
        for n in (400, 1400, 3999, 4000, 6000):
            r = recipes.resolve_recipe(arch, "varbind", n)
            assert r.hparams["batch_norm"] and r.learning_rate == recipes.BN_LEARNING_RATE
            strong = recipes.MAX_WEIGHT_DECAY < r.weight_decay <= recipes.BN_MAX_WEIGHT_DECAY
            assert strong == (recipes.GLOBAL_HEAD_BELOW <= n < recipes.BN_DECAY_BELOW)
        flat = recipes.resolve_recipe(arch, "varbind", 400, hparams={"head": "flatten"})
        assert flat.weight_decay == recipes.BN_MAX_WEIGHT_DECAY  # follows the user's head
        off = recipes.resolve_recipe(arch, "varbind", 1400, hparams={"batch_norm": False})
        assert not off.hparams["batch_norm"]
        assert off.learning_rate == recipes.PLAIN_LEARNING_RATE
        assert off.weight_decay == pytest.approx(0.2 / (44 * 46) ** 0.5)
        mine = recipes.resolve_recipe(arch, "varbind", 1400, learning_rate=2e-3,
                                      weight_decay=0.03, hparams={"batch_norm": False})
        assert (mine.learning_rate, mine.weight_decay) == (2e-3, 0.03)
        assert recipes.resolve_recipe(arch, "paper", 1400).hparams["batch_norm"]
        assert recipes.resolve_recipe(arch, "paper", 1400, hparams={"batch_norm": False}
                                      ).learning_rate == 1e-3  # the paper's rate, unchanged
    deepripe = recipes.resolve_recipe("deepripe", "varbind", 1400)
    assert "batch_norm" not in deepripe.hparams
    assert deepripe.learning_rate == recipes.PLAIN_LEARNING_RATE


@pytest.mark.parametrize("batch_norm", [True, False])
def test_residual_body_with_and_without_batchnorm(batch_norm):
    """Without BatchNorm the layers that fed one get biases instead; the output is the same."""
    specs = arch_models.input_specs("residualbind", ("sequence",), seq_length=41)
    model = arch_models.build_model("residualbind", specs, 2,
                                    {"filters": 8, "dense_units": 16, "batch_norm": batch_norm})
    kinds = {type(layer).__name__ for layer in model.layers}
    assert ("BatchNormalization" in kinds) == batch_norm
    assert model.get_layer("conv1").use_bias != batch_norm
    assert model.get_layer("dense").use_bias != batch_norm
    assert tuple(model.output.shape) == (None, 2)


def test_batch_norm_must_be_true_or_false():
    specs = arch_models.input_specs("residualbind", ("sequence",), seq_length=41)
    with pytest.raises(VarbindError, match="batch_norm='false' is not true or false"):
        arch_models.build_model("residualbind", specs, 1, {"batch_norm": "false"})


def test_no_jitter_on_a_dataset_of_labelled_sequences():
    """Records centred on their binding site (RBP-24) are not shifted; peaks datasets are,
    and the jittered step budget goes with the jitter."""
    for arch in ("multiresbind", "deepripe", "residualbind", "rnassr"):
        peaks = recipes.resolve_recipe(arch, "varbind", 1400)
        seqs = recipes.resolve_recipe(arch, "varbind", 1400, sequences=True)
        assert peaks.jitter == recipes.JITTER and seqs.jitter == 0.0
        assert peaks.epochs == 46 and seqs.epochs == 23  # ceil(2000 / 44), ceil(1000 / 44)
        assert seqs.min_run_fraction == recipes.MIN_RUN_FRACTION  # still a multi-label model
    assert recipes.resolve_recipe("polaris", "varbind", 1400, sequences=True).jitter == 0.0
    assert recipes.resolve_recipe("deepripe", "varbind", 1400, sequences=True,
                                  jitter=0.1).jitter == 0.1  # an explicit setting wins


def test_varbind_recipe_regularises_small_data_and_paper_keeps_the_papers_model():
    for arch in ("multiresbind", "residualbind"):
        ours = recipes.resolve_recipe(arch, "varbind", 1400)
        assert ours.hparams["head"] == "flatten" and ours.jitter == recipes.JITTER
        paper = recipes.resolve_recipe(arch, "paper", 1400)
        assert paper.hparams["head"] == "flatten" and paper.jitter == 0.0
    assert recipes.resolve_recipe("deepripe", "varbind", 1400).jitter == recipes.JITTER
    assert recipes.resolve_recipe("polaris", "varbind", 1400).jitter == 0.0  # per-RBP
    assert recipes.resolve_recipe("multiresbind", "varbind", 1400, jitter=0.0).jitter == 0.0
    mine = recipes.resolve_recipe("multiresbind", "varbind", 1400, hparams={"head": "global"})
    assert mine.hparams["head"] == "global"
    for arch in ("multiresbind", "residualbind"):  # a few hundred windows: pool over positions
        assert recipes.resolve_recipe(arch, "varbind", 400).hparams["head"] == "global"
        assert recipes.resolve_recipe(arch, "paper", 400).hparams["head"] == "flatten"
        mine = recipes.resolve_recipe(arch, "varbind", 400, hparams={"head": "flatten"})
        assert mine.hparams["head"] == "flatten"


def test_deepripe_takes_the_maximum_over_positions_on_a_few_hundred_windows():
    below, at = recipes.GLOBAL_HEAD_BELOW - 1, recipes.GLOBAL_HEAD_BELOW
    for sequences in (False, True):
        small = recipes.resolve_recipe("deepripe", "varbind", below, sequences=sequences)
        assert small.hparams["head"] == "max" and "pool_size" not in small.hparams
        large = recipes.resolve_recipe("deepripe", "varbind", at, sequences=sequences)
        assert large.hparams["head"] == "flatten"
    assert recipes.resolve_recipe("deepripe", "paper", 400).hparams["head"] == "flatten"
    mine = recipes.resolve_recipe("deepripe", "varbind", 400, hparams={"head": "flatten"})
    assert mine.hparams["head"] == "flatten"  # an explicit setting wins
    for arch in ("polaris", "rnassr"):  # no head to choose
        assert "head" not in recipes.resolve_recipe(arch, "varbind", 400).hparams


def test_both_heads_are_tried_from_a_few_hundred_up_to_a_thousand_windows():
    low, high = recipes.HEAD_CHOICE_FROM, recipes.GLOBAL_HEAD_BELOW
    for arch, pooled in (("multiresbind", "global"), ("residualbind", "global"),
                         ("deepripe", "max")):
        for n in (low, high - 1):
            plan = recipes.resolve_recipe(arch, "varbind", n)
            assert plan.head_choice == (pooled, "flatten") and plan.hparams["head"] == pooled
            assert plan.to_json()["head_choice"] == [pooled, "flatten"]
        for n in (low - 1, high):
            assert recipes.resolve_recipe(arch, "varbind", n).head_choice == ()
        assert recipes.resolve_recipe(arch, "paper", low).head_choice == ()
        mine = recipes.resolve_recipe(arch, "varbind", low, hparams={"head": "flatten"})
        assert mine.head_choice == () and mine.hparams["head"] == "flatten"
    for arch in ("polaris", "rnassr"):
        assert recipes.resolve_recipe(arch, "varbind", low).head_choice == ()
    # the flattened alternative of a residual model gets what it gets from 1,000 windows up
    flat = recipes.resolve_recipe("multiresbind", "varbind", 700, hparams={"head": "flatten"})
    above = recipes.resolve_recipe("multiresbind", "varbind", high)
    assert flat.hparams["pool_size"] == above.hparams["pool_size"] == recipes.COARSE_POOL
    assert flat.weight_decay > recipes.resolve_recipe("multiresbind", "varbind", 700).weight_decay


def test_the_head_with_the_better_validation_auroc_is_kept(monkeypatch):
    from types import SimpleNamespace

    data = SimpleNamespace(splits={"train": range(700)}, sequences=False)
    plain = tr.TrainConfig(arch="deepripe", max_tries=1, hparams={"dropout": 0.3})
    seen = []

    def fake_attempt(cfg, specs, data):
        seen.append((cfg.hparams["head"], cfg.hparams["dropout"], cfg.plan.head_choice))
        auroc = {"max": 0.81, "flatten": 0.86}[cfg.hparams["head"]]
        return health.Attempt(None, None, _val({"X": auroc}), cfg)

    monkeypatch.setattr(tr, "_attempt", fake_attempt)
    best, record, heads = tr._train_best_head(plain, plain.resolve_for(data), [], data,
                                              _val({"X": 0.7}))
    assert [s[:2] for s in seen] == [("max", 0.3), ("flatten", 0.3)]  # user's hparams kept
    assert all(choice == () for *_, choice in seen)  # each head trained once
    assert best.config.hparams["head"] == "flatten" and record["status"] == "ok"
    assert heads == {"validation_mean_auroc": {"max": 0.81, "flatten": 0.86}, "kept": "flatten"}
    # a weak head loses to a healthy one whatever its mean AUROC; without a choice: one run
    monkeypatch.setattr(tr, "_attempt", lambda cfg, specs, data: health.Attempt(
        None, None, _val({"X": 0.95, "Y": 0.5} if cfg.hparams["head"] == "flatten"
                         else {"X": 0.8, "Y": 0.8}), cfg))
    best, _, heads = tr._train_best_head(plain, plain.resolve_for(data), [], data,
                                         _val({"X": 0.7, "Y": 0.7}))
    assert best.config.hparams["head"] == "max" and heads["kept"] == "max"
    one = tr.TrainConfig(arch="deepripe", max_tries=1)
    _, _, heads = tr._train_best_head(one, one.resolve(1000), [], data, _val({"X": 0.7}))
    assert heads == {}


def test_one_value_for_a_tuple_hyperparameter_is_a_one_element_tuple():
    # --hparam dilations=1 parses as a number; the residual block then has one dilated conv
    params = arch_models.hyperparameters("multiresbind", {"dilations": 1, "filters": 64})
    assert params["dilations"] == (1,) and params["filters"] == 64
    assert arch_models.hyperparameters("multiresbind", {"dilations": [2, 4]})["dilations"] == (2, 4)


def test_residual_models_average_their_flattened_head_coarser_on_small_data():
    for arch in ("multiresbind", "residualbind"):
        paper_pool = arch_models.ARCHITECTURE_INFO[arch].hyperparameters["pool_size"]
        for n in (recipes.GLOBAL_HEAD_BELOW, 1400, recipes.COARSE_POOL_BELOW - 1):
            assert recipes.resolve_recipe(arch, "varbind", n).hparams["pool_size"] == 30, n
        for n in (recipes.COARSE_POOL_BELOW, 20_000):
            assert recipes.resolve_recipe(arch, "varbind", n).hparams["pool_size"] == paper_pool
        assert recipes.resolve_recipe(arch, "paper", 1400).hparams["pool_size"] == paper_pool
        mine = recipes.resolve_recipe(arch, "varbind", 1400, hparams={"pool_size": 10})
        assert mine.hparams["pool_size"] == 10  # an explicit setting wins
    assert recipes.resolve_recipe("rnassr", "varbind", 1400).hparams["pool_size"] == 4  # no head


class _EpochModel:  # stands in for a Keras model: weights are the epoch they were taken at
    stop_training, epoch, kept = False, -1, None

    def get_weights(self):
        return self.epoch

    def set_weights(self, weights):
        self.kept = weights


#: A lucky 0.9 at epoch 1 on a small validation split, then steady learning.
LUCKY_THEN_LEARNING = [0.6, 0.9, 0.6, 0.7, 0.8, 0.85, 0.86, 0.8, 0.7, 0.6]


def _kept_epoch(recipe, val_auroc, train_auroc=None):
    """(kept epoch, last epoch run) of the best-epoch keeper fed these epochs' AUROCs."""
    callback, model = recipes.best_epoch_callback(recipe), _EpochModel()
    callback.set_model(model)
    for epoch, auroc in enumerate(val_auroc):
        model.epoch = epoch
        logs = {"val_auroc": auroc} | ({} if train_auroc is None else
                                       {"auroc": train_auroc[epoch]})
        callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback.on_train_end()
    assert callback.best_epoch == model.kept
    return model.kept, epoch


def test_small_data_smooths_the_validation_auroc_and_runs_half_the_epochs():
    assert recipes.resolve_recipe("deepripe", "varbind", 1400).smooth_epochs == 3
    assert recipes.resolve_recipe("deepripe", "varbind", 20_000).smooth_epochs == 1
    assert recipes.resolve_recipe("deepripe", "paper", 1400).smooth_epochs == 1
    plan = recipes.resolve_recipe("deepripe", "varbind", 1400, patience=5)
    assert plan.epochs == 46 and plan.min_run_fraction == 0.5
    assert _kept_epoch(plan, LUCKY_THEN_LEARNING) == (6, 9)  # best mean of 0.8, 0.85, 0.86
    unsmoothed = recipes.Recipe(**{**plan.__dict__, "smooth_epochs": 1})
    # the lucky epoch; no stop before epoch 23 of 46
    assert _kept_epoch(unsmoothed, LUCKY_THEN_LEARNING) == (1, 9)
    stops_early = recipes.Recipe(**{**unsmoothed.__dict__, "min_run_fraction": 0.0})
    assert _kept_epoch(stops_early, LUCKY_THEN_LEARNING) == (1, 6)  # 5 epochs not better


def test_an_epoch_that_has_not_fitted_its_training_windows_is_not_kept():
    # POLARIS on a tiny world: 25 validation windows rated the untrained first epochs 0.63,
    # then the fitted model 0.55 (it kept its third epoch: test AUROC 0.29; a fitted one: 0.74)
    plan = recipes.resolve_recipe("polaris", "varbind", 107, patience=20)
    assert plan.min_train_auroc == recipes.MIN_TRAIN_AUROC == 0.6
    assert recipes.resolve_recipe("polaris", "paper", 107).min_train_auroc == 0
    val = [0.63, 0.57, 0.64, 0.51, 0.50, 0.47, 0.48, 0.47, 0.39, 0.36, 0.33, 0.27, 0.35, 0.38,
           0.42, 0.43, 0.42, 0.43, 0.48, 0.49, 0.50, 0.52, 0.55, 0.54]
    train = [0.48, 0.46, 0.42, 0.48, 0.54, 0.44, 0.42, 0.51, 0.65, 0.74, 0.78, 0.93] + [1.0] * 12
    assert _kept_epoch(plan, val, train) == (23, 23)  # mean of 0.52, 0.55, 0.54
    anything = recipes.Recipe(**{**plan.__dict__, "min_train_auroc": 0.0})
    assert _kept_epoch(anything, val, train) == (2, 23)  # the untrained mean of 0.61
    # every epoch of the average must have fitted: epochs 7-9 average 0.95, but epoch 7's
    # training AUROC is 0.51; epoch 10 (0.65, 0.74, 0.78) is the first candidate
    assert _kept_epoch(plan, [0.5] * 7 + [0.95] * 3 + [0.5] * 14, train) == (10, 23)
    # a run that never fits its training windows still keeps its best validating epoch
    # (the health check then calls it near chance)
    assert _kept_epoch(plan, val, [0.5] * len(val)) == (2, 23)
    # patience counts from the first fitted epoch, so a run is not stopped before it fits
    quick = recipes.Recipe(**{**plan.__dict__, "patience": 3, "min_run_fraction": 0.0})
    assert _kept_epoch(quick, val, train) == (10, 13)
    assert _kept_epoch(quick, val, [0.5] * len(val)) == (2, 23)
    # without the rule (0, the paper recipe) every epoch counts, even one with no training AUROC
    quick_any = recipes.Recipe(**{**quick.__dict__, "min_train_auroc": 0.0})
    assert _kept_epoch(quick_any, val, [math.nan] * len(val)) == (2, 5)


def test_small_multilabel_sets_validate_an_average_of_the_weights():
    small = recipes.resolve_recipe("multiresbind", "varbind", 1400)
    assert small.ema_fraction == recipes.EMA_FRACTION
    assert recipes.resolve_recipe("deepripe", "varbind", recipes.EMA_BELOW - 1).ema_fraction > 0
    assert recipes.resolve_recipe("deepripe", "varbind", recipes.EMA_BELOW).ema_fraction == 0
    assert recipes.resolve_recipe("polaris", "varbind", 1400).ema_fraction == 0  # per-RBP
    assert recipes.resolve_recipe("multiresbind", "paper", 1400).ema_fraction == 0
    labelled = recipes.resolve_recipe("multiresbind", "varbind", 1400, sequences=True)
    assert labelled.ema_fraction == 0  # datasets of labelled sequences: the raw weights
    # --ema-fraction overrides the rule either way; out of [0, 1] is an error naming the flag
    assert tr.TrainConfig("multiresbind", ema_fraction=0).resolve(1400).plan.ema_fraction == 0
    assert tr.TrainConfig("polaris", ema_fraction=0.1).resolve(1400).ema_fraction == 0.1
    with pytest.raises(VarbindError, match="--ema-fraction"):
        recipes.resolve_recipe("multiresbind", "varbind", 1400, ema_fraction=1.5)


def test_varbind_recipe_caps_the_polaris_l2_for_adam():
    assert recipes.resolve_recipe("polaris", "varbind", 500).hparams["l2"] == recipes.MAX_L2
    assert recipes.resolve_recipe("polaris", "paper", 500).hparams["l2"] == 0.01


def test_explicit_settings_override_the_recipe():
    r = recipes.resolve_recipe("multiresbind", "varbind", 1400, epochs=3, learning_rate=0.1,
                               optimizer="adam", hparams={"bn_momentum": 0.5, "filters": 4})
    assert (r.epochs, r.learning_rate, r.optimizer, r.weight_decay) == (3, 0.1, "adam", 0.0)
    assert r.hparams["bn_momentum"] == 0.5 and r.hparams["filters"] == 4
    with pytest.raises(VarbindError, match="unknown recipe"):
        recipes.resolve_recipe("multiresbind", "fast", 10)
    with pytest.raises(VarbindError, match="unknown hyperparameter"):
        recipes.resolve_recipe("multiresbind", "varbind", 10, hparams={"width": 3})


def test_only_the_varbind_recipe_extends_a_run_and_never_the_users_epochs():
    assert recipes.resolve_recipe("residualbind", "varbind", 1400).extend_fraction == \
        recipes.EXTEND_FRACTION
    assert recipes.resolve_recipe("residualbind", "paper", 1400).extend_fraction == 0
    assert recipes.resolve_recipe("residualbind", "varbind", 1400, epochs=30).extend_fraction == 0


def _planted_fit(extend_fraction: float, still_learning, monkeypatch):
    """A 4-epoch DeepRiPe fit on planted data with ``health.still_learning`` replaced."""
    from dataclasses import replace

    from varbind.training import fitting

    monkeypatch.setattr(fitting, "still_learning", still_learning)
    data = planted_data(400)
    cfg = tr.TrainConfig(arch="deepripe", hparams=TINY["deepripe"], seq_length=60,
                         region_length=80, progress=False).resolve_for(data)
    cfg = replace(cfg, epochs=4, plan=replace(cfg.plan, epochs=4, min_run_fraction=0.0,
                                              extend_fraction=extend_fraction))
    specs = tr._checked_specs(cfg)
    fitting.set_determinism(0)
    model = arch_models.build_model("deepripe", specs, 2, cfg.hparams)
    return fitting.fit(model, specs, data, cfg), cfg


def test_a_run_still_learning_at_its_end_is_extended_once(monkeypatch, caplog):
    caplog.set_level("INFO", logger="varbind")
    asked = []

    def rising_until_extended(fit, planned, arch=""):
        asked.append((fit.epochs_run, planned))
        return "still rising" if fit.extended_epochs == 0 else None

    fit, cfg = _planted_fit(0.5, rising_until_extended, monkeypatch)
    assert (fit.epochs_run, fit.extended_epochs) == (6, 2)
    assert asked == [(4, 4)] and "training up to 2 more" in caplog.text
    assert len(fit.history["val_auroc"]) == len(fit.history["loss"]) == 6
    w = cfg.plan.smooth_epochs  # the keeper's rule, over both parts: best mean of w epochs
    means = np.convolve(fit.history["val_auroc"], np.ones(w) / w, mode="valid")
    assert fit.best_epoch == int(np.argmax(means)) + w
    assert tr._fit_summary(fit, planted_data(200), cfg)["extended_epochs"] == 2
    fit, _ = _planted_fit(0.0, lambda *a, **k: "still rising", monkeypatch)
    assert (fit.epochs_run, fit.extended_epochs) == (4, 0)
    fit, _ = _planted_fit(0.5, lambda *a, **k: None, monkeypatch)
    assert (fit.epochs_run, fit.extended_epochs) == (4, 0)


def test_resolved_config_records_the_recipe():
    cfg = tr.TrainConfig(arch="deepripe", epochs=7).resolve(5000)
    d = cfg.to_json()
    assert d["recipe"] == "varbind" and d["epochs"] == 7
    assert d["recipe_settings"]["monitor"] == "val_auroc"
    json.dumps(d)


# ----------------------------------------------------------------------------- k-mer baseline


def test_kmer_counts_hand_worked():
    seq = np.array([[0, 0, 1, 4, 3]], np.uint8)  # A A C N T
    x = kmer_counts(seq, sizes=(1, 2))
    assert x.shape == (1, 4 + 16)
    assert np.allclose(x[0, :4] * 5, [2, 1, 0, 1])  # N counts nowhere
    two = x[0, 4:] * 5
    assert two[0 * 4 + 0] == 1 and two[0 * 4 + 1] == 1 and two.sum() == 2  # AA, AC


def test_kmer_baseline_learns_a_planted_motif():
    data = planted_data(300)
    metrics = kmer_baseline_metrics(data)
    assert set(metrics) == {"validation", "test"}
    assert metrics["test"]["auroc"]["U6"] > 0.8


# ----------------------------------------------------------------------------- health check


def _val(auroc: dict, positives: int = 200, n: int = 1000) -> dict:
    return {"auroc": auroc, "positives": {r: positives for r in auroc}, "n_windows": n,
            "mean_auroc": float(np.mean(list(auroc.values())))}


def test_weak_reasons():
    weak = health.weak_reasons(_val({"A": 0.55, "B": 0.80, "C": 0.90, "D": 0.86}),
                               _val({"A": 0.5, "B": 0.90, "C": 0.85, "D": 0.90}))
    assert set(weak) == {"A", "B"}
    assert "near chance" in weak["A"] and "k-mer baseline" in weak["B"]
    # with 10 validation positives, 0.80 against 0.90 is within two standard errors
    assert health.weak_reasons(_val({"B": 0.80}, 10), _val({"B": 0.90}, 10)) == {}


def test_held_out_check_marks_a_model_that_does_not_carry_over_to_the_test_contigs():
    # POLARIS on a fresh tiny world: QKI validated at 0.62 on 25 windows, tested at 0.29
    test = {"auroc": {"QKI": 0.29, "RBFOX1": 0.74, "ESRP2": 0.28, "YBX1": 0.80},
            "positives": {"QKI": 68, "RBFOX1": 76, "ESRP2": 4, "YBX1": 60},
            "n_windows": {"QKI": 174, "RBFOX1": 169, "ESRP2": 200, "YBX1": 300},
            "baseline": {"auroc": {"QKI": 0.55, "RBFOX1": 0.56, "ESRP2": 0.6, "YBX1": 0.95}}}
    reasons = health.held_out_reasons(test)
    # ESRP2: 4 positives, so 0.28 is within two standard errors of chance and of 0.6
    assert set(reasons) == {"QKI", "YBX1"}
    assert "below chance" in reasons["QKI"] and "k-mer baseline's 0.950" in reasons["YBX1"]
    record = {"status": "ok", "rbps": {r: {"status": "ok", "tries": 1} for r in test["auroc"]}}
    marked = health.add_held_out_check(record, test)
    assert marked["status"] == "weak" and marked["rbps"]["RBFOX1"]["status"] == "ok"
    assert marked["rbps"]["QKI"] == {"status": "weak", "tries": 1, "reason": reasons["QKI"]}
    assert health.weak_messages(marked)[0].startswith("weak model for RBP QKI: test AUROC")


def test_auroc_standard_error_hand_worked():
    # Hanley & McNeil: AUROC 0.8, 50 positives, 50 negatives -> SE 0.0445
    assert health.auroc_standard_error(0.8, 50, 50) == pytest.approx(0.0445, abs=5e-4)


def test_weak_models_are_retrained_with_a_lower_rate_and_the_best_try_is_kept():
    cfg = tr.TrainConfig(arch="deepripe", max_tries=3, seed=5).resolve(1000)
    seen = []
    scores = iter([0.52, 0.58, 0.55])

    def run_once(c):
        seen.append((c.seed, c.plan.learning_rate))
        return health.Attempt(None, None, _val({"X": next(scores)}), c)

    best, record = health.train_until_healthy(run_once, cfg, _val({"X": 0.5}))
    assert [s for s, _ in seen] == [5, 1005, 2005]
    assert seen[1][1] == pytest.approx(seen[0][1] * health.RETRY_LR_FACTOR)
    assert record["status"] == "weak" and record["rbps"]["X"]["tries"] == 3
    assert record["rbps"]["X"]["validation_auroc"] == 0.58  # the best try is kept


def test_a_healthy_model_is_trained_once():
    cfg = tr.TrainConfig(arch="deepripe", max_tries=3).resolve(1000)
    calls = []

    def run_once(c):
        calls.append(c)
        return health.Attempt(None, None, _val({"X": 0.9}), c)

    _, record = health.train_until_healthy(run_once, cfg, _val({"X": 0.7}))
    assert len(calls) == 1 and record["status"] == "ok"


def test_a_run_still_learning_at_its_end_is_flagged():
    from types import SimpleNamespace as Fit

    rising = [0.70 + 0.01 * i for i in range(20)]
    why = health.still_learning(Fit(history={"val_auroc": rising}, best_epoch=20,
                                    epochs_run=20), 20, "multiresbind")
    assert "still rising when the 20 planned epochs ended (+0.050 over the last 5)" in why
    assert "--arch deepripe" in why
    why = health.still_learning(Fit(history={"val_auroc": rising}, best_epoch=20,
                                    epochs_run=20), 20, "deepripe")
    assert "--epochs" in why and "--arch" not in why
    flat = [0.8] * 19 + [0.8005]  # kept the last epoch, but on a plateau
    for fit, planned in [(Fit(history={"val_auroc": rising}, best_epoch=15, epochs_run=20), 20),
                         (Fit(history={"val_auroc": rising}, best_epoch=20, epochs_run=20), 30),
                         (Fit(history={"val_auroc": flat}, best_epoch=20, epochs_run=20), 20),
                         (Fit(history={"val_auroc": rising[:4]}, best_epoch=4, epochs_run=4), 4)]:
        assert health.still_learning(fit, planned, "multiresbind") is None


def test_a_model_still_learning_is_recorded_and_reported(caplog):
    cfg = tr.TrainConfig(arch="residualbind", name="rb").resolve(1200)
    rising = [0.70 + 0.005 * i for i in range(cfg.epochs)]
    fit = tr.FitResult(None, cfg.epochs, cfg.epochs, {"val_auroc": rising}, 1.0, 1.0)
    summary = tr._fit_summary(fit, planted_data(200), cfg)
    assert "still rising" in summary["still_learning"]
    assert f"rb: its validation AUROC was still rising when the {cfg.epochs}" in caplog.text
    fit = tr.FitResult(None, cfg.epochs - 10, cfg.epochs, {"val_auroc": rising}, 1.0, 1.0)
    assert tr._fit_summary(fit, planted_data(200), cfg)["still_learning"] is None
    longer = [0.70 + 0.005 * i for i in range(cfg.epochs + 8)]  # still rising when extended
    fit = tr.FitResult(None, cfg.epochs + 8, cfg.epochs + 8, {"val_auroc": longer}, 1.0, 1.0,
                       extended_epochs=8)
    assert f"when the {cfg.epochs + 8} planned epochs" in \
        tr._fit_summary(fit, planted_data(200), cfg)["still_learning"]


def _shuffled(path, per_rbp=False):
    """A planted dataset whose labels are shuffled: nothing can be learnt."""
    import h5py

    write_dataset(path, n=800, per_rbp=per_rbp)
    rng = np.random.default_rng(0)
    with h5py.File(path, "r+") as h5:
        groups = [h5[g] for g in json.loads(h5.attrs["rbps"])] if per_rbp else [h5]
        for g in groups:
            labels = g["labels"][:]
            g["labels"][...] = labels[rng.permutation(len(labels))]


TINY_ARGS = ["--epochs", "2", "--min-positives", "5", "--seq-length", "60",
             "--region-length", "80", "--batch-size", "32", "--max-tries", "2"]


def _hparams(arch):
    return [a for k, v in TINY[arch].items()
            for a in ("--hparam", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]


def test_cli_train_on_shuffled_labels_fails_naming_the_rbp(tmp_path, capsys):
    path = tmp_path / "shuffled.h5"
    _shuffled(path)
    out = tmp_path / "bundle"
    code = main(["-q", "train", "--arch", "deepripe", "--dataset", str(path), "--out", str(out),
                 *TINY_ARGS, *_hparams("deepripe")])
    captured = capsys.readouterr()
    assert code == 3
    assert "weak model for RBP U6" in captured.err and "after 2 tries" in captured.err
    assert "--allow-weak" in captured.err
    assert "k-mer AUROC" in captured.out and "weak" in captured.out
    meta = read_meta(out)
    assert meta.training["health"]["status"] == "weak"
    assert meta.weak_rbps().keys() >= {"U6"}
    assert set(meta.metrics["baseline"]["auroc"]) == {"U6", "GA3"}
    code = main(["models", "list", str(out)])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [meta.name, "U6"] == rows[-2][:2] or [meta.name, "U6"] in [r[:2] for r in rows]
    assert any(r[:2] == [meta.name, "U6"] and r[-1] == "weak" for r in rows)
    header = next(r for r in rows if r[:2] == ["name", "RBP"])
    assert header[2:] == ["test", "AUROC", "SE", "k-mer", "AUROC", "status"]
    from varbind.training.evaluate import auroc_errors

    u6 = next(r for r in rows if r[:2] == [meta.name, "U6"])
    assert float(u6[3]) == pytest.approx(auroc_errors(meta.metrics)["U6"], abs=5e-4)
    assert float(u6[3]) > 0


def test_cli_allow_weak_exits_zero_and_polaris_names_its_weak_member(tmp_path, capsys):
    path = tmp_path / "shuffled_per_rbp.h5"
    _shuffled(path, per_rbp=True)
    out = tmp_path / "bundle"
    code = main(["-q", "train", "--arch", "polaris", "--dataset", str(path), "--out", str(out),
                 "--allow-weak", *TINY_ARGS, *_hparams("polaris")])
    err = capsys.readouterr().err
    assert code == 0
    assert "weak model for RBP" in err and "--allow-weak to accept" not in err
    meta = read_meta(out)
    assert meta.training["health"]["status"] == "weak"
    assert set(meta.training["members"]) == set(meta.rbps)
    for rbp, reason in meta.weak_rbps().items():
        assert f"weak model for RBP {rbp}" in err and reason


def test_a_split_with_one_class_is_an_error_naming_rbp_and_split():
    data = planted_data(300)
    data.splits["validation"].labels[:, 1] = 0
    with pytest.raises(VarbindError, match="RBP GA3 has only negative windows in the "
                                           "validation split"):
        tr.train_multilabel(data, tr.TrainConfig(arch="deepripe", min_positives=5,
                                                 hparams=TINY["deepripe"], seq_length=60,
                                                 region_length=80, progress=False))


def test_residualbind_reads_the_dataset_window_under_the_varbind_recipe():
    from varbind.training.sequences import dataset_defaults

    data = planted_data(60)  # CLIP-style windows: sequence 60 nt, region 80 nt
    ours = dataset_defaults(tr.TrainConfig(arch="residualbind"), data)
    assert (ours.inputs, ours.seq_length) == (("sequence", "region"), 60)
    paper = dataset_defaults(tr.TrainConfig(arch="residualbind", recipe="paper"), data)
    assert paper.inputs == ("sequence",) and paper.seq_length is None  # the paper's 41 nt
    chosen = dataset_defaults(tr.TrainConfig(arch="residualbind", inputs=("sequence",),
                                             seq_length=41), data)
    assert (chosen.inputs, chosen.seq_length) == (("sequence",), 41)
    mrb = dataset_defaults(tr.TrainConfig(arch="multiresbind"), data)
    assert mrb.seq_length is None  # the others keep their paper windows


def test_polaris_reads_the_central_500_nt_of_a_peaks_dataset_under_the_varbind_recipe():
    from dataclasses import replace

    from varbind.training.sequences import dataset_defaults

    kilobase = replace(planted_data(60), seq_length=1000)  # as `varbind dataset --kind per-rbp`
    assert dataset_defaults(tr.TrainConfig(arch="polaris"), kilobase).seq_length == 500
    paper = dataset_defaults(tr.TrainConfig(arch="polaris", recipe="paper"), kilobase)
    assert paper.seq_length is None  # the paper's 1 kb
    chosen = dataset_defaults(tr.TrainConfig(arch="polaris", seq_length=800), kilobase)
    assert chosen.seq_length == 800
    narrow = dataset_defaults(tr.TrainConfig(arch="polaris"), planted_data(60))
    assert narrow.seq_length == 60  # a narrower dataset's own window
    records = replace(kilobase, sequences=True)  # labelled sequences: their whole width
    assert dataset_defaults(tr.TrainConfig(arch="polaris"), records).seq_length == 1000


def test_cli_ema_fraction_out_of_range_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "shuffled.h5"
    _shuffled(path)
    out = tmp_path / "bundle"
    code = main(["-q", "train", "--arch", "deepripe", "--dataset", str(path), "--out", str(out),
                 "--ema-fraction", "1.5", *TINY_ARGS, *_hparams("deepripe")])
    err = capsys.readouterr().err
    assert code == 2 and "--ema-fraction must be between 0 and 1, got 1.5" in err
    assert "Traceback" not in err and not out.exists()
