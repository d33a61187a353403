"""RNASSR-Net (Qiu et al. 2021): a CNN over the sequence guides a GCN over the RNA structure.

Inputs: the one-hot sequence (N, L, 4, plus the viewpoint channel when trained from GraphProt
records with viewpoints) and the RNA graph of :mod:`varbind.model.rna_graph`,
folded by varbind: backbone plus MFE base pairs (``graph="mfe"``, (N, L, 3), the default) or
plus RNAplfold base-pair probabilities as the paper's graph (``graph="bpp"``, the
``bpp_partners`` most probable partners of each base, (N, L, 2 K + 1)). The body follows the
paper's description:

- CNN branch: Conv(filters, kernel) -> ReLU -> max-pool -> Conv -> ReLU -> max-pool, flattened;
- base importance: ``sigmoid(BN(mean over channels of the first conv layer))``, (N, L, 1);
- GCN branch: ``gcn_layers`` graph convolutions from the one-hot sequence as node features,
  the last one's features multiplied by the base importance, then max-pooled and flattened;
- both flattened, concatenated, Dense -> Dropout -> the output layer.

Hyperparameters whose values the paper does not state (filter counts and sizes, pools,
widths) are chosen for ~375-nt windows and CPU training.
"""

from __future__ import annotations

HYPERPARAMETERS = dict(filters=64, kernel_size=9, second_kernel=5, pool_size=4,
                       gcn_units=32, gcn_layers=4, gcn_pool=8, dense_units=128, dropout=0.25,
                       graph="mfe", bpp_partners=4)
CITATION = ("Qiu et al. 2021, RNASSR-Net: RNA secondary structure representation network "
            "for RNA-protein binding prediction")


def rnassr_body(inputs, p: dict):
    """``[sequence (N, L, 4 or 5), graph (N, L, 3)] -> (N, dense_units)``."""
    from keras import layers

    from varbind.model.graph_layers import ChannelMean, GraphConv, ScaleNodes

    seq, graph = inputs
    conv1 = layers.Conv1D(p["filters"], p["kernel_size"], padding="same", activation="relu",
                          name="conv1")(seq)
    weight = ChannelMean(name="base_mean")(conv1)
    weight = layers.BatchNormalization(name="base_bn")(weight)
    weight = layers.Activation("sigmoid", name="base_weight")(weight)  # (N, L, 1)
    x = layers.MaxPooling1D(p["pool_size"], name="pool1")(conv1)
    x = layers.Dropout(p["dropout"], name="drop1")(x)
    x = layers.Conv1D(p["filters"], p["second_kernel"], padding="same", activation="relu",
                      name="conv2")(x)
    x = layers.MaxPooling1D(p["pool_size"], name="pool2")(x)
    x = layers.Dropout(p["dropout"], name="drop2")(x)
    cnn = layers.Flatten(name="cnn_flat")(x)
    h = seq
    for i in range(1, int(p["gcn_layers"]) + 1):
        h = GraphConv(p["gcn_units"], name=f"gcn{i}")([h, graph])
    h = ScaleNodes(name="gcn_weighted")([h, weight])
    h = layers.MaxPooling1D(p["gcn_pool"], name="gcn_pool")(h)
    gcn = layers.Flatten(name="gcn_flat")(h)
    x = layers.Concatenate(name="join")([cnn, gcn])
    x = layers.Dense(p["dense_units"], activation="relu", name="dense")(x)
    return layers.Dropout(p["dropout"], name="drop_dense")(x)
