"""Where a variant sits: transcribed strand(s), gene, region class and expression.

A variant is scored on every strand on which a gene overlaps it (introns included: the
pre-mRNA is bound too). When several genes overlap on one strand, the gene with the highest
expression in the cell type wins (the shortest gene without an expression table). With
``all_strands`` both strands are scored everywhere; on a strand without an overlapping gene
the gene columns stay empty and the expression input is that of the nearest gene on that
strand (POLARIS's "nearest gene"), or 0 where the contig has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

STRANDS = ("+", "-")


@dataclass
class SiteStrands:
    """The strands to score at P (site, strand) pairs of one contig.

    site : (P,) index of the site in the query
    strand : (P,) ``'+'`` / ``'-'``
    gene_id, gene_name : (P,) object, ``''`` where no gene overlaps on that strand
    transcribed : (P,) bool, a gene overlaps the site on that strand
    gene_row : (P,) int64 row of the index's genes giving the expression (-1: none)
    """

    site: np.ndarray
    strand: np.ndarray
    gene_id: np.ndarray
    gene_name: np.ndarray
    transcribed: np.ndarray
    gene_row: np.ndarray


class SiteContext:
    """An annotation index with an optional expression table, queried per batch.

    Parameters
    ----------
    index : :class:`varbind.annotations.index.AnnotationIndex`, or None (no annotation:
        every site is outside transcripts)
    expression : :class:`varbind.annotations.expression.ExpressionTable`, or None
    cell_type : the expression column used to choose among overlapping genes
    """

    def __init__(self, index=None, expression=None, cell_type: str | None = None):
        self.index = index
        self.expression = expression
        self.cell_type = cell_type
        self._gene_log_tpm: dict[str | None, np.ndarray] = {}

    def gene_expression(self, cell_type: str | None) -> np.ndarray:
        """(n_genes,) float32 log1p TPM of every gene of the index in ``cell_type``."""
        if cell_type not in self._gene_log_tpm:
            genes = self.index.genes
            if self.expression is None:
                values = np.zeros(len(genes), dtype=np.float32)
            else:
                values = np.asarray(self.expression.lookup(
                    genes["gene_id"].to_numpy(), gene_names=genes["gene_name"].to_numpy(),
                    cell_type=cell_type), dtype=np.float32)
            self._gene_log_tpm[cell_type] = values
        return self._gene_log_tpm[cell_type]

    def site_strands(self, chrom: str, positions: np.ndarray,
                     all_strands: bool = False) -> SiteStrands:
        """Strands to score and their genes for N sites of one contig.

        Parameters
        ----------
        chrom : contig (aliases allowed)
        positions : (N,) 0-based positions
        all_strands : score both strands of every site

        Returns
        -------
        SiteStrands, sorted by site then strand (``+`` first). Sites with no row are outside
        every transcript (never the case with ``all_strands``).
        """
        positions = np.asarray(positions, dtype=np.int64)
        n = len(positions)
        if self.index is None or n == 0:
            return _site_strands_without_genes(n, all_strands)
        q, g = self.index.gene_rows_at(chrom, positions)
        gene_strand = self.index.genes["strand"].to_numpy()
        has = {s: np.zeros(n, dtype=bool) for s in STRANDS}
        for s in STRANDS:
            has[s][q[gene_strand[g] == s]] = True
        sites, strands = [], []
        for s in STRANDS:
            rows = np.arange(n) if all_strands else np.flatnonzero(has[s])
            sites.append(rows)
            strands.append(np.full(len(rows), s))
        site = np.concatenate(sites)
        strand = np.concatenate(strands)
        order = np.lexsort((strand == "-", site))
        site, strand = site[order], strand[order]
        score = self.gene_expression(self.cell_type) if self.expression is not None else None
        gene_row = self.index.nearest_gene_rows(chrom, positions[site], strand, score=score)
        transcribed = np.where(strand == "+", has["+"][site], has["-"][site])
        genes = self.index.genes
        ids = np.where(gene_row >= 0, genes["gene_id"].to_numpy()[np.maximum(gene_row, 0)], "")
        names = np.where(gene_row >= 0, genes["gene_name"].to_numpy()[np.maximum(gene_row, 0)],
                         "")
        ids = np.where(transcribed, ids, "").astype(object)
        names = np.where(transcribed, names, "").astype(object)
        return SiteStrands(site=site, strand=strand, gene_id=ids, gene_name=names,
                           transcribed=transcribed, gene_row=gene_row)

    def gene_rows(self, chrom: str, positions: np.ndarray, strands: np.ndarray,
                  cell_type: str | None) -> np.ndarray:
        """(P,) int64 gene row per (position, strand) as :meth:`site_strands` chooses it, but
        with the genes' expression in ``cell_type`` (-1 where the contig has no gene)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.index is None or len(positions) == 0:
            return np.full(len(positions), -1, dtype=np.int64)
        score = self.gene_expression(cell_type) if self.expression is not None else None
        return self.index.nearest_gene_rows(chrom, positions, np.asarray(strands), score=score)

    def gene_names(self, gene_rows: np.ndarray, transcribed: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(P,) gene ids and names (object) of gene rows, ``''`` where not ``transcribed``."""
        n = len(gene_rows)
        if self.index is None or n == 0:
            return np.full(n, "", dtype=object), np.full(n, "", dtype=object)
        rows = np.maximum(np.asarray(gene_rows, dtype=np.int64), 0)
        keep = np.asarray(transcribed, dtype=bool) & (np.asarray(gene_rows) >= 0)
        genes = self.index.genes
        ids = np.where(keep, genes["gene_id"].to_numpy()[rows], "").astype(object)
        names = np.where(keep, genes["gene_name"].to_numpy()[rows], "").astype(object)
        return ids, names

    def expression_at(self, gene_rows: np.ndarray, cell_type: str | None) -> np.ndarray:
        """(P,) float32 log1p TPM for gene rows (0 where the row is -1)."""
        gene_rows = np.asarray(gene_rows, dtype=np.int64)
        if self.index is None or self.expression is None:
            return np.zeros(len(gene_rows), dtype=np.float32)
        values = self.gene_expression(cell_type)
        return np.where(gene_rows >= 0, values[np.maximum(gene_rows, 0)], 0).astype(np.float32)

    def region_at(self, chrom: str, positions: np.ndarray, strands: np.ndarray) -> np.ndarray:
        """(N,) int8 region class of single bases on the given strands (0 without an index)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.index is None or len(positions) == 0:
            return np.zeros(len(positions), dtype=np.int8)
        return self.index.region_at(chrom, positions, np.asarray(strands))

    def region_reader(self, chrom: str) -> Callable[[int, int, str], np.ndarray] | None:
        """``read(lo, hi, strand)`` -> (hi - lo,) int8 classes in genomic order, or None."""
        if self.index is None:
            return None
        index = self.index

        def read(lo: int, hi: int, strand: str) -> np.ndarray:
            codes = index.region_codes(chrom, np.array([lo]), hi - lo, np.array([strand]))[0]
            return codes[::-1] if strand == "-" else codes

        return read


def _site_strands_without_genes(n: int, all_strands: bool) -> SiteStrands:
    site = np.repeat(np.arange(n), 2) if all_strands else np.zeros(0, dtype=np.int64)
    strand = np.tile(np.array(STRANDS), n) if all_strands else np.zeros(0, dtype="<U1")
    p = len(site)
    return SiteStrands(site=site, strand=strand, gene_id=np.full(p, "", dtype=object),
                       gene_name=np.full(p, "", dtype=object),
                       transcribed=np.zeros(p, dtype=bool),
                       gene_row=np.full(p, -1, dtype=np.int64))
