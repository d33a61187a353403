"""Custom Keras objects shared by the architectures, registered for loading bundles.

Everything here is built from ``keras.ops`` only, so saved models run on any Keras backend.
Add each new object to :data:`CUSTOM_OBJECTS`; :func:`varbind.model.bundle.load_bundle` passes it
to Keras.
"""

from __future__ import annotations

import keras
from keras import ops

from varbind.model.graph_layers import GRAPH_OBJECTS


@keras.saving.register_keras_serializable(package="varbind")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Multi-label binary cross-entropy with a weight on each label's positive term.

    ``loss = mean_k [ -w_k * y_k * log(p_k) - (1 - y_k) * log(1 - p_k) ]``

    This is DeepRiPe's class weighting for multi-label outputs: ``w_k = max(1, log(mu * N /
    n_k))`` for an RBP with ``n_k`` positives among ``N`` training windows (see
    :func:`varbind.training.train.positive_weights`), so rare RBPs cost more to miss.

    Parameters
    ----------
    pos_weights : one weight per output column, shape (K,)
    """

    def __init__(self, pos_weights, name="weighted_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weights = [float(w) for w in pos_weights]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        eps = keras.config.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        w = ops.convert_to_tensor(self.pos_weights, dtype=y_pred.dtype)  # (K,)
        per_label = -(w * y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))  # (N, K)
        return ops.mean(per_label, axis=-1)  # (N,)

    def get_config(self):
        config = super().get_config()
        config["pos_weights"] = list(self.pos_weights)
        return config


CUSTOM_OBJECTS: dict = {
    "varbind>WeightedBinaryCrossentropy": WeightedBinaryCrossentropy,
    "WeightedBinaryCrossentropy": WeightedBinaryCrossentropy,
    **GRAPH_OBJECTS,
}
