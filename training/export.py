"""Writing a trained model as a bundle: model without optimizer state, ``model.json`` and the
IG baselines, assembled beside the target and renamed onto it."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from varbind.errors import VarbindError
from varbind.model.bundle import save_bundle

if TYPE_CHECKING:
    from varbind.training.train import TrainResult

BASELINE_FILE = "baselines/{rbp}.npz"


def safe_name(rbp: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", rbp)


def inference_copy(model):
    """The model without its optimizer state (a third of the file for Adam), same weights."""
    import keras

    if getattr(model, "optimizer", None) is None:
        return model
    from varbind.model.layers import CUSTOM_OBJECTS

    bare = keras.Model.from_config(model.get_config(), custom_objects=CUSTOM_OBJECTS)
    bare.set_weights(model.get_weights())
    return bare


def write_bundle(result: TrainResult, out: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write model, model.json and IG baselines into directory ``out``, atomically.

    The bundle is assembled in a temporary folder beside ``out`` and renamed onto it only
    when complete.
    """
    out = Path(out)
    if out.exists() and not (out / "model.json").exists() and any(out.iterdir()):
        raise VarbindError("output exists and is not a model bundle", path=out,
                           fix="choose a new --out directory")
    if out.exists() and not overwrite:
        raise VarbindError("output bundle exists", path=out, fix="remove it or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        meta = result.meta
        meta.baselines = {}
        for rbp, arrays in result.baselines.items():
            rel = BASELINE_FILE.format(rbp=safe_name(rbp))
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp / rel, **{f"input_{i}": a for i, a in enumerate(arrays)})
            meta.baselines[rbp] = rel
        save_bundle(inference_copy(result.model), meta, tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
