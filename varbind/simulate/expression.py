"""Gene expression (TPM) per simulated cell type."""

from __future__ import annotations

import numpy as np

from varbind.simulate.panel import CELL_TYPES
from varbind.simulate.transcripts import Gene

#: log10 TPM ~ Normal(mean, sd) for expressed genes; a fraction of genes is off (TPM 0).
EXPRESSION = {"coding_mean": 1.1, "lnc_mean": 0.3, "sd": 0.7, "coding_off": 0.15,
              "lnc_off": 0.4, "cell_sd": 0.45, "switch": 0.1}


def draw_expression(rng, genes: list[Gene]) -> dict[str, np.ndarray]:
    """TPM per cell type: ``{cell: (n_genes,) float64}``, rounded to 3 decimals.

    The first cell type is drawn from a log-normal with an off fraction; the others are
    correlated copies (log-scale noise) in which ~10% of genes switch on or off.
    """
    n = len(genes)
    coding = np.array([g.gene_type == "protein_coding" for g in genes])
    mean = np.where(coding, EXPRESSION["coding_mean"], EXPRESSION["lnc_mean"])
    log10 = rng.normal(mean, EXPRESSION["sd"])
    on = rng.random(n) >= np.where(coding, EXPRESSION["coding_off"], EXPRESSION["lnc_off"])
    out: dict[str, np.ndarray] = {}
    for i, cell in enumerate(CELL_TYPES):
        if i == 0:
            lv, on_c = log10, on
        else:
            lv = log10 + rng.normal(0.0, EXPRESSION["cell_sd"], n)
            on_c = on ^ (rng.random(n) < EXPRESSION["switch"])
        out[cell] = np.where(on_c, np.round(10.0 ** lv, 3), 0.0)
    # the forced test genes (first five) are expressed in every cell type
    for cell in CELL_TYPES:
        out[cell][:5] = np.maximum(out[cell][:5], 20.0)
    return out
