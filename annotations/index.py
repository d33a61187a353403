"""Per-base region classes, genes and transcribed intervals from a GTF/GFF3 annotation.

The index turns transcript models into, for each contig and strand, a piecewise-constant map
from position to region class (:data:`varbind.encoding.REGION_CLASSES`), stored as sorted
breakpoints with one class per segment; lookups for whole batches of windows are a handful of
``np.searchsorted`` and ``cumsum`` calls.

Region classes, on each strand separately (a base may be CDS on ``+`` and intron on ``-``):

- ``cds``: exonic bases of a coding transcript between its first and last coding base
  (CDS lines plus start and stop codons);
- ``5utr`` / ``3utr``: exonic bases of a coding transcript before / after its coding span on
  the transcript's strand (UTR lines are not needed: GENCODE ``UTR``, Ensembl
  ``five_prime_utr``/``three_prime_utr`` and RefSeq exon-minus-CDS all give the same split);
- ``ncrna_exon``: exonic bases of a transcript without CDS;
- ``intron``: within a transcript's span but not exonic in it;
- ``promoter``: the :data:`PROMOTER_LENGTH` (1 kb) upstream of each transcript start, on its
  strand;
- ``intergenic_proximal``: within :data:`PROXIMAL_DISTANCE` (5 kb) of a gene on that strand,
  outside it: 1-5 kb upstream (0-1 kb upstream being the promoter) and 0-5 kb downstream;
- ``none``: everything else.

Where transcripts (or genes) disagree, the class that comes first in :data:`PRECEDENCE` wins:
``cds > 5utr > 3utr > ncrna_exon > intron > promoter > intergenic_proximal > none``. So an
exon of any transcript beats an intron of another, and a coding exon beats a UTR.

The parsed index is cached (see :func:`cache_path`), keyed by the file's absolute path, size
and modification time and the varbind version, so a second run does not parse the file again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from glob import escape as glob_escape
from pathlib import Path

import numpy as np
import pandas as pd
from varbind.annotations.gtf import ParsedAnnotation, read_annotation

from varbind import __version__
from varbind.encoding import REGION_CODE
from varbind.files import atomic_output
from varbind.genome import ContigResolver

log = logging.getLogger(__name__)

#: Length of the promoter upstream of each transcription start site (nt).
PROMOTER_LENGTH = 1000
#: Distance from a gene within which intergenic bases are ``intergenic_proximal`` (nt).
PROXIMAL_DISTANCE = 5000
#: Region classes from highest to lowest precedence; ``none`` is lowest of all.
PRECEDENCE: tuple[str, ...] = (
    "cds", "5utr", "3utr", "ncrna_exon", "intron", "promoter", "intergenic_proximal",
)
#: Bumped whenever the cached layout or the class rules change.
INDEX_FORMAT = 2
GENE_COLUMNS = ["chrom", "start", "end", "strand", "gene_id", "gene_name", "gene_type"]


def default_cache_dir() -> Path:
    """``$VARBIND_CACHE/annotations`` or ``~/.cache/varbind/annotations``."""
    root = os.environ.get("VARBIND_CACHE") or Path.home() / ".cache" / "varbind"
    return Path(root) / "annotations"


def cache_path(path: str | os.PathLike, cache_dir: str | os.PathLike) -> Path:
    """Cache file for an annotation: keyed by absolute path, size, mtime and versions.

    Named ``<file name>.<path hash>.<key hash>.idx.pkl``, so that the entries of older
    versions of the same file can be found (and are removed when a new one is written).
    """
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}|{__version__}|{INDEX_FORMAT}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    where = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return Path(cache_dir) / f"{path.name}.{where}.{digest}.idx.pkl"


# ----------------------------------------------------------------------------- building


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
            "tracks": tracks, "genes": _frame_to_dict(genes),
            "exons": _frame_to_dict(exons), "premrna": _frame_to_dict(premrna),
            "transcripts": _frame_to_dict(transcripts)}


def _frame_to_dict(frame: pd.DataFrame) -> dict:
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


def _dict_to_frame(d: dict) -> pd.DataFrame:
    cols = {}
    for c, v in d.items():
        if isinstance(v, tuple) and v[0] == "text":
            cols[c] = v[2][v[1]]
        else:
            cols[c] = v
    return pd.DataFrame(cols)


# ----------------------------------------------------------------------------- the index


class AnnotationIndex:
    """Region classes, genes and transcribed intervals of one annotation.

    Build with :meth:`from_gtf`. Coordinates are 0-based, half-open; contig names may be
    given under aliases (``chr1``/``1``, ``chrM``/``MT``).
    """

    def __init__(self, tables: dict, source: str = ""):
        self.source = source
        self._tracks: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = tables["tracks"]
        self.contigs: list[str] = list(tables["contigs"])
        self.genes: pd.DataFrame = _dict_to_frame(tables["genes"])[GENE_COLUMNS]
        self.transcripts: pd.DataFrame = _dict_to_frame(tables["transcripts"])
        self._exons = _dict_to_frame(tables["exons"])
        self._premrna = _dict_to_frame(tables["premrna"])
        self.resolver = ContigResolver(self.contigs)
        self._gene_trees: dict[str, tuple] = {}

    # -- construction

    @classmethod
    def from_gtf(cls, path: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                 use_cache: bool = True, progress: bool = False) -> AnnotationIndex:
        """Parse (or load from cache) a GTF or GFF3 annotation.

        Parameters
        ----------
        path : GTF or GFF3, plain or gzip/bgzip (format sniffed from the content)
        cache_dir : folder for the parsed index; default :func:`default_cache_dir`
        use_cache : False to neither read nor write the cache
        progress : progress bar on stderr while parsing
        """
        path = Path(path)
        parsed_tables = None
        cached = None
        if use_cache and path.exists():
            cached = cache_path(path, cache_dir or default_cache_dir())
            parsed_tables = _load_cache(cached)
            if parsed_tables is not None:
                log.info("annotation index: using cache %s for %s", cached, path)
        if parsed_tables is None:
            log.info("annotation index: parsing %s", path)
            parsed_tables = build_tables(read_annotation(path, progress=progress))
            if cached is not None:
                _save_cache(cached, parsed_tables)
        return cls(parsed_tables, source=str(path))

    @classmethod
    def from_parsed(cls, parsed: ParsedAnnotation, source: str = "") -> AnnotationIndex:
        """Index of already-parsed tables (no cache)."""
        return cls(build_tables(parsed), source=source)

    # -- lookups

    def resolve(self, chrom: str) -> str | None:
        """This annotation's name for ``chrom`` (aliases allowed), or None."""
        return self.resolver.resolve(chrom)

    def region_codes(self, chrom: str, starts: np.ndarray, length: int,
                     strands: np.ndarray) -> np.ndarray:
        """Region class of every base of windows on one contig, on each window's strand.

        Parameters
        ----------
        chrom : contig (aliases allowed); an unknown contig gives all ``none``
        starts : (N,) 0-based genomic start of each window
        length : window length L
        strands : (N,) ``'+'`` or ``'-'``

        Returns
        -------
        np.ndarray, shape (N, L), int8 region codes of ``[start, start + L)`` for that strand,
        oriented on the transcript strand (reversed on ``-``), so row ``i`` lines up with
        ``Genome.window_codes`` for the same window.
        """
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        strands = np.asarray(strands).reshape(-1)
        if len(strands) != len(starts):
            raise ValueError(f"{len(starts)} starts but {len(strands)} strands")
        bad = ~np.isin(strands, ["+", "-"])
        if bad.any():
            raise ValueError(f"strands must be '+' or '-', got {strands[bad][0]!r}")
        out = np.zeros((len(starts), length), dtype=np.int8)
        name = self.resolve(chrom)
        if name is None or length == 0:
            return out
        for strand in "+-":
            rows = np.flatnonzero(strands == strand)
            track = self._tracks.get((name, strand))
            if track is None or rows.size == 0:
                continue
            step = max(1, 8_000_000 // length)
            for lo in range(0, rows.size, step):
                chunk = rows[lo:lo + step]
                codes = _lookup(track, starts[chunk], length)
                out[chunk] = codes[:, ::-1] if strand == "-" else codes
        return out

    def region_at(self, chrom: str, positions: np.ndarray, strands: np.ndarray) -> np.ndarray:
        """Region class of single bases, shape (N,) int8."""
        return self.region_codes(chrom, positions, 1, strands)[:, 0]

    def strands_at(self, chrom: str, positions: np.ndarray, level: str = "premrna") -> np.ndarray:
        """Transcribed strand(s) at each position: ``"+"``, ``"-"``, ``"+-"`` (both) or ``""``.

        ``level="premrna"`` counts introns as transcribed, ``"exon"`` only exons.
        """
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        top = REGION_CODE["intron"] if level == "premrna" else REGION_CODE["ncrna_exon"]
        if level not in ("premrna", "exon"):
            raise ValueError(f"level must be 'premrna' or 'exon', got {level!r}")
        out = np.full(len(positions), "", dtype=object)
        for strand in "+-":
            codes = self.region_at(chrom, positions, np.full(len(positions), strand))
            on = (codes >= REGION_CODE["5utr"]) & (codes <= top)
            out[on] = out[on] + strand
        return out.astype(str)

    def _gene_tree(self, name: str):
        if name not in self._gene_trees:
            from ncls import NCLS

            rows = np.flatnonzero(self.genes["chrom"].to_numpy() == name)
            tree = NCLS(self.genes["start"].to_numpy(np.int64)[rows],
                        self.genes["end"].to_numpy(np.int64)[rows], rows.astype(np.int64))
            self._gene_trees[name] = tree
        return self._gene_trees[name]

    def gene_rows_at(self, chrom: str, starts: np.ndarray,
                     ends: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (query index, row of :attr:`genes`) for genes overlapping each interval.

        ``ends`` defaults to ``starts + 1`` (single positions).
        """
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        ends = starts + 1 if ends is None else np.asarray(ends, dtype=np.int64).reshape(-1)
        name = self.resolve(chrom)
        if name is None or len(starts) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        q, g = self._gene_tree(name).all_overlaps_both(starts, ends,
                                                        np.arange(len(starts), dtype=np.int64))
        order = np.lexsort((g, q))
        return q[order].astype(np.int64), g[order].astype(np.int64)

    def genes_at(self, chrom: str, positions: np.ndarray) -> pd.DataFrame:
        """Genes overlapping each position (either strand).

        Parameters
        ----------
        chrom : contig (aliases allowed)
        positions : (N,) 0-based positions

        Returns
        -------
        DataFrame[query, gene_id, gene_name, strand, gene_type]: one row per (query index,
        overlapping gene), sorted by query; positions outside every gene have no row.
        """
        q, g = self.gene_rows_at(chrom, positions)
        genes = self.genes.iloc[g]
        return pd.DataFrame({"query": q, "gene_id": genes["gene_id"].to_numpy(),
                             "gene_name": genes["gene_name"].to_numpy(),
                             "strand": genes["strand"].to_numpy(),
                             "gene_type": genes["gene_type"].to_numpy()})

    def transcripts_at(self, chrom: str, positions: np.ndarray) -> pd.DataFrame:
        """Transcripts whose span holds each position: DataFrame[query, transcript_id,
        gene_id, strand, coding], one row per pair."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        name = self.resolve(chrom)
        tx = self.transcripts
        rows = np.flatnonzero(tx["chrom"].to_numpy() == name) if name else np.zeros(0, int)
        if rows.size == 0 or positions.size == 0:
            return pd.DataFrame(columns=["query", "transcript_id", "gene_id", "strand", "coding"])
        from ncls import NCLS

        tree = NCLS(tx["start"].to_numpy(np.int64)[rows], tx["end"].to_numpy(np.int64)[rows],
                    rows.astype(np.int64))
        q, t = tree.all_overlaps_both(positions, positions + 1,
                                      np.arange(len(positions), dtype=np.int64))
        order = np.lexsort((t, q))
        sel = tx.iloc[t[order]]
        return pd.DataFrame({"query": q[order], "transcript_id": sel["transcript_id"].to_numpy(),
                             "gene_id": sel["gene_id"].to_numpy(),
                             "strand": sel["strand"].to_numpy(),
                             "coding": sel["coding"].to_numpy()})

    def nearest_gene_rows(self, chrom: str, positions: np.ndarray, strands: np.ndarray,
                          score: np.ndarray | None = None) -> np.ndarray:
        """For each position, one gene on its strand: an overlapping one, else the nearest.

        Parameters
        ----------
        positions : (N,) 0-based; strands : (N,) ``'+'``/``'-'``
        score : optional (n_genes,) value per row of :attr:`genes`; among several overlapping
            genes the highest scores wins (e.g. expression), else the shortest gene.

        Returns
        -------
        np.ndarray, shape (N,), int64 row of :attr:`genes`, -1 where the contig has no gene
        on that strand.
        """
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        strands = np.asarray(strands).reshape(-1)
        out = np.full(len(positions), -1, dtype=np.int64)
        q, g = self.gene_rows_at(chrom, positions)
        gstrand = self.genes["strand"].to_numpy()
        same = gstrand[g] == strands[q]
        q, g = q[same], g[same]
        if q.size:
            length = (self.genes["end"].to_numpy() - self.genes["start"].to_numpy())[g]
            rank = -length.astype(np.float64) if score is None else np.asarray(score)[g]
            order = np.lexsort((-rank, q))  # by query, best rank first
            q, g = q[order], g[order]
            first = np.r_[True, q[1:] != q[:-1]]
            out[q[first]] = g[first]
        missing = np.flatnonzero(out < 0)
        name = self.resolve(chrom)
        if missing.size and name is not None:
            for strand in "+-":
                m = missing[strands[missing] == strand]
                on_contig = self.genes["chrom"].to_numpy() == name
                rows = np.flatnonzero(on_contig & (gstrand == strand))
                if m.size == 0 or rows.size == 0:
                    continue
                out[m] = _nearest(self.genes["start"].to_numpy(np.int64)[rows],
                                  self.genes["end"].to_numpy(np.int64)[rows], rows, positions[m])
        return out

    def transcribed_intervals(self, level: str = "exon") -> pd.DataFrame:
        """Transcribed intervals merged per gene.

        Parameters
        ----------
        level : ``"exon"`` (exons of all the gene's transcripts, merged; the default) or
            ``"premrna"`` (transcript spans, introns included, merged)

        Returns
        -------
        DataFrame[chrom, start, end, strand, gene_id], 0-based half-open.
        """
        if level == "exon":
            return self._exons.copy()
        if level == "premrna":
            return self._premrna.copy()
        raise ValueError(f"level must be 'exon' or 'premrna', got {level!r}")

    def __repr__(self) -> str:
        return (f"AnnotationIndex({self.source!r}: {len(self.genes)} genes, "
                f"{len(self.transcripts)} transcripts, {len(self.contigs)} contigs)")


def _nearest(starts: np.ndarray, ends: np.ndarray, rows: np.ndarray,
             positions: np.ndarray) -> np.ndarray:
    """Row of the interval nearest to each position (none overlapping), by sorted search."""
    order = np.argsort(starts, kind="stable")
    s, e, rows = starts[order], ends[order], rows[order]
    reach = np.maximum.accumulate(e)  # furthest end among intervals starting at or before i
    holder = np.maximum.accumulate(np.where(e == reach, np.arange(len(e)), 0))
    k = np.searchsorted(s, positions, side="right")  # intervals [0, k) start at or before
    left_dist = np.where(k > 0, positions - reach[np.maximum(k - 1, 0)] + 1, np.inf)
    right_dist = np.where(k < len(s), s[np.minimum(k, len(s) - 1)] - positions, np.inf)
    left = holder[np.maximum(k - 1, 0)]
    right = np.minimum(k, len(s) - 1)
    return rows[np.where(left_dist <= right_dist, left, right)]


def _lookup(track: tuple[np.ndarray, np.ndarray], starts: np.ndarray, length: int) -> np.ndarray:
    """Class of every base of ``[start, start + L)`` for each start, genomic order, (N, L) int8.

    The segment of the first base comes from one ``searchsorted``; breakpoints inside each
    window are added as +1 steps and summed along the row, so the cost is O(N·L) without a
    binary search per base.
    """
    breaks, classes = track
    padded = np.r_[np.int8(0), classes]  # index 0: before the first breakpoint -> none
    first = np.searchsorted(breaks, starts, side="right")  # padded index of each first base
    last = np.searchsorted(breaks, starts + length - 1, side="right")
    inside = last - first
    if not inside.any():
        return np.repeat(padded[first][:, None], length, axis=1)
    steps = np.zeros((len(starts), length), dtype=np.int32 if length > 32000 else np.int16)
    rows = np.repeat(np.arange(len(starts)), inside)
    nth = np.arange(rows.size) - np.repeat(np.cumsum(inside) - inside, inside)
    offsets = breaks[np.repeat(first, inside) + nth] - starts[rows]
    steps[rows, offsets] = 1
    np.cumsum(steps, axis=1, out=steps)
    return padded[first[:, None] + steps]


def _load_cache(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            tables = pickle.load(fh)
        if tables.get("format") != INDEX_FORMAT:
            return None
        return tables
    except Exception as exc:  # a stale or damaged cache is rebuilt, never fatal
        log.warning("annotation cache %s unreadable (%s); parsing again", path, exc)
        return None


def _save_cache(path: Path, tables: dict) -> None:
    try:
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
        log.debug("annotation index cached at %s", path)
        stem = path.name.rsplit(".", 3)[0]  # <file name>.<path hash>
        for stale in path.parent.glob(f"{glob_escape(stem)}.*.idx.pkl"):
            if stale != path:
                stale.unlink(missing_ok=True)
                log.debug("removed stale annotation cache %s", stale)
    except OSError as exc:
        log.warning("could not write annotation cache %s (%s); set VARBIND_CACHE to a "
                    "writable folder to avoid parsing again", path, exc)
