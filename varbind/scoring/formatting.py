"""A scored chunk as output values: effects per unit x model x RBP, VCF INFO values
(``VARBIND``, ``VARBIND_MAX_*``, ``VARBIND_STATUS``) and table rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from varbind.scoring.deltas import compute_deltas, consequence
from varbind.scoring.results import RecordOutput
from varbind.scoring.writers import TABLE_COLUMNS, float_texts, info_escape_all

if TYPE_CHECKING:
    from varbind.scoring.results import ChunkResult
    from varbind.scoring.scorer import Scorer
    from varbind.scoring.units import Units


def effect_table(scorer: Scorer, result: ChunkResult) -> pd.DataFrame:
    """One row per scored (allele, strand, model, RBP) with the deltas, in output order."""
    units = result.units
    frames = []
    for m, bundle in enumerate(scorer.bundles):
        labels = scorer.labels[bundle.name]
        if not labels or bundle.name not in result.scores:
            continue
        cols = np.array([k for k, _, _ in labels])
        sc = result.scores[bundle.name]
        d = compute_deltas(sc.ref[:, cols], sc.alt[:, cols], units.ref_unit,
                           output=bundle.meta.output)
        n_units, k = d.delta.shape
        rep = np.repeat(np.arange(n_units), k)
        gene_id, gene_name = _effect_genes(scorer, units, [scorer.columns[bundle.name][c]
                                                           for c in cols])
        frames.append(object_frame({
            "gene_id": gene_id.ravel(), "gene_name": gene_name.ravel(),
            "unit": rep, "model_order": m, "rbp_order": np.tile(np.arange(k), n_units),
            "rbp": np.tile(np.array([r for _, r, _ in labels], dtype=object), n_units),
            "label": np.tile(np.array([lab for _, _, lab in labels], dtype=object), n_units),
            "model": np.full(len(rep), bundle.name, dtype=object), "ref_score": d.ref.ravel(),
            "alt_score": d.alt.ravel(), "delta": d.delta.ravel(),
            "logit_delta": d.logit_delta.ravel()}))
    if not frames:
        return pd.DataFrame(columns=["gene_id", "gene_name", "unit", "model_order",
                                     "rbp_order", "rbp", "label", "model", "ref_score",
                                     "alt_score", "delta", "logit_delta"])
    return pd.concat(frames, ignore_index=True).sort_values(
        ["unit", "model_order", "rbp_order"], kind="stable").reset_index(drop=True)


def object_frame(columns: dict) -> pd.DataFrame:
    """A DataFrame whose text columns stay numpy object arrays (pandas would otherwise
    convert each to its Arrow string type and back again when the writers read it)."""
    return pd.DataFrame({c: pd.Series(v, dtype=object) if _is_text(v) else v
                         for c, v in columns.items()})


def _is_text(values) -> bool:
    return isinstance(values, np.ndarray) and values.dtype.kind == "O"


def _effect_genes(scorer: Scorer, units: Units, columns: list
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(U, K) gene ids and names of each unit for K RBPs: the gene chosen in each RBP's
    expression column (the unit's own gene in the set's first column)."""
    ids = np.empty((len(units), len(columns)), dtype=object)
    names = np.empty_like(ids)
    for k, column in enumerate(columns):
        if column not in scorer.gene_columns or column == scorer.context.cell_type:
            ids[:, k], names[:, k] = units.gene_id, units.gene_name
        else:
            rows = units.gene_rows[:, scorer.gene_columns.index(column)]
            ids[:, k], names[:, k] = scorer.context.gene_names(rows, units.transcribed)
    return ids, names


def unit_flags(units: Units) -> np.ndarray:
    """(U,) status text per unit: ``ok``, then its flags, joined by ``&``
    (``ok&n_rich&truncated``)."""
    if len(units) == 0:
        return np.zeros(0, dtype=object)
    out = np.full(len(units), "ok", dtype=object)
    out = out + np.where(units.long_indel.astype(bool), "&long_indel", "")
    out = out + np.where(units.n_rich.astype(bool), "&n_rich", "")
    out = out + np.where(units.truncated.astype(bool), "&truncated", "")
    return out + np.where(units.transcribed.astype(bool), "", "&outside_transcript")


def format_floats(values) -> np.ndarray:
    """Floats as INFO text (4 significant digits, '.' for NaN), object array."""
    out = float_texts("%.4g", values, missing=".")
    out[out == "-0"] = "0"
    return out


def allele_statuses(result: ChunkResult, flags: np.ndarray) -> list[str]:
    """VARBIND_STATUS of each allele: its reason, or ``ok`` and the flags of its windows.

    ``outside_transcript`` flags an allele only when none of its strands is transcribed
    (with --all-strands, an SNV in a '+' gene is not flagged for its '-' strand)."""
    allele_flags: dict[int, set] = {}
    transcribed: set[int] = set()
    for a, f in zip(result.units.allele if len(result.units) else [], flags,
                    strict=True):
        a = int(a)
        these = f.split("&")[1:]
        if "outside_transcript" not in these:
            transcribed.add(a)
        allele_flags.setdefault(a, set()).update(these)
    for a in transcribed:
        allele_flags[a].discard("outside_transcript")
    out = []
    for a, st in enumerate(result.alleles.status):
        if st:
            out.append(st)
        else:
            out.append("&".join(["ok", *sorted(allele_flags.get(a, ()))]))
    return out


def format_chunk(scorer: Scorer, result: ChunkResult) -> RecordOutput:
    """INFO values for each record and the table rows of a chunk."""
    opts = scorer.options
    alleles, units = result.alleles, result.units
    effects = effect_table(scorer, result)
    flags = unit_flags(units)
    allele_status = allele_statuses(result, flags)
    n_alleles = len(alleles)
    loss = np.full(n_alleles, -np.inf)
    gain = np.full(n_alleles, -np.inf)
    loss_label = np.full(n_alleles, ".", dtype=object)
    gain_label = np.full(n_alleles, ".", dtype=object)
    entries: dict[int, list[str]] = {}
    top: list[tuple] = []
    if len(effects):
        u = effects["unit"].to_numpy()
        allele_of = units.allele[u]
        record_of = units.record[u]
        delta = effects["delta"].to_numpy(np.float64)
        labels = effects["label"].to_numpy()
        alt_text = alleles.alt[allele_of]
        gene = effects["gene_name"].to_numpy()
        gene = np.where(gene == "", effects["gene_id"].to_numpy(), gene)
        info_labels = info_escape_all(labels)
        keep = np.abs(delta) >= opts.min_delta
        for r, t in zip(record_of[keep].tolist(),
                        varbind_entries(effects, units, u, alt_text, gene, info_labels, keep,
                                        opts.effect_threshold), strict=True):
            entries.setdefault(r, []).append(t)
        # strongest loss / gain per allele (first in output order wins ties)
        for arr, lab, values in ((loss, loss_label, -delta), (gain, gain_label, delta)):
            order = np.lexsort((-values, allele_of))
            first = np.r_[True, allele_of[order][1:] != allele_of[order][:-1]]
            best = order[first]
            arr[allele_of[best]] = values[best]
            lab[allele_of[best]] = np.where(values[best] > 0, info_labels[best], ".")
        for i in np.argsort(-np.abs(delta), kind="stable")[:5]:
            rec = result.records[record_of[i]]
            top.append((abs(float(delta[i])), {
                "chrom": rec.chrom, "pos": rec.pos, "ref": rec.ref, "alt": alt_text[i],
                "strand": units.strand[u[i]], "gene": gene[i],
                "rbp": labels[i], "delta": float(delta[i])}))
    # per-allele texts as lists: indexing them allele by allele is far cheaper than arrays
    loss_text = np.where(np.isfinite(loss), format_floats(np.maximum(loss, 0)), ".").tolist()
    gain_text = np.where(np.isfinite(gain), format_floats(np.maximum(gain, 0)), ".").tolist()
    loss_label, gain_label = loss_label.tolist(), gain_label.tolist()
    info = [{} for _ in result.records]
    per_record: list[list[int]] = [[] for _ in result.records]
    for a, r in enumerate(alleles.record.tolist()):
        per_record[r].append(a)
    for r, idx in enumerate(per_record):
        d = info[r]
        if r in entries:
            d["VARBIND"] = ",".join(entries[r])
        if result.records[r].alts:
            d["VARBIND_MAX_LOSS"] = ",".join([loss_text[a] for a in idx])
            d["VARBIND_MAX_GAIN"] = ",".join([gain_text[a] for a in idx])
            d["VARBIND_MAX_LOSS_RBP"] = ",".join([loss_label[a] for a in idx])
            d["VARBIND_MAX_GAIN_RBP"] = ",".join([gain_label[a] for a in idx])
        d["VARBIND_STATUS"] = ",".join(allele_status[a] for a in idx)
    table = _table_rows(result, effects, flags, allele_status)
    return RecordOutput(info=info, table=table, allele_status=allele_status, top=top)


def varbind_entries(effects: pd.DataFrame, units: Units, u: np.ndarray, alt_text: np.ndarray,
                    gene: np.ndarray, info_labels: np.ndarray, keep: np.ndarray,
                    threshold: float) -> list[str]:
    """The ``VARBIND`` entry (fields of :data:`varbind.scoring.writers.VARBIND_FORMAT`
    joined by ``|``) of each effect row where ``keep`` is true; ``u``: the rows' units."""
    rows = np.flatnonzero(keep)
    fields = [alt_text[rows], consequence(effects["delta"].to_numpy(np.float64)[rows], threshold),
              units.strand[u[rows]], info_escape_all(gene[rows]), units.region[u[rows]],
              info_labels[rows]]
    fields += [format_floats(effects[c].to_numpy(np.float64)[rows])
               for c in ("ref_score", "alt_score", "delta", "logit_delta")]
    return ["|".join(parts) for parts in zip(*(f.tolist() for f in fields), strict=True)]


def _table_rows(result: ChunkResult, effects: pd.DataFrame, flags: np.ndarray,
                allele_status: list[str]) -> pd.DataFrame:
    """The chunk's table: scored rows (unit x model x RBP) and one row per unscored allele,
    in record, ALT, strand, model, RBP order."""
    recs = result.records
    alleles, units = result.alleles, result.units
    a_record = alleles.record
    a_alt_index = alleles.alt_index
    a_alt = alleles.alt
    cols: dict[str, list] = {c: [] for c in TABLE_COLUMNS}
    keys: list[np.ndarray] = []
    if len(effects):
        u = effects["unit"].to_numpy()
        allele = units.allele[u]
        keys.append(np.stack([a_record[allele], a_alt_index[allele],
                              (units.strand[u] == "-").astype(np.int64),
                              effects["model_order"].to_numpy(np.int64),
                              effects["rbp_order"].to_numpy(np.int64)], axis=1))
        part = {"_allele": allele, "alt": a_alt[allele],
                "strand": units.strand[u].astype(object),
                "gene_id": effects["gene_id"].to_numpy(),
                "gene_name": effects["gene_name"].to_numpy(),
                "region": units.region[u], "rbp": effects["label"].to_numpy(),
                "model": effects["model"].to_numpy(),
                "ref_score": effects["ref_score"].to_numpy(np.float32),
                "alt_score": effects["alt_score"].to_numpy(np.float32),
                "delta": effects["delta"].to_numpy(np.float32),
                "logit_delta": effects["logit_delta"].to_numpy(np.float32),
                "status": flags[u]}
        for c, v in part.items():
            cols.setdefault(c, []).append(v)
    scored = np.zeros(len(alleles), dtype=bool)
    if len(units):
        scored[units.allele] = True
    unscored = np.flatnonzero(~scored)
    if len(unscored):
        n = len(unscored)
        keys.append(np.stack([a_record[unscored], a_alt_index[unscored], np.zeros(n, np.int64),
                              np.zeros(n, np.int64), np.zeros(n, np.int64)], axis=1))
        empty = np.full(n, "", dtype=object)
        nan = np.full(n, np.nan, dtype=np.float32)
        part = {"_allele": unscored, "alt": a_alt[unscored], "strand": empty,
                "gene_id": empty, "gene_name": empty, "region": empty, "rbp": empty,
                "model": empty, "ref_score": nan, "alt_score": nan, "delta": nan,
                "logit_delta": nan,
                "status": np.array([allele_status[a] for a in unscored], dtype=object)}
        for c, v in part.items():
            cols.setdefault(c, []).append(v)
    if not keys:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    key = np.concatenate(keys)
    order = np.lexsort(key.T[::-1])
    joined = {c: np.concatenate(v)[order] for c, v in cols.items() if v}
    r = a_record[joined.pop("_allele")]
    chrom = np.array([rec.chrom for rec in recs], dtype=object)
    pos = np.array([rec.pos for rec in recs], dtype=np.int64)
    ids = np.array([rec.id for rec in recs], dtype=object)
    ref = np.array([rec.ref for rec in recs], dtype=object)
    joined.update({"chrom": chrom[r], "pos": pos[r], "id": ids[r], "ref": ref[r]})
    return object_frame({c: joined[c] for c in TABLE_COLUMNS})
