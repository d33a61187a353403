"""Weight averaging during training: an exponential moving average (EMA, Polyak averaging) of
every model weight, validated and kept in place of the raw weights.

The average follows the raw weights with ``decay = 1 - 1 / (fraction * planned steps)``
(:func:`ema_decay`; a shorter horizon in the first steps, so early weights do not linger). At
the end of each epoch the averaged weights are swapped in, the validation split is evaluated
with them (``val_loss`` and the compiled metrics, e.g. ``val_auroc``, as Keras's own
validation would report them), the best-epoch callback sees them (and keeps them if they are
the best), and the raw weights are swapped back for the next epoch. BatchNorm's moving
statistics are averaged like any other weight. Keras callbacks and NumPy only, so it works on
every Keras backend.
"""

from __future__ import annotations

import numpy as np

#: Shortest-horizon term of the first steps: the decay is at most ``(1 + n) / (WARMUP + n)``.
WARMUP = 10


def floating(weights: np.ndarray) -> bool:
    """Whether ``weights`` are averaged (floating point; anything else follows the raw value)."""
    return np.issubdtype(weights.dtype, np.floating)


def ema_decay(planned_steps: int, fraction: float) -> float:
    """``1 - 1 / max(1, fraction * planned_steps)``: the average spans ~``fraction`` of the run."""
    return float(1.0 - 1.0 / max(1.0, fraction * planned_steps))


def averaging_callbacks(planned_steps: int, fraction: float, validation) -> tuple | None:
    """``(evaluate, restore)`` Keras callbacks averaging over ~``fraction`` of
    ``planned_steps`` (:func:`ema_decay`), or None when that is under one step (no averaging).

    ``evaluate`` keeps the average and, at each epoch's end, swaps it in and writes the
    validation metrics of ``validation`` (a dataset ``model.evaluate`` accepts) into the
    epoch's logs; ``restore`` swaps the raw weights back. Put callbacks that should see the
    averaged weights (the best-epoch keeper) between the two.
    """
    import keras

    decay = ema_decay(planned_steps, fraction)
    if decay <= 0:
        return None

    class EvaluateAverage(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.average = [np.array(w, dtype=np.float64 if floating(w) else w.dtype)
                            for w in self.model.get_weights()]
            self.steps, self.raw = 0, None

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            d = min(decay, (1.0 + self.steps) / (WARMUP + self.steps))
            for avg, w in zip(self.average, self.model.get_weights(), strict=True):
                if floating(w):
                    avg *= d
                    avg += (1.0 - d) * w
                else:
                    avg[...] = w

        def on_epoch_end(self, epoch, logs=None):
            self.raw = self.model.get_weights()
            self.model.set_weights([a.astype(w.dtype) for a, w in
                                    zip(self.average, self.raw, strict=True)])
            scores = self.model.evaluate(validation, verbose=0, return_dict=True)
            if logs is not None:
                logs.update({f"val_{k}": float(v) for k, v in scores.items()})

    class RestoreRaw(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if evaluate.raw is not None:
                self.model.set_weights(evaluate.raw)
                evaluate.raw = None

    evaluate = EvaluateAverage()
    return evaluate, RestoreRaw()
