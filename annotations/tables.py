"""Building the index tables from parsed transcripts: per contig and strand, region
classes painted by :data:`PRECEDENCE` as sorted breakpoints, genes and transcribed intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from varbind.annotations.cache import INDEX_FORMAT
from varbind.annotations.gtf import ParsedAnnotation
from varbind.encoding import REGION_CODE

#: Length of the promoter upstream of each transcription start site (nt).
PROMOTER_LENGTH = 1000


#: Distance from a gene within which intergenic bases are ``intergenic_proximal`` (nt).
PROXIMAL_DISTANCE = 5000


#: Region classes from highest to lowest precedence; ``none`` is lowest of all.
PRECEDENCE: tuple[str, ...] = (
    "cds", "5utr", "3utr", "ncrna_exon", "intron", "promoter", "intergenic_proximal",
)


GENE_COLUMNS = ["chrom", "start", "end", "strand", "gene_id", "gene_name", "gene_type"]


def _transcripts(parts: pd.DataFrame) -> pd.DataFrame:
    """One row per transcript (and contig, strand): span, gene and coding span."""
    key = ["transcript_id", "chrom", "strand"]
    tx = parts.groupby(key, sort=False).agg(gene_id=("gene_id", "first"),
                                            start=("start", "min"), end=("end", "max"))
    cds = parts[parts["kind"] == "cds"].groupby(key, sort=False).agg(
        cds_start=("start", "min"), cds_end=("end", "max"))
    tx = tx.join(cds, how="left").reset_index()
    tx["coding"] = tx["cds_start"].notna()
    return tx


def _class_intervals(parts: pd.DataFrame, tx: pd.DataFrame, genes: pd.DataFrame) -> pd.DataFrame:
    """Every interval that paints a class: DataFrame[chrom, strand, start, end, code]."""
    key = ["transcript_id", "chrom", "strand"]
    p = parts.merge(tx[key + ["coding", "cds_start", "cds_end"]], on=key, how="left")
    s, e = p["start"].to_numpy(np.int64), p["end"].to_numpy(np.int64)
    coding = p["coding"].to_numpy(bool)
    plus = (p["strand"] == "+").to_numpy()
    cs = p["cds_start"].fillna(0).to_numpy(np.int64)
    ce = p["cds_end"].fillna(0).to_numpy(np.int64)
    pieces = []

    def add(frame_rows, starts, ends, codes):
        keep = ends > starts
        pieces.append(pd.DataFrame({
            "chrom": frame_rows["chrom"].to_numpy()[keep],
            "strand": frame_rows["strand"].to_numpy()[keep],
            "start": np.maximum(starts[keep], 0), "end": ends[keep],
            "code": np.broadcast_to(codes, keep.shape)[keep].astype(np.int8)}))

    c = REGION_CODE
    add(p, np.where(coding, np.maximum(s, cs), s), np.where(coding, np.minimum(e, ce), e),
        np.where(coding, c["cds"], c["ncrna_exon"]))
    left, right = np.where(coding, np.minimum(e, cs), s), np.where(coding, np.maximum(s, ce), e)
    add(p, s, np.where(coding, left, s), np.where(plus, c["5utr"], c["3utr"]))
    add(p, np.where(coding, right, e), e, np.where(plus, c["3utr"], c["5utr"]))
    ts, te = tx["start"].to_numpy(np.int64), tx["end"].to_numpy(np.int64)
    tplus = (tx["strand"] == "+").to_numpy()
    add(tx, ts, te, c["intron"])
    add(tx, np.where(tplus, ts - PROMOTER_LENGTH, te), np.where(tplus, ts, te + PROMOTER_LENGTH),
        c["promoter"])
    gs, ge = genes["start"].to_numpy(np.int64), genes["end"].to_numpy(np.int64)
    add(genes, gs - PROXIMAL_DISTANCE, gs, c["intergenic_proximal"])
    add(genes, ge, ge + PROXIMAL_DISTANCE, c["intergenic_proximal"])
    return pd.concat(pieces, ignore_index=True)


def paint(starts: np.ndarray, ends: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse overlapping class intervals into a piecewise-constant map by precedence.

    Parameters
    ----------
    starts, ends : (M,) int64 half-open intervals
    codes : (M,) int8 region codes

    Returns
    -------
    breaks : (S,) int64 sorted segment starts; segment ``i`` is ``[breaks[i], breaks[i+1])``
    classes : (S,) int8 class of each segment (the last is always ``none``); positions before
        ``breaks[0]`` are ``none``.
    """
    bps = np.unique(np.concatenate([starts, ends]))
    out = np.zeros(len(bps), dtype=np.int8)
    for name in reversed(PRECEDENCE):  # paint lowest first, so higher classes overwrite
        m = codes == REGION_CODE[name]
        if not m.any():
            continue
        up = np.bincount(np.searchsorted(bps, starts[m]), minlength=len(bps))
        down = np.bincount(np.searchsorted(bps, ends[m]), minlength=len(bps))
        out[np.cumsum(up - down) > 0] = REGION_CODE[name]
    keep = np.r_[True, out[1:] != out[:-1]]
    return bps[keep], out[keep]


def _merge_per_gene(frame: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping or touching intervals within each (gene, contig, strand), with pyranges.

    frame : DataFrame[chrom, start, end, strand, gene_id] -> the same columns, merged, sorted.
    """
    import pyranges

    columns = {"chrom": "Chromosome", "start": "Start", "end": "End", "strand": "Strand"}
    if frame.empty:
        return frame[["chrom", "start", "end", "strand", "gene_id"]].reset_index(drop=True)
    ranges = pyranges.PyRanges(frame.rename(columns=columns).astype({"Chromosome": str}))
    merged = ranges.merge(strand=True, by="gene_id").df
    merged = merged.rename(columns={v: k for k, v in columns.items()})
    merged = merged.astype({"chrom": str, "strand": str, "start": np.int64, "end": np.int64})
    return merged[["chrom", "start", "end", "strand", "gene_id"]].sort_values(
        ["chrom", "start", "end", "strand"], kind="stable").reset_index(drop=True)


def build_tables(parsed: ParsedAnnotation) -> dict:
    """Everything the index holds, as plain arrays and frames (what the cache stores)."""
    parts = parsed.parts
    tx = _transcripts(parts)
    genes = tx.groupby(["gene_id", "chrom", "strand"], sort=False).agg(
        start=("start", "min"), end=("end", "max")).reset_index()
    genes = genes.merge(parsed.genes, on="gene_id", how="left")
    genes["gene_name"] = genes["gene_name"].fillna(genes["gene_id"])
    genes["gene_type"] = genes["gene_type"].fillna("")
    genes = genes[GENE_COLUMNS]
    intervals = _class_intervals(parts, tx, genes)
    tracks = {}
    for (chrom, strand), grp in intervals.groupby(["chrom", "strand"], sort=False):
        tracks[(chrom, strand)] = paint(grp["start"].to_numpy(np.int64),
                                        grp["end"].to_numpy(np.int64),
                                        grp["code"].to_numpy(np.int8))
    exons = _merge_per_gene(parts[["chrom", "start", "end", "strand", "gene_id"]])
    premrna = _merge_per_gene(tx[["chrom", "start", "end", "strand", "gene_id"]])
    transcripts = tx[["chrom", "start", "end", "strand", "transcript_id", "gene_id", "coding"]]
    return {"format": INDEX_FORMAT, "contigs": list(pd.unique(parts["chrom"])),
            "tracks": tracks, "genes": frame_to_dict(genes),
            "exons": frame_to_dict(exons), "premrna": frame_to_dict(premrna),
            "transcripts": frame_to_dict(transcripts)}


def frame_to_dict(frame: pd.DataFrame) -> dict:
    """Columns as arrays; text columns as (codes, categories), which pickle small and fast."""
    out = {}
    for c in frame.columns:
        values = frame[c]
        if values.dtype.kind in "biuf":
            out[c] = values.to_numpy()
        else:
            codes, cats = pd.factorize(values)
            out[c] = ("text", codes.astype(np.int32), np.asarray(cats, dtype=object))
    return out


def dict_to_frame(d: dict) -> pd.DataFrame:
    cols = {}
    for c, v in d.items():
        if isinstance(v, tuple) and v[0] == "text":
            cols[c] = v[2][v[1]]
        else:
            cols[c] = v
    return pd.DataFrame(cols)
