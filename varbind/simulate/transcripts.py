"""Gene and transcript models of the simulated world, and the per-base region classes.

All coordinates in this module are *global* 0-based positions into the concatenated
genome (contigs laid end to end); :class:`Layout` converts them to contig coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from varbind.encoding import REGION_CODE

#: Precedence when transcripts of one gene disagree about a base (first wins).
REGION_PRECEDENCE: tuple[str, ...] = ("cds", "5utr", "3utr", "ncrna_exon", "intron")


@dataclass
class Transcript:
    """One transcript. exons: ascending ``[start, end)`` global intervals.

    cds : global ``[start, end)`` span of the coding sequence *without* the stop codon
    (GENCODE convention), or None; start_codon / stop_codon : global ``[start, end)``.
    """

    transcript_id: str
    transcript_type: str
    exons: list[tuple[int, int]]
    cds: tuple[int, int] | None = None
    start_codon: tuple[int, int] | None = None
    stop_codon: tuple[int, int] | None = None
    tags: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        return self.exons[0][0]

    @property
    def end(self) -> int:
        return self.exons[-1][1]


@dataclass
class Gene:
    """One gene: id, name, type, strand and its transcripts (the first is canonical)."""

    gene_id: str
    gene_name: str
    gene_type: str
    contig: int
    strand: str
    transcripts: list[Transcript] = field(default_factory=list)

    @property
    def start(self) -> int:
        return min(t.start for t in self.transcripts)

    @property
    def end(self) -> int:
        return max(t.end for t in self.transcripts)


@dataclass
class Layout:
    """Contigs laid end to end. names[i] covers global ``[offsets[i], offsets[i] + lengths[i])``."""

    names: list[str]
    lengths: np.ndarray
    offsets: np.ndarray

    @property
    def total(self) -> int:
        return int(self.lengths.sum())

    def locate(self, pos: np.ndarray | int):
        """Global position(s) -> (contig index, contig-local 0-based position)."""
        pos = np.asarray(pos)
        idx = np.searchsorted(self.offsets, pos, side="right") - 1
        return idx, pos - self.offsets[idx]


def make_layout(lengths: tuple[int, ...]) -> Layout:
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]])
    return Layout([f"chr{i + 1}" for i in range(len(lengths))], lengths_arr, offsets)


def _lognormal_int(rng, median: float, sigma: float, lo: int, hi: int, size=None):
    return np.clip(np.round(rng.lognormal(np.log(median), sigma, size)), lo, hi).astype(int)


def _exon_blocks(start: int, exon_lengths: list[int], intron_lengths: list[int]):
    """Exons in transcription order laid out from ``start`` (ascending genomic)."""
    blocks, pos = [], start
    for i, length in enumerate(exon_lengths):
        blocks.append((pos, pos + length))
        pos += length
        if i < len(intron_lengths):
            pos += intron_lengths[i]
    return blocks


def _orient(blocks_tx_order: list[tuple[int, int]], strand: str, start: int, span: int):
    """Mirror blocks laid out 5'->3' from ``start`` onto the '-' strand if needed."""
    if strand == "+":
        return sorted(blocks_tx_order)
    end = start + span
    return sorted((start + end - b, start + end - a) for a, b in blocks_tx_order)


def _mrna_positions(exons: list[tuple[int, int]], strand: str) -> np.ndarray:
    """Global position of each mRNA base in transcription order."""
    pos = np.concatenate([np.arange(a, b) for a, b in exons])
    return pos if strand == "+" else pos[::-1]


def _span(positions: np.ndarray) -> tuple[int, int]:
    return int(positions.min()), int(positions.max()) + 1


def _coding_gene(rng, gene_id: str, gene_name: str, contig: int, strand: str, start: int,
                 n_alt_kind: str | None) -> Gene:
    n_exons = int(rng.integers(2, 11))
    exon_len = [int(_lognormal_int(rng, 220, 0.4, 80, 600))]
    exon_len += list(_lognormal_int(rng, 140, 0.4, 60, 350, n_exons - 2))
    introns = list(_lognormal_int(rng, 1100, 0.8, 250, 7000, n_exons - 1))
    cassette = None
    if n_exons >= 4:
        cassette = int(rng.integers(1, n_exons - 2))
        exon_len[cassette] -= exon_len[cassette] % 3  # skipping it keeps the frame
    utr5 = int(min(_lognormal_int(rng, 110, 0.5, 25, 400), exon_len[0] - 40))
    utr3 = int(_lognormal_int(rng, 900, 0.6, 200, 3500))
    cds_in_last = int(rng.integers(40, 300))
    cds_len = sum(exon_len) - utr5 + cds_in_last
    cds_in_last += (-cds_len) % 3
    cds_len += (-cds_len) % 3
    exon_len.append(cds_in_last + 3 + utr3)  # CDS tail, stop codon, 3'UTR
    span = sum(exon_len) + sum(introns)
    exons = _orient(_exon_blocks(start, exon_len, introns), strand, start, span)

    def coding_transcript(tid: str, tx_exons, skipped: int = 0, tags=()):
        mrna = _mrna_positions(tx_exons, strand)
        n_cds = cds_len - skipped
        t = Transcript(tid, "protein_coding", tx_exons, tags=tags)
        t.cds = _span(mrna[utr5:utr5 + n_cds])
        t.start_codon = _span(mrna[utr5:utr5 + 3])
        t.stop_codon = _span(mrna[utr5 + n_cds:utr5 + n_cds + 3])
        return t

    gene = Gene(gene_id, gene_name, "protein_coding", contig, strand)
    base_id = gene_id.replace("SIMG", "SIMT")
    gene.transcripts.append(coding_transcript(f"{base_id}.1", exons,
                                              tags=("basic", "Ensembl_canonical")))
    tx_order = exons if strand == "+" else exons[::-1]
    if n_alt_kind == "skip" and cassette is not None:
        alt = [e for e in tx_order if e != tx_order[cassette]]
        skipped = exon_len[cassette]
        gene.transcripts.append(coding_transcript(f"{base_id}.2", sorted(alt), skipped,
                                                  tags=("basic",)))
    elif n_alt_kind == "apa":
        last = tx_order[-1]
        cut = int(utr3 * rng.uniform(0.35, 0.6))
        short = (last[0], last[1] - cut) if strand == "+" else (last[0] + cut, last[1])
        alt = sorted(tx_order[:-1] + [short])
        gene.transcripts.append(coding_transcript(f"{base_id}.2", alt, tags=("basic",)))
    elif n_alt_kind == "retained_intron":
        k = int(rng.integers(0, n_exons - 1))
        merged = (min(tx_order[k][0], tx_order[k + 1][0]), max(tx_order[k][1], tx_order[k + 1][1]))
        alt = [e for i, e in enumerate(tx_order) if i not in (k, k + 1)] + [merged]
        gene.transcripts.append(Transcript(f"{base_id}.2", "retained_intron", sorted(alt)))
    return gene


def _noncoding_gene(rng, gene_id: str, gene_name: str, contig: int, strand: str,
                    start: int) -> Gene:
    n_exons = int(rng.integers(1, 5))
    exon_len = list(_lognormal_int(rng, 450, 0.6, 150, 2500, n_exons))
    introns = list(_lognormal_int(rng, 1500, 0.8, 300, 8000, n_exons - 1))
    span = sum(exon_len) + sum(introns)
    exons = _orient(_exon_blocks(start, exon_len, introns), strand, start, span)
    gene = Gene(gene_id, gene_name, "lncRNA", contig, strand)
    gene.transcripts.append(Transcript(gene_id.replace("SIMG", "SIMT") + ".1", "lncRNA", exons,
                                       tags=("basic", "Ensembl_canonical")))
    return gene


def draw_genes(rng: np.random.Generator, layout: Layout, n_gap: tuple[int, int]) -> list[Gene]:
    """Lay genes along every contig, never overlapping each other or the N gap (global coords).

    The first four genes cover the cases tests rely on: coding '+' with an exon-skipping
    isoform, coding '-' with a shorter-3'UTR isoform, a '-' lncRNA, and coding '+' with a
    retained-intron transcript.
    """
    forced = [("coding", "+", "skip"), ("coding", "-", "apa"), ("lncRNA", "-", None),
              ("coding", "+", "retained_intron"), ("coding", "-", "skip")]
    genes: list[Gene] = []
    for c, (offset, length) in enumerate(zip(layout.offsets, layout.lengths, strict=True)):
        pos = int(offset) + int(rng.integers(3_000, 8_000))
        end_limit = int(offset + length) - 3_000
        while True:
            i = len(genes)
            if i < len(forced):
                kind, strand, alt = forced[i]
            else:
                kind = "lncRNA" if rng.random() < 0.2 else "coding"
                strand = "+" if rng.random() < 0.5 else "-"
                alt = None
                if kind == "coding" and rng.random() < 0.4:
                    pick = int(rng.choice(3, p=[0.45, 0.35, 0.2]))
                    alt = ("skip", "apa", "retained_intron")[pick]
            gene_id, name = f"SIMG{i + 1:05d}", f"SG{i + 1:04d}"
            if kind == "coding":
                gene = _coding_gene(rng, gene_id, name, c, strand, pos, alt)
            else:
                gene = _noncoding_gene(rng, gene_id, name, c, strand, pos)
            if gene.end > end_limit:
                break
            if gene.start < n_gap[1] + 2_000 and gene.end > n_gap[0] - 2_000:
                pos = n_gap[1] + int(rng.integers(3_000, 6_000))
                continue
            genes.append(gene)
            pos = gene.end + int(_lognormal_int(rng, 6_000, 0.6, 1_500, 30_000))
    return genes


@dataclass
class RegionMap:
    """Per-base annotation of the global genome.

    region : (G,) int8 codes of :data:`varbind.encoding.REGION_CLASSES` (precedence
    :data:`REGION_PRECEDENCE`); gene : (G,) int32 gene index or -1; ambiguous : (G,) bool,
    True where transcripts of a gene assign different classes.
    """

    region: np.ndarray
    gene: np.ndarray
    ambiguous: np.ndarray


def transcript_classes(t: Transcript, strand: str):
    """Yield (start, end, class) pieces covering the transcript span (global coords)."""
    coding = t.cds is not None
    for a, b in zip(t.exons[:-1], t.exons[1:], strict=True):
        yield a[1], b[0], "intron"
    for a, b in t.exons:
        if not coding:
            yield a, b, "ncrna_exon"
            continue
        lo, hi = t.cds
        up, down = ("5utr", "3utr") if strand == "+" else ("3utr", "5utr")
        if a < lo:
            yield a, min(b, lo), up
        if max(a, lo) < min(b, hi):
            yield max(a, lo), min(b, hi), "cds"
        if b > hi:
            yield max(a, hi), b, down


def region_map(genes: list[Gene], total: int) -> RegionMap:
    bit = {name: 1 << i for i, name in enumerate(REGION_PRECEDENCE)}
    seen = np.zeros(total, dtype=np.uint8)
    gene_idx = np.full(total, -1, dtype=np.int32)
    for gi, gene in enumerate(genes):
        gene_idx[gene.start:gene.end] = gi
        for t in gene.transcripts:
            for a, b, cls in transcript_classes(t, gene.strand):
                seen[a:b] |= bit[cls]
    region = np.zeros(total, dtype=np.int8)
    for name in reversed(REGION_PRECEDENCE):  # highest precedence written last
        region[(seen & bit[name]) > 0] = REGION_CODE[name]
    popcount = np.unpackbits(seen[:, None], axis=1).sum(axis=1)
    return RegionMap(region, gene_idx, popcount > 1)
