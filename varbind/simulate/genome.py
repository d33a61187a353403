"""Genome sequence of the simulated world: background, gene signals, repeats, N gap.

Sequences are ``uint8`` codes (A=0, C=1, G=2, T=3, N=4) over the global coordinate space
of :class:`~varbind.simulate.transcripts.Layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from varbind.encoding import N_CODE, REGION_CODE, encode
from varbind.simulate.transcripts import Gene, RegionMap, Transcript

#: Mean GC content of each region class (intergenic uses ``none``); genes and 50-kb
#: isochore blocks add their own offsets, so GC-matching negatives matters.
REGION_GC: dict[str, float] = {
    "none": 0.41, "5utr": 0.60, "cds": 0.52, "3utr": 0.42, "ncrna_exon": 0.46, "intron": 0.40,
}
#: Probability that a CpG is mutated away (CpG depletion; weaker in 5'UTRs and CDS).
CPG_LOSS = {"default": 0.75, "exonic": 0.4}

_STOPS = ((3, 0, 0), (3, 0, 2), (3, 2, 0))  # TAA TAG TGA


@dataclass
class GenomeDraft:
    """codes : (G,) uint8; masked : (G,) bool soft-masked (lower-case) bases;
    protected : (G,) bool bases that carry gene signals (splice sites, codons, poly(A)
    signals) and must not be overwritten by binding sites; cds_phase : (G,) int8 codon
    phase of canonical CDS bases, -1 elsewhere."""

    codes: np.ndarray
    masked: np.ndarray
    protected: np.ndarray
    cds_phase: np.ndarray


def complement(codes: np.ndarray) -> np.ndarray:
    out = np.where(codes < N_CODE, 3 - codes, codes)
    return out.astype(np.uint8)


def write_tx(codes: np.ndarray, start: int, tx_codes: np.ndarray, strand: str) -> None:
    """Write ``tx_codes`` (transcript-strand 5'->3') at genomic ``[start, start + n)``."""
    codes[start:start + len(tx_codes)] = tx_codes if strand == "+" else complement(tx_codes[::-1])


def read_tx(codes: np.ndarray, start: int, end: int, strand: str) -> np.ndarray:
    seg = codes[start:end]
    return seg.copy() if strand == "+" else complement(seg[::-1])


def _draw_bases(rng, gc: np.ndarray) -> np.ndarray:
    u = rng.random(gc.shape[0])
    half = gc / 2
    codes = np.full(gc.shape[0], 3, dtype=np.uint8)
    codes[u < gc + (1 - gc) / 2] = 0
    codes[u < gc] = 2
    codes[u < half] = 1
    return codes


def _gc_profile(rng, total: int, genes: list[Gene], regions: RegionMap) -> np.ndarray:
    n_blocks = total // 50_000 + 1
    iso = rng.normal(0.0, 0.025, n_blocks).astype(np.float32)
    gc = np.repeat(iso, 50_000)[:total]
    region_gc = np.zeros(len(REGION_CODE), dtype=np.float32)
    for name, value in REGION_GC.items():
        region_gc[REGION_CODE[name]] = value
    gc += region_gc[regions.region]
    gene_offset = rng.normal(0.0, 0.03, len(genes)).astype(np.float32)
    in_gene = regions.gene >= 0
    gc[in_gene] += gene_offset[regions.gene[in_gene]]
    return np.clip(gc, 0.30, 0.70)


def _deplete_cpg(rng, codes: np.ndarray, regions: RegionMap) -> None:
    idx = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    exonic = np.isin(regions.region[idx], [REGION_CODE["5utr"], REGION_CODE["cds"]])
    p_loss = np.where(exonic, CPG_LOSS["exonic"], CPG_LOSS["default"])
    hit = idx[rng.random(idx.size) < p_loss]
    to_t = rng.random(hit.size) < 0.5
    codes[hit[to_t]] = 3          # CG -> TG
    codes[hit[~to_t] + 1] = 0     # CG -> CA


def _mrna(t: Transcript, strand: str) -> np.ndarray:
    pos = np.concatenate([np.arange(a, b) for a, b in t.exons])
    return pos if strand == "+" else pos[::-1]


def _cds_index(t: Transcript, mrna: np.ndarray, strand: str) -> tuple[int, int]:
    """mRNA indices [i0, i1) of the CDS (without the stop codon)."""
    first = t.start_codon[0] if strand == "+" else t.start_codon[1] - 1
    stop = t.stop_codon[0] if strand == "+" else t.stop_codon[1] - 1
    return int(np.flatnonzero(mrna == first)[0]), int(np.flatnonzero(mrna == stop)[0])


def _remove_inframe_stops(rng, codes: np.ndarray, t: Transcript, strand: str,
                          cds_phase: np.ndarray | None) -> None:
    mrna = _mrna(t, strand)
    i0, i1 = _cds_index(t, mrna, strand)
    pos = mrna[i0:i1]
    seq = codes[pos] if strand == "+" else complement(codes[pos])
    codons = seq.reshape(-1, 3)
    is_stop = np.zeros(len(codons), dtype=bool)
    for stop in _STOPS:
        is_stop |= (codons == np.asarray(stop)).all(axis=1)
    codons[is_stop, 0] = rng.choice([0, 1, 2], size=int(is_stop.sum()))
    seq = codons.ravel()
    codes[pos] = seq if strand == "+" else complement(seq)
    if cds_phase is not None:
        cds_phase[pos] = np.tile(np.arange(3, dtype=np.int8), len(codons))


def _intron_signals(rng, codes: np.ndarray, protected: np.ndarray, t: Transcript,
                    strand: str) -> None:
    for (_, a), (b, _) in zip(t.exons[:-1], t.exons[1:], strict=True):
        donor = encode("GT" + ("AAGT", "GAGT", "AAGG")[int(rng.integers(3))])
        ppt = np.where(rng.random(12) < 0.6, 3, 1).astype(np.uint8)
        end = encode("CAG" if rng.random() < 0.7 else "TAG")
        acceptor = np.concatenate([ppt, encode("N"), end])
        acceptor[12] = rng.integers(4)
        if strand == "+":
            write_tx(codes, a, donor, "+")
            write_tx(codes, b - len(acceptor), acceptor, "+")
        else:
            write_tx(codes, b - len(donor), donor, "-")
            write_tx(codes, a, acceptor, "-")
        protected[max(0, a - 20):a + 20] = True
        protected[max(0, b - 20):b + 20] = True


def _end_signals(rng, codes: np.ndarray, protected: np.ndarray, t: Transcript,
                 strand: str) -> None:
    if t.cds is not None:
        write_tx(codes, t.start_codon[0], encode("ATG"), strand)
        write_tx(codes, t.stop_codon[0], np.asarray(_STOPS[int(rng.integers(3))], np.uint8),
                 strand)
        protected[t.start_codon[0] - 6:t.start_codon[1] + 6] = True
        protected[t.stop_codon[0] - 6:t.stop_codon[1] + 6] = True
    if t.transcript_type in ("protein_coding", "lncRNA"):
        dist = int(rng.integers(15, 25))  # AATAAA ~20 nt upstream of the 3' end
        start = t.end - dist - 6 if strand == "+" else t.start + dist
        write_tx(codes, start, encode("AATAAA"), strand)
        protected[start - 4:start + 10] = True
    protected[t.start:t.start + 10] = True
    protected[t.end - 10:t.end] = True


def _repeat_families(rng) -> list[np.ndarray]:
    sine = _draw_bases(rng, np.full(280, 0.56, np.float32))
    sine = np.concatenate([sine, np.zeros(18, np.uint8)])  # A-rich tail
    line = _draw_bases(rng, np.full(900, 0.38, np.float32))
    simple = [np.tile(encode(unit), n) for unit, n in (("CA", 20), ("GAA", 12), ("AT", 16))]
    return [sine, line, *simple]


def _insert_repeats(rng, codes, masked, regions: RegionMap, eligible: np.ndarray,
                    fraction: float) -> None:
    families = _repeat_families(rng)
    weights = np.array([0.45, 0.35, 0.07, 0.07, 0.06])
    csum = np.concatenate([[0], np.cumsum(eligible)])
    target = int(fraction * codes.size)
    covered = 0
    n_try = 0
    while covered < target and n_try < 20 * (target // 100 + 10):
        n_try += 1
        fam = families[int(rng.choice(len(families), p=weights))]
        if fam.size > 500:  # LINE fragments of varying length, like truncated insertions
            lo = int(rng.integers(0, fam.size - 150))
            fam = fam[lo:lo + int(rng.integers(150, fam.size - lo + 1))]
        start = int(rng.integers(0, codes.size - fam.size))
        if csum[start + fam.size] - csum[start] < fam.size:
            continue
        copy = fam.copy()
        mut = rng.random(copy.size) < 0.12
        copy[mut] = rng.integers(0, 4, int(mut.sum()))
        if rng.random() < 0.5:
            copy = complement(copy[::-1])
        codes[start:start + copy.size] = copy
        masked[start:start + copy.size] = True
        covered += copy.size


def _dilate(mask: np.ndarray, margin: int) -> np.ndarray:
    csum = np.concatenate([[0], np.cumsum(mask)])
    idx = np.arange(mask.size)
    lo = np.clip(idx - margin, 0, mask.size)
    hi = np.clip(idx + margin + 1, 0, mask.size)
    return (csum[hi] - csum[lo]) > 0


def draw_genome(rng, total: int, genes: list[Gene], regions: RegionMap,
                n_gap: tuple[int, int], repeat_fraction: float = 0.08) -> GenomeDraft:
    """Draw the reference sequence with gene signals, soft-masked repeats and an N gap."""
    gc = _gc_profile(rng, total, genes, regions)
    codes = _draw_bases(rng, gc)
    _deplete_cpg(rng, codes, regions)
    masked = np.zeros(total, dtype=bool)
    protected = np.zeros(total, dtype=bool)
    cds_phase = np.full(total, -1, dtype=np.int8)
    exonic = np.isin(regions.region, [REGION_CODE[c] for c in ("5utr", "cds", "3utr",
                                                                 "ncrna_exon")])
    eligible = ~_dilate(exonic, 40)
    eligible[n_gap[0] - 100:n_gap[1] + 100] = False
    for gene in genes:  # keep transcript ends free of repeats as well
        eligible[gene.start - 50:gene.start + 50] = False
        eligible[gene.end - 50:gene.end + 50] = False
    _insert_repeats(rng, codes, masked, regions, eligible, repeat_fraction)
    for gene in genes:
        for i, t in enumerate(gene.transcripts):
            _intron_signals(rng, codes, protected, t, gene.strand)
            _end_signals(rng, codes, protected, t, gene.strand)
            if t.cds is not None:
                _remove_inframe_stops(rng, codes, t, gene.strand, cds_phase if i == 0 else None)
    codes[n_gap[0]:n_gap[1]] = N_CODE
    masked[n_gap[0]:n_gap[1]] = False
    protected |= masked
    protected[n_gap[0]:n_gap[1]] = True
    return GenomeDraft(codes, masked, protected, cds_phase)


def creates_stop(codes: np.ndarray, cds_phase: np.ndarray, start: int, end: int,
                 strand: str) -> bool:
    """True if a canonical in-frame stop codon overlaps genomic ``[start, end)``."""
    for q in range(max(0, start - 2), min(codes.size, end + 2)):
        if cds_phase[q] != 0:
            continue
        if strand == "+":
            span = np.arange(q, q + 3)
        else:
            span = np.arange(q, q - 3, -1)
        if span.min() < 0 or span.max() >= codes.size:
            continue
        if not (cds_phase[span] == np.arange(3)).all():
            continue
        codon = codes[span] if strand == "+" else complement(codes[span])
        if any(tuple(codon) == s for s in _STOPS):
            return True
    return False
