"""Training-window jitter (training/augment.py), the residual models' global head and
DeepRiPe's max head."""

import keras
import numpy as np
import pytest

from varbind.encoding import N_CODE
from varbind.errors import VarbindError
from varbind.model.inputs import InputSpec, WindowBatch
from varbind.training import models as arch_models
from varbind.training import recipes
from varbind.training import train as tr
from varbind.training.augment import jitter_batch, max_shift, shift_rows, training_shift


def test_shift_rows_hand_worked():
    a = np.arange(10).reshape(2, 5)
    got = shift_rows(a, np.array([1, -2]), -1)
    assert got.tolist() == [[-1, 0, 1, 2, 3], [7, 8, 9, -1, -1]]
    cube = np.ones((1, 3, 2), np.float32)
    assert shift_rows(cube, np.array([2]), 0).tolist() == [[[0, 0], [0, 0], [1, 1]]]


def test_jitter_keeps_inputs_aligned_and_fills_unknowns():
    rng = np.random.default_rng(0)
    n, ls, lr = 200, 30, 50
    seq = rng.integers(0, 4, (n, ls)).astype(np.uint8)
    region = rng.integers(1, 7, (n, lr)).astype(np.int8)
    expr = rng.random(n).astype(np.float32)
    # a marker at each window's center: sequence base 3 (T) and region class 7
    seq[:, ls // 2], region[:, lr // 2] = 3, 7
    seq[:, ls // 2 - 1], region[:, lr // 2 - 1] = 0, 1
    out = jitter_batch(WindowBatch(seq, region, expr), 4, np.random.default_rng(1))
    assert out.seq.shape == seq.shape and out.region.shape == region.shape
    region_center = np.argmax(out.region == 7, axis=1) - lr // 2
    assert np.abs(region_center).max() <= 4 and len(set(region_center.tolist())) > 5
    moved = [np.array_equal(out.seq[i], shift_rows(seq[i:i + 1], [s], N_CODE)[0])
             for i, s in enumerate(region_center)]
    assert all(moved)  # sequence and region moved by the same shift
    assert np.array_equal(out.expression, expr)
    right = region_center > 0
    assert (out.seq[right, 0] == N_CODE).all() and (out.region[right, 0] == 0).all()


def test_no_jitter_returns_the_batch_unchanged():
    batch = WindowBatch(np.zeros((3, 10), np.uint8))
    assert jitter_batch(batch, 0, np.random.default_rng(0)) is batch
    assert max_shift(0.1, 150) == 15 and max_shift(0.0, 150) == 0


def test_training_shift_uses_the_shortest_per_position_input():
    plan = recipes.resolve_recipe("deepripe", "varbind", 1000, jitter=0.1)
    specs = arch_models.input_specs("deepripe", ("sequence", "region"))  # 150 and 250
    assert training_shift(plan, specs) == 15
    side_only = [InputSpec("expression", "side", ())]
    assert training_shift(plan, side_only) == 0


def test_only_training_windows_are_jittered(monkeypatch):
    from planted import TINY, planted_data

    from varbind.training import fitting

    data = planted_data(120)
    seen = []
    real = fitting.jitter_batch

    def spy(batch, shift, rng):
        seen.append((shift, len(batch)))
        return real(batch, shift, rng)

    monkeypatch.setattr(fitting, "jitter_batch", spy)
    cfg = tr.TrainConfig(arch="deepripe", epochs=1, batch_size=8, seq_length=60,
                         region_length=80, hparams=TINY["deepripe"], min_positives=5,
                         max_tries=1, progress=False, jitter=0.1)
    tr.train_multilabel(data, cfg)
    assert len(data.splits["validation"]) > 8
    shifted = [size for shift, size in seen if shift == 6]
    assert len(shifted) >= -(-len(data.splits["train"]) // 8)  # every training batch
    assert max(shifted) <= 8  # validation batches (all windows at once) never
    assert {shift for shift, _ in seen} <= {0, 6}


@pytest.mark.parametrize("arch", ["multiresbind", "residualbind"])
def test_global_head_has_far_fewer_weights_than_the_papers(arch):
    specs = arch_models.input_specs(arch, ("sequence",), 150)
    paper = arch_models.build_model(arch, specs, 3)
    small = arch_models.build_model(arch, specs, 3, {"head": "global"})
    assert arch_models.hyperparameters(arch)["head"] == "flatten"
    assert small.count_params() < paper.count_params() / 2
    x = np.zeros((2, 150, 4), np.float32)
    assert small.predict(x, verbose=0).shape == (2, 3)
    with pytest.raises(VarbindError, match="unknown head"):
        arch_models.build_model(arch, specs, 3, {"head": "mean"})


def test_deepripe_max_head_reads_the_maximum_over_positions_of_the_merged_map():
    specs = arch_models.input_specs("deepripe", ("sequence", "region", "expression"), 150)
    paper = arch_models.build_model("deepripe", specs, 3)
    small = arch_models.build_model("deepripe", specs, 3, {"head": "max"})
    assert small.get_layer("global_max").output.shape[1:] == (100,)  # merged_filters
    assert small.count_params() < paper.count_params() / 2
    x = [np.zeros((2, *s.shape), np.float32) for s in specs]
    assert small.predict(x, verbose=0).shape == (2, 3)
    # each pooled feature is the merged map's maximum over positions (no dropout at inference)
    probe = keras.Model(small.inputs, small.get_layer("global_max").output)
    merged = keras.Model(small.inputs, small.get_layer("conv_merged").output)
    x[0][:, 40:60, 2] = 1.0
    np.testing.assert_allclose(probe.predict(x, verbose=0),
                               merged.predict(x, verbose=0).max(axis=1), rtol=1e-5)
    with pytest.raises(VarbindError, match="unknown DeepRiPe head"):
        arch_models.build_model("deepripe", specs, 3, {"head": "global"})


def test_gradcam_reads_deepripe_max_head_models_at_the_merged_map():
    from varbind.interpret.gradcam import gradcam

    keras.utils.set_random_seed(0)
    specs = arch_models.input_specs("deepripe", ("sequence", "region"), 150)
    model = arch_models.build_model("deepripe", specs, 3, {"head": "max"})
    rng = np.random.default_rng(0)
    x = [np.eye(s.shape[-1], dtype=np.float32)[rng.integers(0, s.shape[-1], (4, s.shape[0]))]
         for s in specs]
    result = gradcam(model, x, [0, 2], 150, arch="deepripe")
    assert result.layers == ["conv_merged", "conv_merged"] and result.maps.shape == (2, 4, 150)
    assert np.isfinite(result.maps).all() and (result.maps > 0).any()
