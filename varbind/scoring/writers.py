"""Scoring outputs: annotated VCF (plain or bgzipped + tabix), TSV and Parquet tables.

The VCF keeps every input record, in order, with its own fields, and adds the INFO keys of
:data:`INFO_FIELDS`. ``VARBIND`` follows the VEP / SpliceAI convention (one ``|``-separated
entry per allele x strand x RBP, the layout given in the header's ``Format:``) so that
``bcftools +split-vep -a VARBIND`` reads it. Header lines that vary from run to run (command,
date) start with ``##varbind_run``; everything else is a function of the inputs.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.errors import VarbindError

log = logging.getLogger(__name__)

#: Fields of one VARBIND entry, in order.
VARBIND_FORMAT = ("ALLELE", "Consequence", "STRAND", "GENE", "REGION", "RBP", "REF_SCORE",
                  "ALT_SCORE", "DELTA", "LOGIT_DELTA")

INFO_FIELDS: list[dict] = [
    {"ID": "VARBIND", "Number": ".", "Type": "String",
     "Description": "Predicted RBP binding effects from varbind. "
                    "Format: " + "|".join(VARBIND_FORMAT)},
    {"ID": "VARBIND_MAX_LOSS", "Number": "A", "Type": "Float",
     "Description": "Largest predicted loss of binding (-DELTA) over strands and RBPs, "
                    "0 if no RBP loses binding; '.' if the allele was not scored"},
    {"ID": "VARBIND_MAX_GAIN", "Number": "A", "Type": "Float",
     "Description": "Largest predicted gain of binding (DELTA) over strands and RBPs, "
                    "0 if no RBP gains binding; '.' if the allele was not scored"},
    {"ID": "VARBIND_MAX_LOSS_RBP", "Number": "A", "Type": "String",
     "Description": "RBP with the largest predicted loss (see VARBIND_MAX_LOSS)"},
    {"ID": "VARBIND_MAX_GAIN_RBP", "Number": "A", "Type": "String",
     "Description": "RBP with the largest predicted gain (see VARBIND_MAX_GAIN)"},
    {"ID": "VARBIND_STATUS", "Number": ".", "Type": "String",
     "Description": "varbind status per ALT in ALT order (one value when ALT is '.'): "
                    "'ok' if scored, followed by its flags joined by '&' (ok&long_indel, "
                    "ok&n_rich, ok&truncated, ok&outside_transcript with --all-strands when no "
                    "strand is transcribed); else the reason "
                    "it was not scored (ref_mismatch, unknown_contig, off_contig, "
                    "symbolic_allele, spanning_deletion, no_alt, invalid_allele, "
                    "ref_equals_alt, outside_transcript)"},
]

TABLE_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "strand", "gene_id", "gene_name",
                 "region", "rbp", "model", "ref_score", "alt_score", "delta", "logit_delta",
                 "status"]
_FLOAT_COLUMNS = ["ref_score", "alt_score", "delta", "logit_delta"]


#: Characters left as they are in INFO text values; everything else (``,`` ``;`` ``=`` ``|``
#: ``%`` space, control characters, non-ASCII) is percent-encoded as UTF-8 bytes.
_INFO_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - set(",;=|%")


def info_escape(text: str) -> str:
    """``text`` for an INFO value or a field of a VARBIND entry, percent-encoded as VEP does
    (``GENE,1`` -> ``GENE%2C1``; ``urllib.parse.unquote`` gives it back)."""
    if all(ch in _INFO_SAFE for ch in text):
        return text
    return "".join(ch if ch in _INFO_SAFE else "".join(f"%{b:02X}" for b in ch.encode())
                   for ch in text)


def info_escape_all(values) -> np.ndarray:
    """:func:`info_escape` of each value (object array; each distinct value encoded once)."""
    values = np.asarray(values, dtype=object)
    if values.size == 0:
        return values
    unique, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([info_escape(u) for u in unique], dtype=object)[inverse.ravel()].reshape(
        values.shape)


def format_float(x: float, digits: int = 4) -> str:
    """A float for VCF INFO: ``digits`` significant digits, ``.`` for NaN."""
    if x is None or not np.isfinite(x):
        return "."
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def vcf_kind(path: str | os.PathLike) -> str:
    """``vcf`` or ``vcf.gz`` from an output name; anything else is a user error."""
    name = str(path)
    if name.endswith(".vcf.gz") or name.endswith(".vcf.bgz"):
        return "vcf.gz"
    if name.endswith(".vcf"):
        return "vcf"
    raise VarbindError(f"output VCF name must end in .vcf or .vcf.gz, got {name!r}",
                       fix="use -o out.vcf.gz (bgzipped and tabix-indexed)")


def table_kind(path: str | os.PathLike) -> str:
    """``parquet`` or ``tsv`` (plain, or gzip when the name ends in .gz)."""
    name = str(path)
    if name.endswith(".parquet"):
        return "parquet"
    return "tsv.gz" if name.endswith(".gz") else "tsv"


class VcfWriter:
    """Annotated copy of the input VCF: its header with the new keys, then each record's own
    text with INFO values appended.

    Records are written from their text (as cyvcf2 formats them), so records on contigs or
    with INFO keys the input header never declared are copied as they are.

    Parameters
    ----------
    path : where to write (a temporary name from :func:`varbind.files.atomic_output`)
    template : the open ``cyvcf2.VCF`` being read (its header is copied)
    header_lines : extra ``##key=value`` lines (provenance, keys added by hooks)
    compressed : bgzip the output and index it with tabix on :meth:`close`
    """

    def __init__(self, path: str | os.PathLike, template, header_lines: list[str],
                 compressed: bool):
        for field in INFO_FIELDS:
            if _has_info(template, field["ID"]):
                raise VarbindError(f"input VCF already has INFO/{field['ID']}",
                                   fix="remove it first (bcftools annotate -x "
                                       f"INFO/{field['ID']})")
        self.path = Path(path)
        self.compressed = compressed
        self.records = 0
        lines = template.raw_header.rstrip("\n").split("\n")
        new = [info_header_line(f) for f in INFO_FIELDS] + list(header_lines)
        header = "\n".join(lines[:-1] + new + lines[-1:]) + "\n"
        if compressed:
            from pysam.libcbgzf import BGZFile

            self._fh = BGZFile(str(self.path), "wb")
            self._binary = True
        else:
            self._fh = open(self.path, "w")
            self._binary = False
        self._write(header)

    def _write(self, text: str) -> None:
        self._fh.write(text.encode() if self._binary else text)

    def write_lines(self, lines: list[str], infos: list[dict[str, str]]) -> None:
        """Write records given as VCF text lines, each with INFO values to append."""
        out = []
        for line, info in zip(lines, infos, strict=True):
            fields = line.rstrip("\n").split("\t", 8)
            if info:
                added = ";".join(f"{k}={v}" for k, v in info.items())
                fields[7] = added if fields[7] in (".", "") else f"{fields[7]};{added}"
            out.append("\t".join(fields))
        if out:
            self._write("\n".join(out) + "\n")
        self.records += len(out)

    def write(self, record, info: dict[str, str]) -> None:
        """Write one cyvcf2 record with INFO values appended."""
        self.write_lines([str(record)], [info])

    def close(self, index: bool = True) -> bool:
        """Close; bgzipped output is tabix-indexed. Returns whether an index was written."""
        self._fh.close()
        if not (self.compressed and index):
            return False
        import pysam

        try:
            pysam.tabix_index(str(self.path), preset="vcf", force=True, keep_original=True)
        except (OSError, ValueError) as exc:
            log.warning("output VCF not indexed (%s); is the input sorted? 'bcftools sort' "
                        "then 'tabix -p vcf' will index it", exc)
            return False
        return True


def _tsv_texts(values: np.ndarray, floats: bool) -> list[str]:
    """A table column as TSV text: floats with 6 significant digits, missing values
    (None, NaN) as empty strings."""
    if floats or values.dtype.kind == "f":
        return float_texts("%.6g", values, missing="").tolist()
    if values.dtype.kind != "O":
        return values.astype(str).tolist()
    return [v if v.__class__ is str else _cell_text(v) for v in values.tolist()]


def float_texts(spec: str, values: np.ndarray, missing: str | None = None) -> np.ndarray:
    """``spec % v`` of each float, object array of the same shape (what ``np.char.mod``
    gives, about three times faster: one Python call per value, no fixed-width strings);
    non-finite values become ``missing`` when it is given."""
    values = np.asarray(values, dtype=np.float64)
    out = np.array(list(map(spec.__mod__, values.ravel().tolist())),
                   dtype=object).reshape(values.shape)
    if missing is not None:
        out[~np.isfinite(values)] = missing
    return out


def _cell_text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def info_header_line(field: dict) -> str:
    """``##INFO=<ID=...,Number=...,Type=...,Description="...">`` for a field dict."""
    desc = field["Description"].replace("\\", "\\\\").replace('"', '\\"')
    return (f'##INFO=<ID={field["ID"]},Number={field["Number"]},Type={field["Type"]},'
            f'Description="{desc}">')


def _has_info(template, key: str) -> bool:
    try:
        template.get_header_type(key)
    except KeyError:
        return False
    return True


class TableWriter:
    """The per-allele table: TSV (gzip when the name ends in .gz) or Parquet, in chunks.

    Columns: :data:`TABLE_COLUMNS`, then any ``extra_columns`` (e.g. attribution summaries).
    Empty strings mark missing values in the TSV (nulls in Parquet).
    """

    def __init__(self, path: str | os.PathLike, kind: str,
                 extra_columns: list[str] | tuple[str, ...] = ()):
        self.path = Path(path)
        self.kind = kind
        self.columns = TABLE_COLUMNS + [c for c in extra_columns if c not in TABLE_COLUMNS]
        self.rows = 0
        self._fh = None
        self._parquet = None
        if kind == "tsv.gz":
            self._fh = gzip.open(self.path, "wt", compresslevel=4)
        elif kind == "tsv":
            self._fh = open(self.path, "w")
        if self._fh is not None:
            self._fh.write("\t".join(self.columns) + "\n")

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows (a frame with :attr:`columns`)."""
        frame = frame[self.columns]
        self.rows += len(frame)
        if self.kind == "parquet":
            self._write_parquet(frame)
            return
        if len(frame) == 0:
            return
        columns = [_tsv_texts(frame[c].to_numpy(), c in _FLOAT_COLUMNS) for c in self.columns]
        self._fh.write("".join("\t".join(row) + "\n" for row in zip(*columns, strict=True)))

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def arrow_type(c):
            kind = frame[c].dtype.kind
            if c == "pos" or (c not in TABLE_COLUMNS and kind in "iu"):
                return pa.int64()
            if c in _FLOAT_COLUMNS or (c not in TABLE_COLUMNS and kind == "f"):
                return pa.float32()
            return pa.string()

        schema = pa.schema([(c, arrow_type(c)) for c in self.columns])
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self.path), schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self.kind == "parquet":
            if self._parquet is None:  # no rows: still write a valid, empty file
                self._write_parquet(pd.DataFrame({c: pd.Series(dtype="float32"
                                                               if c in _FLOAT_COLUMNS else
                                                               "int64" if c == "pos" else
                                                               "object")
                                                  for c in self.columns}))
            self._parquet.close()
