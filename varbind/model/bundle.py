"""Model bundles: a directory with ``model.keras`` and a self-describing ``model.json``.

A directory of bundles is a *model set*. Scoring reads everything it needs (RBP names,
window lengths, input encodings, IG baselines) from ``model.json``; flags only override.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from varbind.errors import ModelBundleError
from varbind.files import file_digest
from varbind.model.inputs import InputSpec

MODEL_FILE = "model.keras"
META_FILE = "model.json"
FORMAT_VERSION = 1


@dataclass
class ModelMeta:
    """Everything ``model.json`` says about a model.

    name : bundle name (unique within a model set)
    architecture : ``multiresbind`` | ``deepripe`` | ``polaris`` | ``residualbind`` | ``imported``
    rbps : output names in output order; the model's output is (N, len(rbps))
    inputs : the Keras inputs in order (see :class:`varbind.model.inputs.InputSpec`)
    output : ``sigmoid`` (probabilities) or ``linear`` (regression scores)
    strand : strand convention; always ``transcript`` (minus-strand windows reverse complemented)
    baselines : IG baselines per RBP, name -> path of an ``.npz`` inside the bundle holding one
        array per input (``input_<i>``), or the keywords ``zeros`` / ``uniform``
    metrics : test metrics, e.g. ``{"auroc": {rbp: x}, "ap": {...}, "mean_auroc": x}``
    cell_line : the cell line of the training data (its expression column when scoring)
    rbp_cell_lines : RBP -> cell line, for bundles whose RBPs come from different cell lines
        (joined per-RBP models); scoring feeds each RBP its own cell line's expression
    """

    name: str
    architecture: str
    rbps: list[str]
    inputs: list[InputSpec]
    output: str = "sigmoid"
    cell_line: str = "unknown"
    rbp_cell_lines: dict = field(default_factory=dict)
    genome_build: str = "unknown"
    strand: str = "transcript"
    baselines: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    data_digests: dict = field(default_factory=dict)
    varbind_version: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def window(self) -> int:
        """The longest per-position input length (the sequence window)."""
        lengths = [s.length for s in self.inputs if s.layout == "per_position"]
        return max(lengths) if lengths else 0

    def rbp_health(self) -> dict[str, dict]:
        """Each RBP's training health check (``training.health.rbps``: status ``ok`` or
        ``weak``, validation AUROC, the k-mer baseline's, the reason); {} if not recorded."""
        return dict(((self.training or {}).get("health") or {}).get("rbps") or {})

    def weak_rbps(self) -> dict[str, str]:
        """``{rbp: reason}`` for the RBPs the health check left weak."""
        return {r: v.get("reason", "weak") for r, v in self.rbp_health().items()
                if v.get("status") == "weak"}

    def to_json(self) -> dict:
        d = asdict(self)
        d["inputs"] = [s.to_json() for s in self.inputs]
        d["window"] = self.window
        return d

    @classmethod
    def from_json(cls, d: dict) -> ModelMeta:
        d = dict(d)
        d.pop("window", None)
        d["inputs"] = [InputSpec.from_json(s) for s in d["inputs"]]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ModelBundle:
    """A loaded bundle: its metadata, its Keras model and where it lives."""

    path: Path
    meta: ModelMeta
    model: object
    digest: str

    @property
    def name(self) -> str:
        return self.meta.name


def save_bundle(model, meta: ModelMeta, path: str | os.PathLike) -> Path:
    """Write ``model.keras`` and ``model.json`` into directory ``path``; return the path."""
    from varbind import __version__

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    meta.varbind_version = meta.varbind_version or __version__
    check_model_matches_meta(model, meta, path)
    model.save(path / MODEL_FILE)
    with open(path / META_FILE, "w") as fh:
        json.dump(meta.to_json(), fh, indent=2, sort_keys=False)
        fh.write("\n")
    return path


def read_meta(path: str | os.PathLike) -> ModelMeta:
    """Read a bundle's ``model.json`` without loading the model."""
    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.exists():
        raise ModelBundleError(f"not a model bundle: no {META_FILE}", path=path,
                               fix="pass a directory written by 'varbind train' or "
                                   "'varbind models import'")
    try:
        return ModelMeta.from_json(json.loads(meta_path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelBundleError(f"malformed {META_FILE} ({exc})", path=meta_path,
                               fix="rewrite it with 'varbind models import'") from None


def load_bundle(path: str | os.PathLike, compile: bool = False) -> ModelBundle:
    """Load one bundle and check that its model agrees with its metadata."""
    import keras

    from varbind.model.layers import CUSTOM_OBJECTS

    path = Path(path)
    meta = read_meta(path)
    model_path = path / MODEL_FILE
    if not model_path.exists():
        raise ModelBundleError(f"bundle has no {MODEL_FILE}", path=path,
                               fix="re-save the bundle with 'varbind train' or 'models import'")
    try:
        model = keras.saving.load_model(model_path, compile=compile,
                                        custom_objects=CUSTOM_OBJECTS)
    except Exception as exc:
        raise ModelBundleError(f"cannot load {MODEL_FILE} ({type(exc).__name__}: {exc})",
                               path=path, fix="was it saved by Keras 3?") from None
    check_model_matches_meta(model, meta, path)
    return ModelBundle(path=path, meta=meta, model=model, digest=file_digest(model_path))


def check_model_matches_meta(model, meta: ModelMeta, path) -> None:
    """Raise ModelBundleError if the model's inputs or outputs disagree with ``meta``."""
    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    declared = [tuple(s.shape) for s in meta.inputs]
    if shapes != declared:
        raise ModelBundleError(f"model inputs {shapes} disagree with {META_FILE} inputs {declared}",
                               path=path, fix=f"fix the 'inputs' list in {META_FILE}")
    n_out = model.outputs[0].shape[-1] if len(model.outputs) == 1 else len(model.outputs)
    if n_out != len(meta.rbps):
        raise ModelBundleError(f"model has {n_out} outputs but {META_FILE} names "
                               f"{len(meta.rbps)} RBPs", path=path,
                               fix=f"list one RBP per output in {META_FILE} 'rbps'")


def is_bundle(path: str | os.PathLike) -> bool:
    return (Path(path) / META_FILE).exists()


def find_bundles(path: str | os.PathLike) -> list[Path]:
    """A bundle directory, or every bundle directly inside a model-set directory (sorted)."""
    path = Path(path)
    if is_bundle(path):
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if is_bundle(p))
        if found:
            return found
    raise ModelBundleError("no model bundle here", path=path,
                           fix="pass a bundle directory (with model.json) or a directory of them")


def load_model_set(path: str | os.PathLike, rbps: list[str] | None = None) -> list[ModelBundle]:
    """Load every bundle of a set; with ``rbps``, only bundles that predict one of them."""
    bundles = []
    for p in find_bundles(path):
        meta = read_meta(p)
        if rbps is None or set(meta.rbps) & set(rbps):
            bundles.append(load_bundle(p))
    if rbps is not None:
        covered = {r for b in bundles for r in b.meta.rbps}
        missing = [r for r in rbps if r not in covered]
        if missing:
            known = sorted({r for p in find_bundles(path) for r in read_meta(p).rbps})
            raise ModelBundleError(f"no model predicts {', '.join(missing)}", path=path,
                                   fix=f"choose from: {', '.join(known)}, or use --rbps all")
    return bundles
