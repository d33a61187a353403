"""Weight averaging (EMA) during training: the average's arithmetic, validation on the
averaged weights, and the raw weights restored for the next epoch."""

import keras
import numpy as np
import pytest

from varbind.training.averaging import WARMUP, averaging_callbacks, ema_decay


def test_ema_decay_spans_the_fraction_of_the_planned_steps():
    assert ema_decay(2000, 0.05) == pytest.approx(0.99)
    assert ema_decay(10, 0.05) == 0.0  # shorter than one step: the raw weights
    assert averaging_callbacks(2000, 0.0, None) is None


class SetWeights(keras.callbacks.Callback):
    """Overwrites the weights after every batch with the batch count (1, 2, 3, ...)."""

    def on_train_begin(self, logs=None):
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.model.set_weights([np.full_like(w, self.steps) for w in self.model.get_weights()])


class SeenWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((float(self.model.get_weights()[0].flat[0]), dict(logs)))


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return self.x, self.y


def test_the_average_is_validated_between_the_callbacks_and_the_raw_weights_come_back():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auroc")])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    decay = 0.9
    evaluate, restore = averaging_callbacks(100, 0.1, Batches(x, y))  # decay 0.9
    averaged, raw = SeenWeights(), SeenWeights()
    value = float(model.get_weights()[0].flat[0])  # the average starts at the initial weight
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False,
              callbacks=[SetWeights(), evaluate, averaged, restore, raw])

    expected = []
    for step in range(1, 9):  # 4 batches an epoch, weights 1..8
        d = min(decay, (1 + step) / (WARMUP + step))
        value = d * value + (1 - d) * step
        if step % 4 == 0:
            expected.append(value)
    assert [w for w, _ in averaged.seen] == pytest.approx(expected, rel=1e-5)
    assert [w for w, _ in raw.seen] == [4.0, 8.0]  # training goes on from the raw weights
    for weight, logs in averaged.seen:
        assert weight < raw.seen[-1][0] and {"val_loss", "val_auroc"} <= set(logs)
    model.set_weights([np.full_like(w, averaged.seen[1][0])
                       for w in model.get_weights()])
    again = model.evaluate(x, y, verbose=0, return_dict=True)
    assert averaged.seen[1][1]["val_loss"] == pytest.approx(again["loss"], rel=1e-4)
