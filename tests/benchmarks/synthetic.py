"""Synthetic VCFs on a simulated world, shared by the benchmarks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def gene_positions(world, n: int, rng: np.random.Generator):
    """``n`` positions drawn uniformly over the world's gene bodies.

    Returns
    -------
    genome : varbind.genomics.genome.Genome of the world
    chrom : (n,) contig of each position
    pos0 : (n,) int64 0-based positions
    """
    from varbind.annotations.index import AnnotationIndex
    from varbind.genomics.genome import Genome

    genome = Genome(world.genome)
    genes = AnnotationIndex.from_gtf(world.gtf).genes
    spans = (genes["end"] - genes["start"]).to_numpy()
    pick = rng.choice(len(genes), size=n, p=spans / spans.sum())
    pos0 = genes["start"].to_numpy()[pick] + (rng.random(n) * spans[pick]).astype(np.int64)
    return genome, genes["chrom"].to_numpy()[pick], pos0


def write_indexed_vcf(path: Path, genome, lines: Iterable[str]) -> Path:
    """Write ``lines`` (sorted VCF body lines) under a minimal header to ``path`` (.vcf.gz),
    bgzipped and tabix-indexed."""
    import pysam

    plain = Path(str(path)[:-3])
    with open(plain, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c in genome.contigs:
            fh.write(f"##contig=<ID={c},length={genome.lengths[c]}>\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.writelines(lines)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return path


def genome_positions(genome, n: int, rng: np.random.Generator):
    """``n`` positions drawn uniformly over the whole genome (genes or not).

    Returns
    -------
    chrom : (n,) contig of each position
    pos0 : (n,) int64 0-based positions
    """
    names = list(genome.contigs)
    lengths = np.array([genome.lengths[c] for c in names], dtype=np.int64)
    pick = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    pos0 = (rng.random(n) * lengths[pick]).astype(np.int64)
    return np.array(names, dtype=object)[pick], pos0


def snv_vcf(world, n: int, path: Path, seed: int = 1, anywhere: bool = False) -> Path:
    """``n`` SNVs inside the world's genes (``anywhere``: over the whole genome), REF from the
    genome, sorted, bgzipped and indexed; an existing indexed file is kept."""
    from varbind.genomics.genome import Genome

    if Path(str(path) + ".tbi").exists():
        return path
    rng = np.random.default_rng(seed)
    if anywhere:
        genome = Genome(world.genome)
        chrom, pos0 = genome_positions(genome, n, rng)
    else:
        genome, chrom, pos0 = gene_positions(world, n, rng)
    letters = np.array(list("ACGTN"))

    def lines():
        for c in genome.contigs:
            sel = np.sort(pos0[chrom == c])
            if not len(sel):
                continue
            ref = genome.fetch_codes(c, 0, genome.lengths[c])[sel]
            alt = np.where(ref == 4, 0, (ref + rng.integers(1, 4, size=len(sel))) % 4)
            yield from (f"{c}\t{p + 1}\t.\t{r}\t{a}\t.\tPASS\t.\n"
                        for p, r, a in zip(sel, letters[ref], letters[alt], strict=True))

    return write_indexed_vcf(path, genome, lines())
