"""Batched model calls with toy models whose outputs are known exactly."""

import numpy as np
import pytest
import scoring_world as sw

from varbind.encoding import encode
from varbind.model.inputs import Component, InputSpec, WindowBatch
from varbind.scoring.predict import concat_batches, forward, predict, predict_alleles


@pytest.fixture(scope="module")
def frac_model():
    return sw.frac_model(11)


def codes(*seqs):
    return np.stack([encode(s) for s in seqs])


def test_predict_batches_pad_and_join(frac_model):
    from varbind.encoding import one_hot

    rng = np.random.default_rng(0)
    x = one_hot(rng.integers(0, 4, size=(70, 11)))
    seen = []

    def spy(model, batch):
        seen.append(len(batch[0]))
        return forward(model, batch)

    out = predict(frac_model, [x], batch_size=64, func=spy)
    assert out.shape == (70, 2)
    # regression (sharded != single-process in the last digit): the last 6 rows are padded
    # to the full batch, so every window is scored in a batch of the same shape
    assert seen == [64, 64]
    expected = np.stack([x[..., 0].mean(1), x[..., 2].mean(1)], axis=1)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(predict(frac_model, [x], batch_size=7), out, atol=1e-6)


def test_predict_rejects_bad_batch_size(frac_model):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        predict(frac_model, [np.zeros((1, 11, 4))], batch_size=0)


class Bundle:
    """The parts of a ModelBundle that predict_alleles uses."""

    def __init__(self, name, model, inputs):
        from varbind.model.bundle import ModelMeta

        self.name, self.model = name, model
        self.meta = ModelMeta(name=name, architecture="imported", rbps=["A", "G"],
                              inputs=inputs)


def test_predict_alleles_crops_each_model_and_splits_ref_alt(frac_model):
    seq = Component("sequence", tuple("ACGT"))
    wide = Bundle("wide", frac_model, [InputSpec("s", "per_position", (seq,), length=11)])
    narrow = Bundle("narrow", sw.frac_model(3), [InputSpec("s", "per_position", (seq,),
                                                           length=3)])
    ref = WindowBatch(seq=codes("AAAAACAAAAA"))
    alt = WindowBatch(seq=codes("AAAAAGAAAAA", "GGGGGAGGGGG"))
    out = predict_alleles([wide, narrow], ref, alt, batch_size=2)
    np.testing.assert_allclose(out["wide"].ref, [[10 / 11, 0]], atol=1e-6)
    np.testing.assert_allclose(out["wide"].alt, [[10 / 11, 1 / 11], [1 / 11, 10 / 11]],
                               atol=1e-6)
    # the narrow model sees the center 3 bases: ACA, AGA, GAG
    np.testing.assert_allclose(out["narrow"].ref, [[2 / 3, 0]], atol=1e-6)
    np.testing.assert_allclose(out["narrow"].alt, [[2 / 3, 1 / 3], [1 / 3, 2 / 3]], atol=1e-6)


def test_predict_alleles_takes_any_function_and_a_prepare_hook(frac_model):
    seq = Component("sequence", tuple("ACGT"))
    b = Bundle("m", frac_model, [InputSpec("s", "per_position", (seq,), length=11)])
    ref = WindowBatch(seq=codes("ACGTACGTACG"), extra={"k": np.array([1])})
    alt = WindowBatch(seq=codes("ACGTATGTACG"), extra={"k": np.array([2])})
    prepared = []

    def prepare(bundle, batch):
        prepared.append(batch.extra["k"].tolist())
        return batch

    def one_hot_sum(model, inputs):  # an "attribution": per-position channel sums (n, L)
        return inputs[0].sum(-1)

    out = predict_alleles([b], ref, alt, func=one_hot_sum, prepare=prepare)
    assert prepared == [[1, 2]]
    assert out["m"].ref.shape == (1, 11) and out["m"].alt.shape == (1, 11)
    assert out["m"].ref.sum() == 11


def test_concat_batches_drops_missing_fields():
    a = WindowBatch(seq=codes("AC"), region=np.zeros((1, 2), np.int8))
    b = WindowBatch(seq=codes("GT"), region=None)
    c = concat_batches(a, b)
    assert c.seq.tolist() == [[0, 1], [2, 3]] and c.region is None
