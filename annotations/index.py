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

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from varbind.annotations.cache import (  # INDEX_FORMAT: re-exported, it lived here
    INDEX_FORMAT,  # noqa: F401
    cache_path,
    default_cache_dir,
    load_cache,
    save_cache,
)
from varbind.annotations.gtf import ParsedAnnotation, read_annotation
from varbind.annotations.tables import (  # noqa: F401  (some re-exported: they lived here)
    GENE_COLUMNS,
    PRECEDENCE,
    PROMOTER_LENGTH,
    PROXIMAL_DISTANCE,
    build_tables,
    dict_to_frame,
    frame_to_dict,
    paint,
)
from varbind.encoding import REGION_CODE
from varbind.genomics.genome import ContigResolver

log = logging.getLogger(__name__)


class AnnotationIndex:
    """Region classes, genes and transcribed intervals of one annotation.

    Build with :meth:`from_gtf`. Coordinates are 0-based, half-open; contig names may be
    given under aliases (``chr1``/``1``, ``chrM``/``MT``).
    """

    def __init__(self, tables: dict, source: str = ""):
        self.source = source
        self._tracks: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = tables["tracks"]
        self.contigs: list[str] = list(tables["contigs"])
        self.genes: pd.DataFrame = dict_to_frame(tables["genes"])[GENE_COLUMNS]
        self.transcripts: pd.DataFrame = dict_to_frame(tables["transcripts"])
        self._exons = dict_to_frame(tables["exons"])
        self._premrna = dict_to_frame(tables["premrna"])
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
            parsed_tables = load_cache(cached)
            if parsed_tables is not None:
                log.info("annotation index: using cache %s for %s", cached, path)
        if parsed_tables is None:
            log.info("annotation index: parsing %s", path)
            parsed_tables = build_tables(read_annotation(path, progress=progress))
            if cached is not None:
                save_cache(cached, parsed_tables)
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
