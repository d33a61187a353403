"""Which expression column (cell type) each RBP of a model set is scored with.

A model set may span cell lines: a joined POLARIS bundle holds one model per RBP, each
trained on the CLIP data (and expression) of its own cell line, recorded in the bundle's
``rbp_cell_lines``. Each RBP is scored with the expression of its own cell line when the
table has that column, else the model's ``cell_line``, else the table's first column (with a
warning); ``--cell-type`` sets one column for all. The gene chosen for a window (among
overlapping genes, the most expressed) is chosen in that same column.

A bundle whose reported RBPs fall in several columns runs once per column
(:class:`ModelRun`), each run fed its column's expression; :func:`merge_run_scores` joins the
runs' outputs back into one result per bundle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


def has_expression_input(bundle) -> bool:
    return any(c.kind == "expression" for s in bundle.meta.inputs for c in s.components)


def expression_columns(bundles, table, cell_type: str | None) -> dict[str, list[str | None]]:
    """Per model: the expression column of each of its outputs (``meta.rbps`` order).

    Parameters
    ----------
    bundles : loaded model bundles
    table : :class:`varbind.annotations.expression.ExpressionTable`, or None (all None)
    cell_type : ``--cell-type``, one column for every RBP, or None
    """
    out: dict[str, list[str | None]] = {}
    for b in bundles:
        if table is None:
            out[b.name] = [None] * len(b.meta.rbps)
            continue
        own = getattr(b.meta, "rbp_cell_lines", None) or {}
        columns, missing = [], []
        for rbp in b.meta.rbps:
            wanted = cell_type or own.get(rbp) or b.meta.cell_line
            if wanted in table.cell_types:
                columns.append(wanted)
            else:
                columns.append(table.cell_types[0])
                missing.append(wanted)
        if missing and has_expression_input(b):
            log.warning("model %s was trained on %s, which the expression table lacks; using "
                        "%s (set --cell-type)", b.name, "/".join(dict.fromkeys(missing)),
                        table.cell_types[0])
        out[b.name] = columns
    return out


@dataclass
class ModelRun:
    """One pass of a bundle over a chunk's windows, with one expression column.

    bundle : the model bundle
    cell_type : the expression column this pass feeds
    columns : (K,) output indices of the RBPs this pass reports
    name : key of the pass's inputs and results (the bundle's name when it runs once)
    """

    bundle: object
    cell_type: str | None
    columns: np.ndarray
    name: str

    @property
    def meta(self):
        return self.bundle.meta

    @property
    def model(self):
        return self.bundle.model


def model_runs(bundles, columns: dict[str, list[str | None]],
               reported: dict[str, list[int]]) -> list[ModelRun]:
    """The passes over each chunk: one per bundle, or, for a bundle with an expression input
    whose reported RBPs (``reported[name]``: output indices) fall in several columns, one per
    column."""
    runs = []
    for b in bundles:
        cols = columns[b.name]
        wanted = reported[b.name] or list(range(len(cols)))
        groups: dict[str | None, list[int]] = {}
        for k in wanted:
            groups.setdefault(cols[k], []).append(k)
        if len(groups) == 1 or not has_expression_input(b):
            runs.append(ModelRun(b, cols[wanted[0]], np.arange(len(cols)), b.name))
            continue
        for cell, ks in groups.items():
            runs.append(ModelRun(b, cell, np.asarray(ks), f"{b.name}@{cell}"))
    return runs


def merge_run_scores(bundles, runs: list[ModelRun], scores: dict) -> dict:
    """Results per bundle name from results per run name: each output column taken from
    the run that reports it (AlleleScores with ``ref`` and ``alt``)."""
    from varbind.scoring.predict import AlleleScores

    out = {}
    for b in bundles:
        mine = [r for r in runs if r.bundle is b]
        if len(mine) == 1:
            out[b.name] = scores[mine[0].name]
            continue
        ref = scores[mine[0].name].ref.copy()
        alt = scores[mine[0].name].alt.copy()
        for r in mine[1:]:
            ref[:, r.columns] = scores[r.name].ref[:, r.columns]
            alt[:, r.columns] = scores[r.name].alt[:, r.columns]
        out[b.name] = AlleleScores(ref=ref, alt=alt)
    return out
