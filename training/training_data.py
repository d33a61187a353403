"""Training data in memory: a training HDF5 (from :mod:`varbind.training.datasets`) read
into per-split windows and labels, and checked against a model's inputs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from varbind.errors import InputFileError, VarbindError
from varbind.files import file_digest
from varbind.model.inputs import InputSpec, WindowBatch, required_lengths
from varbind.training.splits import SPLITS

log = logging.getLogger(__name__)


@dataclass
class SplitData:
    """Windows and labels of one split. ``labels`` is (N, K) uint8, columns = RBPs."""

    batch: WindowBatch
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class TrainingData:
    """A training set in memory: canonical windows (codes, not one-hot) per split."""

    rbps: list[str]
    splits: dict[str, SplitData]
    seq_length: int
    region_length: int
    provenance: dict = field(default_factory=dict)
    rbp_groups: dict = field(default_factory=dict)
    source: str = ""  # digest of the dataset file
    source_name: str = ""  # its file name
    sequences: bool = False  # built from labelled sequences (training.sequences)
    viewpoint_span: int = 0  # median viewpoint length of its records (0: no viewpoints)

    def select(self, rbps: list[str]) -> TrainingData:
        """The same windows with only the label columns of ``rbps``."""
        cols = [self.rbps.index(r) for r in rbps]
        splits = {k: SplitData(v.batch, v.labels[:, cols]) for k, v in self.splits.items()}
        return replace(self, rbps=list(rbps), splits=splits)


def take(batch: WindowBatch, idx: np.ndarray) -> WindowBatch:
    """Rows ``idx`` of a batch (every array it holds)."""
    def pick(a):
        return None if a is None else a[idx]
    return WindowBatch(seq=batch.seq[idx], region=pick(batch.region),
                       expression=pick(batch.expression), structure=pick(batch.structure),
                       pairs=pick(batch.pairs), viewpoint=pick(batch.viewpoint))


def _read_group(grp, path, where) -> tuple[dict[str, SplitData], np.ndarray]:
    need = ("seq", "labels", "split")
    missing = [k for k in need if k not in grp]
    if missing:
        raise InputFileError(f"training dataset lacks {', '.join(missing)}{where}", path=path,
                             fix="rebuild it with 'varbind dataset'")
    split = grp["split"][:]
    labels = grp["labels"][:].astype(np.uint8)
    seq = grp["seq"][:]
    region = grp["region"][:] if "region" in grp else None
    expr = grp["expression"][:].astype(np.float32) if "expression" in grp else None
    viewpoint = grp["viewpoint"][:] if "viewpoint" in grp else None
    out = {}
    for name, code in SPLITS.items():
        rows = np.flatnonzero(split == code)
        batch = take(WindowBatch(seq=seq, region=region, expression=expr, viewpoint=viewpoint),
                     rows)
        out[name] = SplitData(batch, labels[rows])
    return out, labels


def dataset_kind(path: str | os.PathLike) -> tuple[str, list[str]]:
    """``(kind, rbps)`` of a training HDF5 without reading its arrays."""
    import json

    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return str(h5.attrs.get("kind", "multilabel")), json.loads(h5.attrs["rbps"])
    except (OSError, KeyError) as exc:
        raise InputFileError(f"not a varbind training dataset ({exc})", path=path,
                             fix="build one with 'varbind dataset'") from None


def load_dataset(path: str | os.PathLike, rbp: str | None = None) -> TrainingData:
    """Read a training HDF5 (layout in docs/ARCHITECTURE.md) into memory.

    Parameters
    ----------
    path : multi-label or per-RBP file
    rbp : for a per-RBP file, the RBP whose group to read (required there)
    """
    import json

    import h5py

    path = Path(path)
    if not path.exists():
        raise InputFileError("training dataset not found", path=path,
                             fix="pass --dataset with a file made by 'varbind dataset'")
    kind, rbps = dataset_kind(path)
    with h5py.File(path, "r") as h5:
        attrs = dict(h5.attrs)
        if kind == "per-rbp":
            if rbp is None or rbp not in h5:
                raise InputFileError(f"per-RBP dataset has no group {rbp!r}", path=path,
                                     fix=f"choose one of: {', '.join(rbps)}")
            splits, _ = _read_group(h5[rbp], path, f" in group {rbp}")
            group_cells = str(h5[rbp].attrs.get("cell_type", ""))
            span = int(h5[rbp].attrs.get("viewpoint_span", 0))
            rbps = [rbp]
        else:
            group_cells, span = "", 0
            splits, _ = _read_group(h5, path, "")
    prov = json.loads(attrs.get("provenance", "{}")) if "provenance" in attrs else {}
    groups = json.loads(attrs.get("rbp_groups", "{}")) if "rbp_groups" in attrs else {}
    if isinstance(prov, dict):
        prov.setdefault("cell_type", str(attrs.get("cell_type", "")))
        if group_cells:  # a per-RBP group's own expression column(s)
            prov["cell_type"] = group_cells
    seq_len = int(attrs.get("seq_length", splits["train"].batch.seq.shape[1]))
    reg_len = int(attrs.get("region_length", 0))
    return TrainingData(rbps=list(rbps), splits=splits, seq_length=seq_len,
                        region_length=reg_len, provenance=prov, rbp_groups=groups,
                        source=file_digest(path), source_name=path.name,
                        sequences=str(attrs.get("source", "")) == "sequences",
                        viewpoint_span=span if splits["train"].batch.viewpoint is not None else 0)


def build_training_dataset(out: str | os.PathLike, peaks, fasta, gtf, expression=None,
                           per_rbp: bool = False, cell_line: str | None = None,
                           seq_length: int | None = None, region_length: int | None = None,
                           seed: int = 0, progress: bool = False) -> Path:
    """Build a training HDF5 from peaks with :func:`varbind.training.datasets.build_dataset`
    (the datasets' defaults: 150/250-nt multi-label bins, or 1-kb per-RBP windows)."""
    from varbind.training.datasets import DatasetOptions, build_dataset

    options = DatasetOptions(kind="per-rbp" if per_rbp else "multilabel",
                             seq_length=seq_length, region_length=region_length,
                             cell_type=cell_line, seed=seed)
    build_dataset(out, peaks, fasta, gtf, expression, options=options, progress=progress)
    return Path(out)


def data_digests(provenance: dict) -> dict:
    """``{input: digest}`` of the files a dataset was built from (its provenance)."""
    out = {}
    for name, info in (provenance.get("inputs") or {}).items():
        if isinstance(info, dict) and "digest" in info:
            out[name] = info["digest"]
        elif name == "peak_files" and isinstance(info, dict):
            out.update({f"peaks:{k}": v["digest"] for k, v in info.items() if "digest" in v})
    return out


def check_lengths(specs: list[InputSpec], data: TrainingData) -> None:
    """Raise a VarbindError if the dataset's windows are narrower than the model needs."""
    need = required_lengths(specs)
    have = {"sequence": data.seq_length, "structure": data.seq_length,
            "viewpoint": data.seq_length,
            "region": data.region_length}
    for kind, length in need.items():
        if kind == "region" and data.splits["train"].batch.region is None:
            raise VarbindError("the model needs region classes but the dataset has none",
                               fix="rebuild the dataset with --gtf, or drop 'region' from "
                                   "--inputs")
        if have.get(kind, length) < length:
            raise VarbindError(f"the model needs {kind} windows of {length} nt but the "
                               f"dataset has {have[kind]}",
                               fix="rebuild the dataset with longer windows, or pass "
                                   f"--{'region' if kind == 'region' else 'seq'}-length "
                                   f"{have[kind]}")
    if any("expression" in s.kinds() for s in specs) and \
            data.splits["train"].batch.expression is None:
        raise VarbindError("the model needs expression but the dataset has none",
                           fix="rebuild the dataset with --expression, or drop 'expression'")


def add_structure_if_needed(specs: list[InputSpec], data: TrainingData,
                            cache_dir: str | None) -> None:
    from varbind.model.rna_graph import (
        PairFolder,
        add_pairs,
        default_cache_dir,
        graph_input,
        graph_kind,
    )

    if any("pairs" in s.kinds() for s in specs):
        folder = PairFolder(cache_dir=cache_dir or default_cache_dir())
        kind = graph_kind(graph_input(specs)[1])[0]
        for name, split in data.splits.items():
            log.info("folding %d %s windows (RNA graph, %s)", len(split), name, kind)
            add_pairs(specs, split.batch, folder)
    if not any("structure" in s.kinds() for s in specs):
        return
    from varbind.model.structure import StructureProfiler

    profiler = StructureProfiler(cache_dir=cache_dir)
    for name, split in data.splits.items():
        log.info("folding %d %s windows with RNAplfold", len(split), name)
        profiler.add_structure(split.batch)
