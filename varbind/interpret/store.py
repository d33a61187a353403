"""The attribution HDF5 file written by ``varbind score --explain-out attr.h5``.

Layout (read it with plain h5py; every array dataset is chunked and gzip-compressed)::

    /                        attrs: format="varbind-attributions", format_version=1,
                             varbind_version, models (JSON {name: digest}), options (JSON)
    /models/<model>/         one group per model bundle (its window length L);
                             attrs: rbps (JSON), length (L), alphabet "ACGT"
        row tables, one row per explained variant x RBP (n rows):
        label (n,) str       variant as CHROM:POS:REF>ALT (VCF coordinates)
        chrom, ref, alt, inserted, rbp, motif_call, known_motif, gradcam_layer (n,) str
        pos (n,) i8          1-based VCF POS;  start, end (n,) i8: normalised event, 0-based
        strand (n,) str      '+' or '-' (transcript strand of the windows)
        ref_score, alt_score, delta (n,) f4
        ig_at_variant, ig_max_delta (n,) f4;  ig_max_offset (n,) i4;  ig_gap (n, 2) f4
        ref_seq, alt_seq (n, L) u1          nucleotide codes A0 C1 G2 T3 N4, transcript strand
        ref_coord, alt_coord (n, L) i8      genome coordinate of each base, -1 = inserted
        region (n, L) i1                    region class codes, -1 when not known
        ig_ref, ig_alt (n, L, 4) f4         integrated gradients (ACGT channels)   [ig]
        gradcam_ref, gradcam_alt (n, L) f4  GradCAM maps                          [gradcam]
        ism_ref, ism_alt (n, L, 4) f4       in-silico mutagenesis                 [ism]
        motif table, one row per GradCAM motif cluster (m rows):
        motif_row (m,) i8 (row above), motif_allele (m,) u1 (0 ref, 1 alt),
        motif_start, motif_end (m,) i4 (window indices, [start, end)), motif_score (m,) f4,
        motif_seq (m,) str

Maps of a method that was not requested are absent; NaN fills a row whose model lacked it.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from varbind.errors import InputFileError

FORMAT = "varbind-attributions"
FORMAT_VERSION = 1
CHUNK_ROWS = 64
_STR = None  # set lazily to h5py's string dtype

_TEXT_FIELDS = ("label", "chrom", "ref", "alt", "inserted", "rbp", "strand", "motif_call",
                "known_motif", "gradcam_layer")
_NUM_FIELDS = {"pos": np.int64, "start": np.int64, "end": np.int64, "ref_score": np.float32,
               "alt_score": np.float32, "delta": np.float32, "ig_at_variant": np.float32,
               "ig_max_delta": np.float32, "ig_max_offset": np.int32}
_MAPS = {"ref_seq": (np.uint8, 0), "alt_seq": (np.uint8, 0), "ref_coord": (np.int64, 0),
         "alt_coord": (np.int64, 0), "region": (np.int8, 0), "ig_ref": (np.float32, 4),
         "ig_alt": (np.float32, 4), "gradcam_ref": (np.float32, 0),
         "gradcam_alt": (np.float32, 0), "ism_ref": (np.float32, 4), "ism_alt": (np.float32, 4),
         "ig_gap": (np.float32, -2)}


def _str_dtype():
    import h5py

    return h5py.string_dtype("utf-8")


def _vcf_fields(label: str) -> tuple[str, int, str, str]:
    """``CHROM:POS:REF>ALT`` -> (chrom, pos, ref, alt)."""
    chrom, pos, change = label.rsplit(":", 2)
    ref, alt = change.split(">", 1)
    return chrom, int(pos), ref, alt


class AttributionWriter:
    """Append explanations to a new HDF5 file; the file appears at ``path`` only on close
    without error (written through :func:`varbind.files.atomic_output`).

    Use as a context manager::

        with AttributionWriter("attr.h5", models={...}, options={...}) as w:
            w.append(explanations)
    """

    def __init__(self, path: str | os.PathLike, models: dict | None = None,
                 options: dict | None = None):
        self.path = Path(path)
        self.models = models or {}
        self.options = options or {}
        self._stack = ExitStack()
        self._file = None
        self.rows = 0

    def __enter__(self) -> AttributionWriter:
        import h5py

        from varbind import __version__
        from varbind.files import atomic_output

        tmp = self._stack.enter_context(atomic_output(self.path))
        self._file = self._stack.enter_context(h5py.File(tmp, "w"))
        self._file.attrs.update(format=FORMAT, format_version=FORMAT_VERSION,
                                varbind_version=__version__,
                                models=json.dumps(self.models, sort_keys=True),
                                options=json.dumps(self.options, sort_keys=True, default=str))
        self._file.create_group("models")
        return self

    def __exit__(self, *exc) -> bool:
        if self._file is not None:
            self._file.attrs["rows"] = self.rows
        return self._stack.__exit__(*exc)

    def _group(self, model: str, length: int, rbps):
        group = self._file["models"].get(model)
        if group is None:
            group = self._file["models"].create_group(model)
            group.attrs.update(length=length, alphabet="ACGT", rbps=json.dumps(list(rbps)))
        return group

    def append(self, explanations, rbps_by_model: dict | None = None) -> None:
        """Write :class:`varbind.interpret.variant_maps.VariantExplanation` objects (any models)."""
        by_model: dict[str, list] = {}
        for ex in explanations:
            by_model.setdefault(ex.model, []).append(ex)
        for model, rows in by_model.items():
            length = len(rows[0].ref_seq)
            rbps = (rbps_by_model or {}).get(model, sorted({r.rbp for r in rows}))
            self._append_rows(self._group(model, length, rbps), rows, length)
            self.rows += len(rows)

    def _append_rows(self, group, rows, length: int) -> None:
        start = group["label"].shape[0] if "label" in group else 0
        for name in _TEXT_FIELDS:
            _extend(group, name, np.array([_text(ex, name) for ex in rows], dtype=object),
                    _str_dtype())
        for name, dtype in _NUM_FIELDS.items():
            _extend(group, name, np.array([_number(ex, name) for ex in rows], dtype=dtype), dtype)
        for name, (dtype, channels) in _MAPS.items():
            values = [_map(ex, name) for ex in rows]
            if all(v is None for v in values) and name not in group:
                continue
            shape = (2,) if channels == -2 else ((length, channels) if channels else (length,))
            fill = -1 if name == "region" else (np.nan if dtype == np.float32 else 0)
            arr = np.stack([np.full(shape, fill, dtype) if v is None else np.asarray(v, dtype)
                            for v in values])
            _extend(group, name, arr, dtype)
        motifs = [(start + i, allele, c, seq)
                  for i, ex in enumerate(rows)
                  for allele, clusters, codes in ((0, ex.clusters_ref, ex.ref_seq),
                                                  (1, ex.clusters_alt, ex.alt_seq))
                  for c, seq in zip(clusters or [], _spans(codes, clusters or []), strict=True)]
        if motifs or "motif_row" not in group:
            _extend(group, "motif_row", np.array([m[0] for m in motifs], np.int64), np.int64)
            _extend(group, "motif_allele", np.array([m[1] for m in motifs], np.uint8), np.uint8)
            _extend(group, "motif_start", np.array([m[2].start for m in motifs], np.int32),
                    np.int32)
            _extend(group, "motif_end", np.array([m[2].end for m in motifs], np.int32), np.int32)
            _extend(group, "motif_score", np.array([m[2].score for m in motifs], np.float32),
                    np.float32)
            _extend(group, "motif_seq", np.array([m[3] for m in motifs], dtype=object),
                    _str_dtype())


def _spans(codes, clusters):
    from varbind.interpret.gradcam_motifs import span_sequences

    return span_sequences(codes, clusters)


def _text(ex, name: str) -> str:
    site = ex.site
    if name in ("label", "chrom", "inserted", "strand"):
        return str(getattr(site, name))
    if name in ("ref", "alt"):
        return _vcf_fields(site.label)[2 if name == "ref" else 3]
    return str(getattr(ex, name))


def _number(ex, name: str):
    if name == "pos":
        return _vcf_fields(ex.site.label)[1]
    if name in ("start", "end"):
        return getattr(ex.site, name)
    if name == "delta":
        return ex.alt_score - ex.ref_score
    return getattr(ex, name)


def _map(ex, name: str):
    return getattr(ex, name)


def _extend(group, name: str, values: np.ndarray, dtype) -> None:
    """Append rows to a resizable, chunked, compressed dataset (created on first use)."""
    if name not in group:
        chunks = (CHUNK_ROWS, *values.shape[1:])
        group.create_dataset(name, data=values, maxshape=(None, *values.shape[1:]),
                             chunks=chunks, dtype=dtype, compression="gzip",
                             compression_opts=4, shuffle=True)
        return
    ds = group[name]
    n = ds.shape[0]
    ds.resize(n + len(values), axis=0)
    ds[n:] = values


# ----------------------------------------------------------------------------- reading


@dataclass
class StoredExplanation:
    """One row read back: ``fields`` (label, rbp, strand, scores, calls, ...), ``maps``
    (ref_seq, ig_ref, gradcam_ref, ... as arrays; absent methods missing) and ``motifs``
    (list of dicts: allele, start, end, score, seq)."""

    model: str
    row: int
    fields: dict
    maps: dict
    motifs: list


def open_store(path: str | os.PathLike):
    """Open an attribution file for reading, checking its format."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputFileError("no such attribution file", path=path,
                             fix="write one with 'varbind score ... --explain-out attr.h5'")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise InputFileError("not an HDF5 file", path=path,
                             fix="pass the file written by --explain-out") from None
    if f.attrs.get("format") != FORMAT:
        f.close()
        raise InputFileError("not a varbind attribution file", path=path,
                             fix="pass the file written by --explain-out")
    return f


def _decode(v):
    return v.decode() if isinstance(v, bytes) else v


def list_rows(path) -> list[tuple[str, int, str, str, str]]:
    """Every row as ``(model, row, label, strand, rbp)``."""
    out = []
    with open_store(path) as f:
        for model, group in f["models"].items():
            labels = group["label"].asstr()[:]
            strands = group["strand"].asstr()[:]
            rbps = group["rbp"].asstr()[:]
            out.extend((model, i, labels[i], strands[i], rbps[i]) for i in range(len(labels)))
    return out


def read_explanation(path, variant: str, rbp: str, strand: str | None = None,
                     model: str | None = None) -> StoredExplanation:
    """The row of ``variant`` (``CHROM:POS:REF>ALT``) and ``rbp``; ``strand``/``model`` pick one
    when several match. Raises :class:`InputFileError` naming what is available."""
    rows = list_rows(path)
    hits = [r for r in rows if r[2] == variant and r[4] == rbp
            and (strand is None or r[3] == strand) and (model is None or r[0] == model)]
    if not hits:
        there = sorted({r[2] for r in rows})
        rbps = sorted({r[4] for r in rows if r[2] == variant})
        hint = (f"it has {variant} for {', '.join(rbps)}" if rbps else
                f"it has {len(there)} variants, e.g. {', '.join(there[:3]) or 'none'}")
        raise InputFileError(f"no attribution for {variant} and {rbp}", path=path, fix=hint)
    if len(hits) > 1:
        choices = ", ".join(f"--strand {h[3]} --model {h[0]}" for h in hits)
        raise InputFileError(f"{variant} {rbp} has {len(hits)} entries", path=path,
                             fix=f"pick one with {choices}")
    model_name, row = hits[0][0], hits[0][1]
    with open_store(path) as f:
        group = f["models"][model_name]
        fields = {}
        for name in _TEXT_FIELDS:
            fields[name] = _decode(group[name].asstr()[row])
        for name in _NUM_FIELDS:
            fields[name] = group[name][row].item()
        maps = {name: group[name][row] for name in _MAPS if name in group}
        sel = np.flatnonzero(group["motif_row"][:] == row)
        motifs = [dict(allele=int(group["motif_allele"][i]), start=int(group["motif_start"][i]),
                       end=int(group["motif_end"][i]), score=float(group["motif_score"][i]),
                       seq=_decode(group["motif_seq"].asstr()[i])) for i in sel]
    return StoredExplanation(model_name, row, fields, maps, motifs)


def merge_stores(shards, output: str | os.PathLike) -> int:
    """Concatenate attribution files (e.g. the shards of a Dask run, in order) into one.

    Rows keep their order (shard by shard); motif rows are renumbered. The root attributes
    come from the first shard, with the model hashes of all. Returns the number of rows.
    """
    import h5py

    from varbind.files import atomic_output

    shards = [Path(s) for s in shards]
    total = 0
    with atomic_output(output) as tmp, h5py.File(tmp, "w") as out:
        models: dict = {}
        out.create_group("models")
        for shard in shards:
            with open_store(shard) as f:
                if not out.attrs:
                    out.attrs.update({k: v for k, v in f.attrs.items() if k != "rows"})
                models.update(json.loads(f.attrs.get("models", "{}")))
                for name, group in f["models"].items():
                    total += _append_group(out["models"], name, group)
        out.attrs["models"] = json.dumps(models, sort_keys=True)
        out.attrs["rows"] = total
    return total


def _append_group(models, name: str, group) -> int:
    target = models.get(name)
    if target is None:
        target = models.create_group(name)
        target.attrs.update(dict(group.attrs))
    start = target["label"].shape[0] if "label" in target else 0
    n = group["label"].shape[0]
    for key, ds in group.items():
        values = ds[:]
        if key == "motif_row":
            values = values + start
        dtype = _str_dtype() if h5py_is_string(ds) else ds.dtype
        if h5py_is_string(ds):
            values = ds.asstr()[:].astype(object)
        _extend(target, key, values, dtype)
    return n


def h5py_is_string(ds) -> bool:
    import h5py

    return h5py.check_string_dtype(ds.dtype) is not None
