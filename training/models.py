"""The seed papers' architectures as Keras 3 functional models (layers and ``keras.ops`` only).

Each architecture declares its inputs as :class:`varbind.model.inputs.InputSpec` (built by
:func:`input_specs` from the input kinds a user picks) and builds a model whose Keras inputs
follow those specs in order; :func:`varbind.model.inputs.build_inputs` makes the arrays for it.

=============  ===============================================  ==========================
architecture   inputs (default lengths)                         body (paper defaults)
=============  ===============================================  ==========================
multiresbind   one per-position tensor (150, d): sequence (4)   Conv 96x11, dilated
               [+ region (4) + structure (2) + expression (1)]   residual block, AvgPool 10,
                                                                Dense 256, k sigmoid
deepripe       sequence (150, 4 [+2]) and region (250, 4)       per branch Conv 90x7 + pool,
               [+ expression side (1)]                          joined along length, Conv
                                                                100x5, Dense 250, k sigmoid
polaris        sequence (1000, 4 [+2]), region side (7),        2 x (Conv 100x8 L2 .01,
               expression side (1)                              MaxPool 4, Dropout .15),
                                                                Dense 600/300/64, 1 sigmoid
residualbind   one per-position tensor (41, d) as Multi-resBind Conv 96x11, residual block
                                                                dilations 1/2/4, AvgPool 10,
                                                                Dense 256, sigmoid/linear
rnassr         sequence (375, 4) and RNA graph (375, 3)         CNN 2 x (Conv, MaxPool) and
               (backbone + MFE pairs) or (375, 2K + 1)          4 GCN layers scaled by the
               (base-pair probabilities), see                   CNN's base weights, Dense 128
               :mod:`varbind.model.rna_graph`
=============  ===============================================  ==========================

A dataset built from FASTA records with GraphProt's upper-case viewpoints adds one channel to
every architecture's per-position sequence input under the varbind recipe: the viewpoint,
1 on the binding site and 0 on its flanks (``viewpoint`` in ``--inputs``). Under the varbind
recipe POLARIS reads the central 500 nt of a peaks dataset's 1-kb windows
(``varbind_seq_length``; :mod:`varbind.training.recipes`), and on a few hundred training
windows the residual models and DeepRiPe pool their last convolution map over positions
(``pooled_head``: ``head=global``, ``head=max``) instead of flattening it.

Sources: Multi-resBind (Zhao et al. 2022 and its public code), DeepRiPe (Ghanbari & Ohler
2020, ``create_diff_model6``), POLARIS (ShenLab ``cnn_models.py`` plus the paper's dropout
of .15), ResidualBind (Koo et al. 2021), RNASSR-Net (Qiu et al. 2021; :mod:`.rnassr`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from varbind.encoding import REGION_SCHEMES
from varbind.errors import VarbindError
from varbind.model.architectures import (  # last_conv_layer: re-exported, it lived here
    ARCHITECTURES,
    last_conv_layer,  # noqa: F401
)
from varbind.model.inputs import Component, InputSpec
from varbind.model.rna_graph import GRAPHS, graph_channels
from varbind.training import rnassr

INPUT_KINDS = ("sequence", "viewpoint", "region", "structure", "expression")
#: Region channels of the per-position models (Multi-resBind and ResidualBind follow DeepRiPe).
PER_POSITION_REGIONS = REGION_SCHEMES["deepripe"]


@dataclass(frozen=True)
class TrainingDefaults:
    """How a paper trained its model; every field can be overridden."""

    optimizer: str  # adam | sgd
    learning_rate: float
    batch_size: int
    epochs: int
    patience: int  # early stopping on validation loss; 0 disables it
    class_weight: bool  # DeepRiPe's weighted multi-label BCE
    per_rbp: bool  # one model per RBP (POLARIS) rather than one multi-label model
    lr_decay: float = 0.0  # factor on plateau of validation loss (ResidualBind 0.3); 0: none
    lr_patience: int = 0
    momentum: float = 0.0


@dataclass(frozen=True)
class ArchitectureInfo:
    name: str
    default_inputs: tuple[str, ...]
    seq_length: int
    region_length: int
    training: TrainingDefaults
    hyperparameters: dict = field(default_factory=dict)
    citation: str = ""
    #: Inputs of the varbind recipe where they differ from the paper's, which then also reads
    #: the dataset's whole window (None: the paper's inputs and window under both recipes).
    varbind_inputs: tuple[str, ...] | None = None
    #: The varbind recipe's sequence window on a peaks dataset where it is shorter than the
    #: paper's: the central part of the dataset's windows (None: the paper's window).
    varbind_seq_length: int | None = None
    #: The ``head`` the varbind recipe gives the model on a few hundred training windows
    #: (below ``recipes.GLOBAL_HEAD_BELOW``): pooling over positions (None: the paper's head).
    pooled_head: str | None = None


ARCHITECTURE_INFO: dict[str, ArchitectureInfo] = {
    "multiresbind": ArchitectureInfo(
        "multiresbind", ("sequence", "region"), 150, 150,
        TrainingDefaults("adam", 1e-3, 128, 40, 10, False, False),
        dict(filters=96, kernel_size=11, residual_kernel=3, dilations=(2, 4, 8),
             pool_size=10, dense_units=256, dropouts=(0.1, 0.2, 0.5), residual_dropout=0.1,
             bn_momentum=0.99, head="flatten", batch_norm=True),
        "Zhao et al. 2022, BMC Bioinformatics 23:213 (Multi-resBind)", pooled_head="global"),
    "deepripe": ArchitectureInfo(
        "deepripe", ("sequence", "region"), 150, 250,
        TrainingDefaults("adam", 1e-3, 128, 20, 5, True, False),
        dict(filters=90, kernel_size=7, seq_pool=(4, 2), region_pool=(10, 5),
             merged_filters=100, merged_kernel=5, merged_pool=(10, 5), dense_units=250,
             dropout=0.25, head="flatten"),
        "Ghanbari & Ohler 2020, Bioinformatics 36:i409 (DeepRiPe)", pooled_head="max"),
    "polaris": ArchitectureInfo(
        "polaris", ("sequence", "region", "expression"), 1000, 1,
        TrainingDefaults("sgd", 1e-2, 16, 10, 3, False, True),
        dict(filters=100, kernel_size=8, pool_size=4, l2=0.01, dropout=0.15,
             dense_units=(600, 300, 64)),
        "Sun et al. 2021, POLARIS (bioRxiv 2021.02.17.431644)", varbind_seq_length=500),
    "residualbind": ArchitectureInfo(
        "residualbind", ("sequence",), 41, 41,
        TrainingDefaults("adam", 1e-3, 100, 300, 20, False, False, lr_decay=0.3,
                         lr_patience=7),
        dict(filters=96, kernel_size=11, residual_kernel=3, dilations=(1, 2, 4),
             pool_size=10, dense_units=256, dropouts=(0.1, 0.2, 0.5), residual_dropout=0.1,
             bn_momentum=0.99, head="flatten", batch_norm=True),
        "Koo et al. 2021, PLoS Comput Biol 17:e1008925 (ResidualBind)",
        varbind_inputs=("sequence", "region"), pooled_head="global"),
    "rnassr": ArchitectureInfo(
        "rnassr", ("sequence", "structure"), 375, 375,
        TrainingDefaults("adam", 1e-3, 128, 100, 0, False, False, lr_decay=0.5,
                         lr_patience=10),
        dict(rnassr.HYPERPARAMETERS), rnassr.CITATION),
}


def check_architecture(arch: str) -> ArchitectureInfo:
    if arch not in ARCHITECTURE_INFO:
        raise VarbindError(f"unknown architecture {arch!r}",
                           fix=f"choose one of: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURE_INFO[arch]


def parse_inputs(text: str | Sequence[str] | None, arch: str) -> tuple[str, ...]:
    """Input kinds from ``--inputs`` (``"sequence,region"``), in canonical order.

    None gives the architecture's default. Unknown names and architectures that cannot
    work without the sequence raise :class:`VarbindError`.
    """
    info = check_architecture(arch)
    if text is None:
        return info.default_inputs
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in INPUT_KINDS]
    if unknown or not names:
        raise VarbindError(f"unknown input {', '.join(unknown) or '(none)'!s} in --inputs",
                           fix=f"use a comma-separated list of: {', '.join(INPUT_KINDS)}")
    if (arch in ("deepripe", "polaris") or "viewpoint" in names) and "sequence" not in names:
        who = arch if arch in ("deepripe", "polaris") else "the viewpoint input"
        raise VarbindError(f"{who} needs the sequence input", fix="add 'sequence' to --inputs")
    if arch == "rnassr" and sorted(set(names) - {"viewpoint"}) != ["sequence", "structure"]:
        raise VarbindError("rnassr takes the inputs sequence,structure (its RNA graph) and "
                           "optionally viewpoint",
                           fix="drop --inputs or pass --inputs sequence,structure[,viewpoint]")
    return tuple(k for k in INPUT_KINDS if k in names)


_SEQUENCE = Component("sequence", tuple("ACGT"))
_STRUCTURE = Component("structure", ("paired", "unpaired"))
_EXPRESSION = Component("expression", ("log1p_tpm",))


def input_specs(arch: str, inputs: Sequence[str], seq_length: int | None = None,
                region_length: int | None = None, hparams: dict | None = None,
                viewpoint_span: int = 0) -> list[InputSpec]:
    """The Keras inputs of ``arch`` for the chosen input kinds.

    Parameters
    ----------
    arch : one of :data:`ARCHITECTURES`
    inputs : kinds from :data:`INPUT_KINDS` (see :func:`parse_inputs`)
    seq_length, region_length : window lengths; the paper's by default
    hparams : hyperparameter overrides; RNASSR-Net's ``graph`` and ``bpp_partners`` decide
        its graph input's channels
    viewpoint_span : with the ``viewpoint`` input, the central bases it marks when a batch
        has no viewpoint of its own (scoring); see :class:`varbind.model.inputs.Component`

    Returns
    -------
    list of InputSpec in the model's input order.
    """
    info = check_architecture(arch)
    inputs = parse_inputs(list(inputs), arch)
    ls = seq_length or info.seq_length
    lr = region_length or info.region_length
    sequence = (_SEQUENCE,) + _viewpoint(inputs, viewpoint_span)
    if arch == "rnassr":
        p = hyperparameters(arch, hparams)
        if p["graph"] not in GRAPHS or int(p["bpp_partners"]) < 1:
            raise VarbindError(f"rnassr: graph={p['graph']!r}, bpp_partners="
                               f"{p['bpp_partners']!r} is not an RNA graph",
                               fix=f"use --hparam graph={'|'.join(GRAPHS)} and "
                                   "--hparam bpp_partners=K with K >= 1")
        pairs = Component("pairs", graph_channels(p["graph"], int(p["bpp_partners"])))
        return [InputSpec("sequence", "per_position", sequence, ls),
                InputSpec("graph", "per_position", (pairs,), ls)]
    if arch in ("multiresbind", "residualbind"):
        comps = []
        if "sequence" in inputs:
            comps.extend(sequence)
        if "region" in inputs:
            comps.append(Component("region", PER_POSITION_REGIONS))
        if "structure" in inputs:
            comps.append(_STRUCTURE)
        if "expression" in inputs:
            comps.append(_EXPRESSION)
        return [InputSpec("window", "per_position", tuple(comps), ls)]
    seq_comps = sequence + ((_STRUCTURE,) if "structure" in inputs else ())
    specs = [InputSpec("sequence", "per_position", seq_comps, ls)]
    if arch == "deepripe":
        if "region" in inputs:
            specs.append(InputSpec("region", "per_position",
                                   (Component("region", REGION_SCHEMES["deepripe"]),), lr))
    elif "region" in inputs:  # polaris: the class at the window center, a side input
        specs.append(InputSpec("region", "side",
                               (Component("region", REGION_SCHEMES["polaris"]),)))
    if "expression" in inputs:
        specs.append(InputSpec("expression", "side", (_EXPRESSION,)))
    return specs


def _viewpoint(inputs: Sequence[str], span: int) -> tuple[Component, ...]:
    """The viewpoint channel that follows the sequence's, when ``inputs`` has it."""
    if "viewpoint" not in inputs:
        return ()
    if span <= 0:
        raise VarbindError("the viewpoint input needs the binding-site length it marks when "
                           "scoring", fix="train from a dataset built from FASTA with "
                                          "GraphProt's upper-case viewpoints")
    return (Component("viewpoint", ("viewpoint",), span=int(span)),)


def hyperparameters(arch: str, overrides: dict | None = None) -> dict:
    """The paper's hyperparameters for ``arch`` with ``overrides`` applied (unknown keys fail)."""
    info = check_architecture(arch)
    params = dict(info.hyperparameters)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise VarbindError(f"unknown hyperparameter {key!r} for {arch}",
                               fix=f"choose from: {', '.join(sorted(params))}")
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(params[key], tuple) and not isinstance(value, tuple):
            value = (value,)  # --hparam dilations=1 parses as a number: (1,)
        params[key] = value
    return params


def build_model(arch: str, specs: list[InputSpec], n_outputs: int,
                hparams: dict | None = None, output: str = "sigmoid", name: str | None = None):
    """Build an uncompiled Keras model.

    Parameters
    ----------
    arch : architecture name
    specs : inputs from :func:`input_specs`
    n_outputs : K, the number of RBPs (POLARIS: 1)
    hparams : overrides of the paper's hyperparameters (:func:`hyperparameters`)
    output : ``sigmoid`` (classification) or ``linear`` (ResidualBind's regression)

    Returns
    -------
    keras.Model taking ``len(specs)`` inputs and returning (N, n_outputs).
    """
    import keras

    params = hyperparameters(arch, hparams)
    inputs = [keras.Input(shape=s.shape, name=s.name) for s in specs]
    if arch in ("multiresbind", "residualbind"):
        x = _residual_body(inputs[0], params, prefix="")
    elif arch == "deepripe":
        x = _deepripe_body(inputs, specs, params)
    elif arch == "rnassr":
        x = rnassr.rnassr_body(inputs, params)
    else:
        if n_outputs != 1:
            raise VarbindError(f"POLARIS predicts one RBP per model, asked for {n_outputs}",
                               fix="train one POLARIS model per RBP and join them with "
                                   "join_polaris")
        x = _polaris_body(inputs, specs, params, prefix="")
    out = keras.layers.Dense(n_outputs, activation=output, name="output")(x)
    return keras.Model(inputs=inputs, outputs=out, name=name or arch)


def _residual_body(x, p: dict, prefix: str):
    """Multi-resBind / ResidualBind trunk: (N, L, C) -> (N, dense_units)."""
    from keras import layers

    use_bn = p["batch_norm"]
    if not isinstance(use_bn, bool):
        raise VarbindError(f"batch_norm={use_bn!r} is not true or false",
                           fix="use --hparam batch_norm=true or batch_norm=false")

    def norm(t, name):
        return layers.BatchNormalization(momentum=p["bn_momentum"], name=name)(t) if use_bn else t

    d1, d2, d3 = p["dropouts"]
    nn = layers.Conv1D(p["filters"], p["kernel_size"], padding="same", use_bias=not use_bn,
                       name=prefix + "conv1")(x)
    nn = norm(nn, prefix + "bn1")
    nn = layers.Activation("relu", name=prefix + "relu1")(nn)
    nn = layers.Dropout(d1, name=prefix + "drop1")(nn)
    # residual block: conv-BN, then per dilation ReLU-dropout-conv-BN, added back
    res = layers.Conv1D(p["filters"], p["residual_kernel"], padding="same", use_bias=not use_bn,
                        name=prefix + "res_conv0")(nn)
    res = norm(res, prefix + "res_bn0")
    for i, rate in enumerate(p["dilations"], start=1):
        res = layers.Activation("relu", name=f"{prefix}res_relu{i}")(res)
        res = layers.Dropout(p["residual_dropout"], name=f"{prefix}res_drop{i}")(res)
        res = layers.Conv1D(p["filters"], p["residual_kernel"], padding="same",
                            dilation_rate=rate, use_bias=not use_bn,
                            name=f"{prefix}res_conv{i}")(res)
        res = norm(res, f"{prefix}res_bn{i}")
    nn = layers.Add(name=prefix + "res_add")([nn, res])
    nn = layers.Activation("relu", name=prefix + "res_out")(nn)  # (N, L, F): last conv map
    nn = _residual_head(nn, p, d2, prefix)
    nn = layers.Dense(p["dense_units"], use_bias=not use_bn, name=prefix + "dense")(nn)
    nn = norm(nn, prefix + "bn_dense")
    nn = layers.Activation("relu", name=prefix + "relu_dense")(nn)
    return layers.Dropout(d3, name=prefix + "drop_dense")(nn)


RESIDUAL_HEADS = ("flatten", "global")


def _residual_head(nn, p: dict, dropout: float, prefix: str):
    """(N, L, F) -> (N, D) before the dense layer. ``flatten`` (the papers): AvgPool
    ``pool_size``, dropout, flatten, D = L / pool_size * F. ``global``: average and maximum
    over positions, concatenated, then dropout, D = 2F (far fewer dense weights)."""
    from keras import layers

    if p["head"] not in RESIDUAL_HEADS:
        raise VarbindError(f"unknown head {p['head']!r}", fix="use head=flatten or head=global")
    if p["head"] == "global":
        nn = layers.Concatenate(name=prefix + "global_pool")(
            [layers.GlobalAveragePooling1D(name=prefix + "global_avg")(nn),
             layers.GlobalMaxPooling1D(name=prefix + "global_max")(nn)])
        return layers.Dropout(dropout, name=prefix + "drop2")(nn)
    pool = min(int(p["pool_size"]), nn.shape[1])  # a window shorter than the pool: one step
    nn = layers.AveragePooling1D(pool, name=prefix + "pool")(nn)  # (N, L / pool, F)
    nn = layers.Dropout(dropout, name=prefix + "drop2")(nn)
    return layers.Flatten(name=prefix + "flatten")(nn)


def _deepripe_body(inputs, specs: list[InputSpec], p: dict):
    """DeepRiPe: sequence and region branches joined along the length axis."""
    from keras import layers

    by_name = dict(zip([s.name for s in specs], inputs, strict=True))

    def branch(x, pool, tag):
        nn = layers.Conv1D(p["filters"], p["kernel_size"], activation="relu",
                           name=f"{tag}_conv1")(x)
        nn = layers.MaxPooling1D(pool[0], strides=pool[1], name=f"{tag}_pool1")(nn)
        return layers.Dropout(p["dropout"], name=f"{tag}_drop1")(nn)

    parts = [branch(by_name["sequence"], p["seq_pool"], "seq")]
    if "region" in by_name:
        parts.append(branch(by_name["region"], p["region_pool"], "region"))
    nn = parts[0] if len(parts) == 1 else layers.Concatenate(axis=1, name="merge")(parts)
    nn = layers.Conv1D(p["merged_filters"], p["merged_kernel"], activation="relu",
                       name="conv_merged")(nn)
    nn = _deepripe_head(nn, p)
    if "expression" in by_name:  # not in the paper: a side input joins before the dense layer
        nn = layers.Concatenate(name="join_expression")([nn, by_name["expression"]])
    return layers.Dense(p["dense_units"], activation="relu", name="hidden1")(nn)


DEEPRIPE_HEADS = ("flatten", "max")


def _deepripe_head(nn, p: dict):
    """(N, L, F) merged convolution map -> (N, D) before the dense layer. ``flatten`` (the
    paper): max-pool ``merged_pool``, dropout, flatten, D = pooled L x F. ``max``: the maximum
    over positions, then dropout, D = F (far fewer dense weights)."""
    from keras import layers

    if p["head"] not in DEEPRIPE_HEADS:
        raise VarbindError(f"unknown DeepRiPe head {p['head']!r}",
                           fix="use --hparam head=flatten or head=max")
    if p["head"] == "max":
        nn = layers.GlobalMaxPooling1D(name="global_max")(nn)
        return layers.Dropout(p["dropout"], name="merged_drop")(nn)
    nn = layers.MaxPooling1D(p["merged_pool"][0], strides=p["merged_pool"][1],
                             name="merged_pool")(nn)
    nn = layers.Dropout(p["dropout"], name="merged_drop")(nn)
    return layers.Flatten(name="flat")(nn)


def _polaris_body(inputs, specs: list[InputSpec], p: dict, prefix: str):
    """POLARIS: two conv/pool/dropout blocks, three dense layers, side inputs joined last."""
    from keras import layers, regularizers

    by_name = dict(zip([s.name for s in specs], inputs, strict=True))
    nn = by_name["sequence"]
    for i in (1, 2):
        nn = layers.Conv1D(p["filters"], p["kernel_size"], activation="relu",
                           kernel_regularizer=regularizers.L2(p["l2"]),
                           name=f"{prefix}conv{i}")(nn)
        nn = layers.MaxPooling1D(p["pool_size"], name=f"{prefix}pool{i}")(nn)
        nn = layers.Dropout(p["dropout"], name=f"{prefix}drop{i}")(nn)
    nn = layers.Flatten(name=prefix + "flatten")(nn)
    for i, units in enumerate(p["dense_units"], start=1):
        nn = layers.Dense(units, activation="relu", name=f"{prefix}dense{i}")(nn)
        if i == 1:
            nn = layers.Dropout(p["dropout"], name=f"{prefix}drop_dense")(nn)
    parts = [nn]
    if "region" in by_name:
        parts.append(layers.Dense(specs[[s.name for s in specs].index("region")].width,
                                  name=prefix + "region_dense")(by_name["region"]))
    if "expression" in by_name:
        parts.append(layers.Dense(1, name=prefix + "expression_dense")(by_name["expression"]))
    if len(parts) == 1:
        return nn
    return layers.Concatenate(name=prefix + "join")(parts)


def join_polaris(models: Sequence, rbps: Sequence[str], specs: list[InputSpec]):
    """Join per-RBP POLARIS models into one model with shared inputs and one (N, K) output.

    The joined graph is flat: RBP ``r``'s layers are rebuilt under the prefix ``"r."`` (its
    last conv layer is ``"r.conv2"``) and get the trained weights of its own model, so
    predictions equal the separate models' exactly.

    Parameters
    ----------
    models : K trained single-output POLARIS models with identical inputs ``specs``
    rbps : K RBP names, the output column order

    Returns
    -------
    keras.Model: inputs as ``specs``, output (N, K) named ``output``.
    """
    import keras

    if len(models) != len(rbps) or not models:
        raise ValueError("join_polaris needs one model per RBP")
    shapes = [tuple(s.shape) for s in specs]
    inputs = [keras.Input(shape=s.shape, name=s.name) for s in specs]
    heads = []
    for model, rbp in zip(models, rbps, strict=True):
        got = [tuple(t.shape[1:]) for t in model.inputs]
        if got != shapes:
            raise VarbindError(f"POLARIS model for {rbp} has inputs {got}, expected {shapes}",
                               fix="join only models trained with the same --inputs")
        params = _polaris_params_of(model)
        prefix = f"{rbp}."
        x = _polaris_body(inputs, specs, params, prefix=prefix)
        heads.append(keras.layers.Dense(1, activation="sigmoid", name=prefix + "output")(x))
    out = keras.layers.Concatenate(name="output")(heads) if len(heads) > 1 else heads[0]
    joined = keras.Model(inputs=inputs, outputs=out, name="polaris_joined")
    for model, rbp in zip(models, rbps, strict=True):
        for layer in model.layers:
            if layer.weights:
                joined.get_layer(f"{rbp}.{layer.name}").set_weights(layer.get_weights())
    return joined


def _polaris_params_of(model) -> dict:
    """Read a POLARIS model's hyperparameters back from its layers."""
    conv = model.get_layer("conv1")
    pool = model.get_layer("pool1")
    dense = [model.get_layer(f"dense{i}").units for i in range(1, 10)
             if any(lay.name == f"dense{i}" for lay in model.layers)]
    return dict(filters=conv.filters, kernel_size=conv.kernel_size[0],
                pool_size=pool.pool_size[0], l2=float(conv.kernel_regularizer.l2),
                dropout=float(model.get_layer("drop1").rate), dense_units=tuple(dense))
