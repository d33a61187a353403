"""Attribution maps for windows: integrated gradients, GradCAM and in-silico mutagenesis.

Every function here takes a Keras model and the list of input arrays that
:func:`varbind.model.inputs.build_inputs` made for a :class:`~varbind.model.inputs.WindowBatch`, and
returns maps over the model's sequence input, ``(T, N, L, 4)`` or ``(T, N, L)`` for ``T``
target RBPs (output columns) and ``N`` windows. Only :mod:`varbind.interpret.gradients` touches the
backend; the rest is numpy and ``keras.ops``.

This module was split by method into :mod:`varbind.interpret.baselines`,
:mod:`~varbind.interpret.ig`, :mod:`~varbind.interpret.gradcam_layers`,
:mod:`~varbind.interpret.receptive`, :mod:`~varbind.interpret.gradcam`,
:mod:`~varbind.interpret.ism` and :mod:`~varbind.interpret.variant_maps`; the names stay
importable from here for one release."""

from varbind.interpret.baselines import (  # noqa: F401
    BASELINES,
    SequenceSlot,
    baseline_arrays,
    predict_arrays,
    sequence_slot,
)
from varbind.interpret.gradcam import (  # noqa: F401
    GradCAMResult,
    gradcam,
)
from varbind.interpret.gradcam_layers import (  # noqa: F401
    find_layer,
    gradcam_layers,
)
from varbind.interpret.ig import (  # noqa: F401
    IG_RULES,
    IGResult,
    integrated_gradients,
)
from varbind.interpret.ism import (  # noqa: F401
    ism,
)
from varbind.interpret.receptive import (  # noqa: F401
    position_map,
    receptive_field,
    stretch,
)
from varbind.interpret.variant_maps import (  # noqa: F401
    METHODS,
    ExplainOptions,
    VariantExplanation,
    VariantSite,
    explain_variants,
    site_indices,
)
