"""Import a published Keras 2 ``.h5`` model (DeepRiPe's kind) into a varbind model bundle.

``varbind models import model.h5 --meta meta.json --out BUNDLE``. The ``.h5`` holds the
architecture and weights; ``meta.json`` says what Keras cannot: the RBP names in output
order and how each input is encoded. Its keys are those of ``model.json``
(:class:`varbind.model.bundle.ModelMeta`); ``inputs`` may be left out when ``architecture`` is one
varbind knows (e.g. ``deepripe``), in which case the input specs are derived from the
model's input shapes. Example for a DeepRiPe PAR-CLIP model::

    {"name": "deepripe_parclip_high", "architecture": "deepripe",
     "rbps": ["DND1", "CPSF7", ...], "cell_line": "HEK293", "genome_build": "hg19"}
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from varbind.errors import InputFileError, ModelBundleError, VarbindError
from varbind.files import file_digest
from varbind.model.bundle import ModelMeta, save_bundle
from varbind.model.inputs import InputSpec

log = logging.getLogger(__name__)

#: Keras 2 layer classes that are not Keras layer classes but load fine (wrappers, merges).
_KNOWN_EXTRA = {"InputLayer", "Sequential", "Functional", "Model", "TFOpLambda"}


def h5_layer_classes(path: str | os.PathLike) -> tuple[list[str], str]:
    """Layer class names in a Keras ``.h5``'s model config and the Keras version that wrote it."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
            version = h5.attrs.get("keras_version", b"unknown")
    except OSError as exc:
        raise InputFileError(f"not an HDF5 file ({exc})", path=path,
                             fix="pass a Keras .h5 model saved with model.save('x.h5')") from None
    if raw is None:
        raise InputFileError("the .h5 holds weights only (no model_config)", path=path,
                             fix="save the whole model with model.save, not save_weights")
    config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    names: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "class_name" in node and "config" in node:
                names.append(node["class_name"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    version = version.decode() if isinstance(version, bytes) else str(version)
    return names, version


def custom_layer_classes(path: str | os.PathLike) -> list[str]:
    """Layer classes in the ``.h5`` that Keras 3 does not provide."""
    import keras

    names, _ = h5_layer_classes(path)
    names = [n.split(">")[-1] for n in names]  # 'package>Class' for registered objects
    structural = {"Functional", "Sequential", "Model", "InputLayer"}
    layer_like = [n for n in names if n[:1].isupper() and n not in structural]
    known = set(dir(keras.layers)) | _KNOWN_EXTRA
    skip = set(dir(keras.initializers)) | set(dir(keras.regularizers)) | \
        set(dir(keras.constraints)) | set(dir(keras.optimizers)) | {"VarianceScaling"}
    return sorted({n for n in layer_like if n not in known and n not in skip})


def load_legacy_h5(path: str | os.PathLike):
    """Load a Keras 2 ``.h5`` model with Keras 3 (weights and architecture, not compiled)."""
    import keras

    from varbind.model.layers import CUSTOM_OBJECTS

    path = Path(path)
    if not path.exists():
        raise InputFileError("model file not found", path=path, fix="check the path")
    custom = [c for c in custom_layer_classes(path) if c not in CUSTOM_OBJECTS]
    if custom:
        raise ModelBundleError(
            f"the model uses custom layers {', '.join(custom)} that varbind cannot rebuild",
            path=path,
            fix="rebuild the architecture from standard Keras layers, load the weights with "
                "load_weights, save it as .h5 again and re-run the import")
    try:
        return keras.saving.load_model(path, compile=False, custom_objects=CUSTOM_OBJECTS)
    except Exception as exc:  # Keras raises many kinds for old or odd files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelBundleError(f"Keras cannot load this .h5 ({type(exc).__name__}: {msg})",
                               path=path,
                               fix="re-save the model with tf-keras (model.save('x.h5')) "
                                   "or import its weights into a rebuilt model") from None


def read_import_meta(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.exists():
        raise InputFileError("metadata file not found", path=path,
                             fix="write a meta.json with at least 'name' and 'rbps'")
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputFileError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno,
                             fix="fix the JSON syntax") from None
    if not isinstance(d, dict):
        raise InputFileError("metadata must be a JSON object", path=path,
                             fix="write {\"name\": ..., \"rbps\": [...], ...}")
    missing = [k for k in ("name", "rbps") if k not in d]
    if missing:
        raise InputFileError(f"metadata lacks {', '.join(missing)}", path=path,
                             fix="add 'name' and 'rbps' (output names in output order)")
    return d


def derive_inputs(arch: str, model) -> list[InputSpec]:
    """Input specs of a known architecture from the model's input shapes."""
    from varbind.training import models as arch_models

    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    if arch == "deepripe":
        kinds = ["sequence"] + (["region"] if len(shapes) > 1 else [])
        region_len = shapes[1][0] if len(shapes) > 1 else None
        return arch_models.input_specs(arch, kinds, shapes[0][0], region_len)
    if arch in ("multiresbind", "residualbind") and len(shapes) == 1:
        width = shapes[0][1]
        kinds = {4: ["sequence"], 8: ["sequence", "region"], 6: ["sequence", "structure"],
                 10: ["sequence", "region", "structure"]}.get(width)
        if kinds:
            return arch_models.input_specs(arch, kinds, shapes[0][0])
    raise VarbindError(f"cannot derive the inputs of a {arch} model with input shapes {shapes}",
                       fix="list them under 'inputs' in the metadata (see model.json of a "
                           "trained bundle)")


def build_import_meta(d: dict, model, source: Path) -> ModelMeta:
    d = dict(d)
    arch = d.get("architecture", "imported")
    if "inputs" not in d:
        d["inputs"] = [s.to_json() for s in derive_inputs(arch, model)]
    d.setdefault("architecture", arch)
    try:
        meta = ModelMeta.from_json(d)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputFileError(f"bad metadata ({exc})", path=source,
                             fix="follow the model.json format in the README") from None
    _, version = h5_layer_classes(source)
    meta.training = {**meta.training, "imported_from": {"file": source.name,
                                                        "keras_version": version}}
    meta.data_digests = {**meta.data_digests, "source_model": file_digest(source)}
    return meta


def import_h5(h5_path: str | os.PathLike, meta_path: str | os.PathLike,
              out: str | os.PathLike) -> Path:
    """Bring a Keras 2 ``.h5`` into a bundle at ``out`` (written atomically)."""
    h5_path, out = Path(h5_path), Path(out)
    d = read_import_meta(meta_path)
    model = load_legacy_h5(h5_path)
    meta = build_import_meta(d, model, h5_path)
    if out.exists() and any(out.iterdir()):
        raise VarbindError("output exists", path=out, fix="choose a new --out directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        save_bundle(model, meta, tmp)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("imported %s (%d RBPs) into %s", h5_path.name, len(meta.rbps), out)
    return out
