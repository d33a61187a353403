"""Moved to :mod:`varbind.scoring.predict`; this import path is kept for one release."""

from varbind.scoring.predict import (  # noqa: F401
    AlleleScores,
    BatchFunction,
    build_allele_inputs,
    concat_batches,
    forward,
    predict,
    predict_alleles,
    predict_built,
)
