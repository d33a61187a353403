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
