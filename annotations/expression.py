"""Gene expression tables per cell type, as ``log1p(TPM)``.

Accepted tables (TSV, or CSV when the name ends in ``.csv``; plain or gzip):

- **wide**: one gene column and one numeric column per cell type, e.g.
  ``gene_id  gene_name  HepG2  K562``;
- **long**: a gene column, a cell-type column (``cell_type``, ``cell_line``, ``cell``,
  ``biosample`` or ``tissue``) and one numeric value column.

Gene columns are recognised by name (case-insensitive): ids ``gene_id``, ``gene``,
``ensembl_gene_id``, ``ensembl_id``, ``geneid``, ``id``; names ``gene_name``, ``gene_symbol``,
``symbol``, ``name``, ``hgnc_symbol``. A table needs at least one of them. Ensembl version
suffixes (``ENSG00000141510.17``) are ignored on both sides when matching.

Units, per value column, from the column name (or forced with ``units=``):

- a name ending in ``lnTPM`` / ``ln_tpm`` / ``logTPM`` / ``log_tpm`` (POLARIS-style tables)
  holds natural-log TPM; it is converted as ``log1p(exp(x))`` (``-inf`` or empty is TPM 0);
- a name ending in ``log1p_tpm`` / ``log1pTPM`` already holds ``log1p(TPM)``;
- anything else (``HepG2``, ``HepG2_TPM``) holds TPM and becomes ``log1p(TPM)``.

The unit suffix is dropped from the cell-type name (``HepG2_lnTPM`` is cell type ``HepG2``).

Genes missing from the table (and empty cells) get the fallback ``log1p(0) = 0.0``, i.e.
"not expressed"; :meth:`ExpressionTable.lookup` logs a warning with their count.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.encoding import log1p_tpm
from varbind.errors import InputFileError, VarbindError
from varbind.files import open_text

log = logging.getLogger(__name__)

ID_COLUMNS = ("gene_id", "gene", "ensembl_gene_id", "ensembl_id", "geneid", "id")
NAME_COLUMNS = ("gene_name", "gene_symbol", "symbol", "name", "hgnc_symbol", "genename")
CELL_COLUMNS = ("cell_type", "cell_line", "cell", "biosample", "tissue", "celltype")
UNITS = ("tpm", "lntpm", "log1p")
_UNIT_SUFFIXES = (
    ("log1p", re.compile(r"[._ -]?log1p[._ -]?tpm$", re.I)),
    ("lntpm", re.compile(r"[._ -]?(ln|log)[._ -]?tpm$", re.I)),
    ("tpm", re.compile(r"[._ -]?tpm$", re.I)),
)
#: The value a gene missing from the table gets: log1p(TPM = 0).
MISSING_VALUE = 0.0
_ENSEMBL_VERSION = re.compile(r"^(ENS[A-Z]*[GT]\d+)\.\d+")


def strip_version(ids) -> np.ndarray:
    """Gene ids without Ensembl version suffixes (``ENSG...12.5`` -> ``ENSG...12``)."""
    s = pd.Series(np.asarray(ids, dtype=object)).astype(str)
    return s.str.replace(_ENSEMBL_VERSION, r"\1", regex=True).to_numpy(dtype=object)


def column_units(name: str) -> tuple[str, str]:
    """``(cell type, units)`` from a value column's name (see the module docstring)."""
    for units, pattern in _UNIT_SUFFIXES:
        if pattern.search(name):
            cell = pattern.sub("", name)
            return (cell or name), units
    return name, "tpm"


def to_log1p(values: np.ndarray, units: str) -> np.ndarray:
    """Convert ``values`` in ``units`` to log1p(TPM) float32 (NaN kept)."""
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    if units == "tpm":
        out = log1p_tpm(np.where(nan, 0, values))
    elif units == "lntpm":
        with np.errstate(over="ignore"):
            out = np.log1p(np.exp(np.where(nan, -np.inf, values))).astype(np.float32)
    elif units == "log1p":
        out = np.maximum(values, 0).astype(np.float32)
    else:
        raise ValueError(f"units must be one of {UNITS}, got {units!r}")
    out[nan] = np.nan
    return out


def _find_column(columns, candidates) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


class ExpressionTable:
    """log1p(TPM) per gene and cell type.

    Attributes
    ----------
    values : DataFrame (genes x cell types) of float32 log1p TPM, NaN for empty cells
    gene_ids : (G,) version-stripped ids, or None; gene_names : (G,) names, or None
    """

    def __init__(self, values: pd.DataFrame, gene_ids=None, gene_names=None, source: str = ""):
        self.values = values.reset_index(drop=True)
        self.gene_ids = None if gene_ids is None else strip_version(gene_ids)
        self.gene_names = None if gene_names is None else np.asarray(gene_names, dtype=object)
        self.source = source
        self._id_index = _first_index(self.gene_ids)
        self._name_index = _first_index(self.gene_names)

    @property
    def cell_types(self) -> list[str]:
        return list(self.values.columns)

    # -- reading

    @classmethod
    def read(cls, path: str | os.PathLike, units: str | None = None,
             id_column: str | None = None) -> ExpressionTable:
        """Read a TSV/CSV expression table (see the module docstring for the formats).

        Parameters
        ----------
        path : table file, plain or gzip
        units : force ``"tpm"``, ``"lntpm"`` or ``"log1p"`` for every value column
        id_column : the gene column, if its name is not one of the recognised ones
        """
        path = Path(path)
        if units is not None and units not in UNITS:
            raise VarbindError(f"--expression-units must be one of {', '.join(UNITS)}, "
                               f"got {units!r}")
        frame = _read_frame(path)
        id_col = id_column if id_column in frame.columns else _find_column(frame.columns,
                                                                           ID_COLUMNS)
        name_col = _find_column([c for c in frame.columns if c != id_col], NAME_COLUMNS)
        if id_column is not None and id_column not in frame.columns:
            raise InputFileError(f"no column {id_column!r} (columns: {', '.join(frame.columns)})",
                                 path=path, line=1, fix="pass an existing column name")
        if id_col is None and name_col is None:
            raise InputFileError(
                f"no gene id or name column in the header ({', '.join(frame.columns[:8])})",
                path=path, line=1,
                fix=f"name the gene column one of {', '.join(ID_COLUMNS + NAME_COLUMNS)}")
        cell_col = _find_column([c for c in frame.columns if c not in (id_col, name_col)],
                                CELL_COLUMNS)
        if cell_col is not None:
            frame = _long_to_wide(frame, path, id_col, name_col, cell_col)
        keys = [c for c in (id_col, name_col) if c is not None]
        value_cols = [c for c in frame.columns if c not in keys]
        numeric = {}
        for col in value_cols:
            converted = pd.to_numeric(frame[col], errors="coerce")
            text = frame[col].astype(str).str.strip().str.lower()
            blank = frame[col].isna() | text.isin(["na", "nan", "n/a", "none"])
            bad = converted.isna() & ~blank
            if bad.all():
                log.debug("expression table %s: ignoring non-numeric column %s", path, col)
                continue
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputFileError(f"column {col!r} holds {frame[col].iloc[row]!r}, not a number",
                                     path=path, line=row + 2, fix="fix or empty that cell")
            numeric[col] = converted
        if not numeric:
            raise InputFileError("no numeric expression columns", path=path, line=1,
                                 fix="add one TPM column per cell type")
        out = {}
        for col, values in numeric.items():
            cell, col_units = column_units(str(col))
            col_units = units or col_units
            if col_units == "tpm" and (values < 0).any():
                raise InputFileError(f"column {col!r} has negative TPM values", path=path,
                                     fix="if it holds ln(TPM), name it <cell>_lnTPM or pass "
                                         "--expression-units lntpm")
            out[cell] = to_log1p(values.to_numpy(), col_units)
        values = pd.DataFrame(out)
        log.info("expression table %s: %d genes, cell types %s", path, len(values),
                 ", ".join(values.columns))
        return cls(values,
                   gene_ids=None if id_col is None else frame[id_col].astype(str).to_numpy(),
                   gene_names=None if name_col is None else frame[name_col].astype(str).to_numpy(),
                   source=str(path))

    # -- lookups

    def resolve_cell_type(self, cell_type: str | None) -> str:
        """The table's column for ``cell_type`` (case-insensitive); None if there is one."""
        if cell_type is None:
            if len(self.cell_types) == 1:
                return self.cell_types[0]
            raise VarbindError(f"expression table {self.source} has several cell types "
                               f"({', '.join(self.cell_types)}); choose one with --cell-type")
        for name in self.cell_types:
            if name.lower() == str(cell_type).lower():
                return name
        raise VarbindError(f"cell type {cell_type!r} is not in expression table {self.source} "
                           f"(it has {', '.join(self.cell_types)}); pass one of those")

    def rows(self, gene_ids, gene_names=None) -> np.ndarray:
        """Table row of each gene, matched by id (version ignored), then by name; -1 if absent.

        Parameters
        ----------
        gene_ids : (N,) gene ids (may be empty strings); gene_names : (N,) or None
        """
        gene_ids = np.asarray(gene_ids, dtype=object).reshape(-1)
        found = np.full(len(gene_ids), -1, dtype=np.int64)
        stripped = strip_version(gene_ids)
        if self._id_index is not None:
            found = self._id_index.get_indexer(stripped)
        if self._name_index is not None:
            # a table with names only may be keyed by the caller's ids when they are names
            for keys in ((gene_names,) if gene_names is not None else ()) + (gene_ids,):
                missing = found < 0
                if not missing.any():
                    break
                keys = np.asarray(keys, dtype=object).reshape(-1)
                found[missing] = self._name_index.get_indexer(keys[missing])
        return found

    def lookup(self, gene_ids, gene_names=None, cell_type: str | None = None,
               fallback: float = MISSING_VALUE) -> np.ndarray:
        """log1p(TPM) of each gene in one cell type.

        Parameters
        ----------
        gene_ids : (N,) gene ids (Ensembl versions ignored)
        gene_names : (N,) gene names tried when the id is not found, or None
        cell_type : column to read; may be None when the table has one cell type
        fallback : value for genes not in the table or with an empty cell (log1p(0) = 0)

        Returns
        -------
        np.ndarray, shape (N,), float32
        """
        column = self.values[self.resolve_cell_type(cell_type)].to_numpy(np.float32)
        rows = self.rows(gene_ids, gene_names)
        out = np.full(len(rows), fallback, dtype=np.float32)
        hit = rows >= 0
        out[hit] = column[rows[hit]]
        empty = np.isnan(out)
        out[empty] = fallback
        n_missing = int((~hit).sum() + empty.sum())
        if n_missing:
            log.warning("expression: %d of %d genes not in %s (cell type %s); they get "
                        "log1p TPM %.3g", n_missing, len(rows), self.source or "the table",
                        column_name(self, cell_type), fallback)
        return out


def column_name(table: ExpressionTable, cell_type: str | None) -> str:
    try:
        return table.resolve_cell_type(cell_type)
    except VarbindError:
        return str(cell_type)


def _first_index(keys) -> pd.Index | None:
    if keys is None:
        return None
    keys = pd.Series(keys, dtype=object)
    # duplicate keys (e.g. PAR genes) resolve to their first row
    index = pd.Index(keys.where(~keys.duplicated(), None))
    return index


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError("expression table not found", path=path,
                             fix="pass --expression with an existing TSV/CSV file")
    name = path.name.lower().removesuffix(".gz")
    sep = "," if name.endswith(".csv") else "\t"
    try:
        with open_text(path) as fh:
            frame = pd.read_csv(fh, sep=sep, dtype=str, keep_default_na=False, comment=None)
    except pd.errors.EmptyDataError:
        raise InputFileError("expression table is empty", path=path,
                             fix="add a header and one row per gene") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot parse the table ({str(exc).splitlines()[0]})", path=path,
                             fix=f"use {'commas' if sep == ',' else 'tabs'} between columns")\
            from None
    if frame.shape[1] < 2 and sep == "\t" and "," in frame.columns[0]:
        raise InputFileError("the table looks comma-separated", path=path, line=1,
                             fix="name it .csv, or separate columns with tabs")
    if len(frame) == 0:
        raise InputFileError("expression table has a header but no rows", path=path,
                             fix="add one row per gene")
    frame.columns = [str(c).strip().lstrip("#") for c in frame.columns]
    return frame.replace({"": None})


def _long_to_wide(frame, path, id_col, name_col, cell_col) -> pd.DataFrame:
    keys = [c for c in (id_col, name_col) if c is not None]
    values = [c for c in frame.columns if c not in keys + [cell_col]]
    if len(values) != 1:
        raise InputFileError(f"long table (column {cell_col!r}) needs exactly one value "
                             f"column, found {', '.join(values) or 'none'}", path=path, line=1,
                             fix="keep gene, cell type and one TPM column")
    value = values[0]
    wide = frame.pivot_table(index=keys, columns=cell_col, values=value, aggfunc="first")
    wide.columns = [f"{c}{column_suffix(value)}" for c in wide.columns]
    return wide.reset_index()


def column_suffix(value_column: str) -> str:
    """The units suffix of a long table's value column, kept on every cell-type column."""
    cell, units = column_units(value_column)
    return {"tpm": "", "lntpm": "_lnTPM", "log1p": "_log1p_tpm"}[units]
