"""Writers for the simulated world's files (deterministic bytes for a given world)."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pysam

from varbind import __version__
from varbind.encoding import decode
from varbind.files import atomic_output
from varbind.simulate.genome import read_tx
from varbind.simulate.peaks import PeakTable
from varbind.simulate.sites import MotifModel, Site
from varbind.simulate.transcripts import Gene, Layout, transcript_classes
from varbind.simulate.variants import PlantedRecord

_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def write_fasta(path: Path, layout: Layout, codes: np.ndarray, masked: np.ndarray) -> None:
    """FASTA with 60-nt lines, soft-masked bases in lower case, and its ``.fai``."""
    letters = _LETTERS[codes].copy()
    letters[masked] += 32  # lower case
    with atomic_output(path, suffixes=(".fai",)) as tmp:
        with open(tmp, "wb") as fh:
            for name, off, length in zip(layout.names, layout.offsets, layout.lengths,
                                         strict=True):
                fh.write(f">{name}\n".encode())
                seq = letters[off:off + length].tobytes()
                fh.write(b"\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + b"\n")
        pysam.faidx(str(tmp))


def _attrs(pairs: list[tuple[str, str | int]]) -> str:
    return " ".join(f'{k} {v};' if isinstance(v, int) else f'{k} "{v}";' for k, v in pairs)


def _gtf_line(chrom, feature, start, end, strand, attrs, frame=".") -> str:
    return "\t".join([chrom, "SIMULATED", feature, str(start + 1), str(end), ".", strand,
                      str(frame), _attrs(attrs)]) + "\n"


def gtf_lines(layout: Layout, genes: list[Gene]):
    """GENCODE-style GTF lines (1-based closed coordinates)."""
    for gene in genes:
        chrom = layout.names[gene.contig]
        off = int(layout.offsets[gene.contig])
        g_attrs = [("gene_id", gene.gene_id), ("gene_type", gene.gene_type),
                   ("gene_name", gene.gene_name), ("level", 2)]
        yield _gtf_line(chrom, "gene", gene.start - off, gene.end - off, gene.strand, g_attrs)
        for k, t in enumerate(gene.transcripts):
            t_attrs = g_attrs[:3] + [("transcript_id", t.transcript_id),
                                     ("transcript_type", t.transcript_type),
                                     ("transcript_name", f"{gene.gene_name}-{201 + k}"),
                                     ("level", 2)] + [("tag", tag) for tag in t.tags]
            yield _gtf_line(chrom, "transcript", t.start - off, t.end - off, gene.strand,
                            t_attrs)
            exons = t.exons if gene.strand == "+" else t.exons[::-1]
            cds_done = 0
            utr = []
            for n, (a, b) in enumerate(exons, start=1):
                e_attrs = t_attrs[:6] + [("exon_number", n),
                                         ("exon_id", f"{t.transcript_id}.e{n}"), ("level", 2)]
                yield _gtf_line(chrom, "exon", a - off, b - off, gene.strand, e_attrs)
                if t.cds is None:
                    continue
                lo, hi = max(a, t.cds[0]), min(b, t.cds[1])
                if lo < hi:
                    frame = (3 - cds_done % 3) % 3
                    cds_done += hi - lo
                    yield _gtf_line(chrom, "CDS", lo - off, hi - off, gene.strand, e_attrs,
                                    frame)
                for codon, name in ((t.start_codon, "start_codon"), (t.stop_codon, "stop_codon")):
                    if a <= codon[0] and codon[1] <= b:
                        yield _gtf_line(chrom, name, codon[0] - off, codon[1] - off, gene.strand,
                                        e_attrs, 0)
                for s, e, cls in transcript_classes(t, gene.strand):
                    if cls in ("5utr", "3utr") and a <= s and e <= b:
                        utr.append((s, e, e_attrs))
            for s, e, attrs in utr:
                yield _gtf_line(chrom, "UTR", s - off, e - off, gene.strand, attrs)


def write_gtf(path: Path, layout: Layout, genes: list[Gene]) -> None:
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write("##description: varbind simulated world (GENCODE-style)\n")
        fh.write(f"##provider: varbind {__version__}\n##format: gtf\n")
        fh.writelines(gtf_lines(layout, genes))


def write_expression(path: Path, genes: list[Gene], tpm: dict[str, np.ndarray]) -> None:
    cells = list(tpm)
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write("\t".join(["gene_id", "gene_name", *cells]) + "\n")
        for i, g in enumerate(genes):
            fh.write("\t".join([g.gene_id, g.gene_name, *(f"{tpm[c][i]:.3f}" for c in cells)])
                     + "\n")


def _gzip_text(path: Path, text: str) -> None:
    with atomic_output(path) as tmp, open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(text.encode())


def write_peaks(path: Path, rbp: str, layout: Layout, peaks: PeakTable) -> None:
    """ENCODE narrowPeak (0-based), gzip-compressed with a fixed header-free stream."""
    contig, local = layout.locate(peaks.start)
    buf = io.StringIO()
    for i in range(peaks.start.size):
        score = int(min(1000, round(peaks.signal[i] * 100)))
        end = local[i] + (peaks.end[i] - peaks.start[i])
        buf.write(f"{layout.names[contig[i]]}\t{local[i]}\t{end}\t{rbp}_peak{i + 1}\t{score}\t"
                  f"{peaks.strand[i]}\t{peaks.signal[i]:.3f}\t{peaks.pvalue[i]:.3f}\t"
                  f"{peaks.qvalue[i]:.3f}\t{peaks.summit[i]}\n")
    _gzip_text(path, buf.getvalue())


def write_manifest(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write("rbp\tpath\tcell_line\n")
        for row in rows:
            fh.write("\t".join(row) + "\n")


def _site_cols(site: Site | None, layout: Layout) -> tuple[str, str]:
    if site is None:
        return ".", "."
    _, local = layout.locate(site.start)
    return str(int(local)), str(int(local) + site.end - site.start)


def write_variants(vcf_path: Path, truth_path: Path, layout: Layout, genes: list[Gene],
                   records: list[PlantedRecord], ids: list[str]) -> None:
    """bgzipped, tabix-indexed VCFv4.2 and the truth table (one row per ALT)."""
    header = ["##fileformat=VCFv4.2", f"##source=varbind.simulate {__version__}",
              "##reference=genome.fa"]
    header += [f"##contig=<ID={n},length={int(L)}>" for n, L in zip(layout.names, layout.lengths,
                                                                     strict=True)]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    body, truth = [], []
    truth.append("\t".join(["chrom", "pos", "id", "ref", "alt", "effect", "rbp", "strand",
                            "gene_id", "region", "site_start", "site_end", "category"]))
    for rec, vid in zip(records, ids, strict=True):
        c, local = layout.locate(rec.pos)
        chrom, pos = layout.names[int(c)], int(local) + 1
        ref = decode(rec.ref)
        alts = [decode(a) for a in rec.alts]
        body.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{','.join(alts)}\t.\tPASS\t.")
        gene_id = genes[rec.gene].gene_id if rec.gene >= 0 else "."
        for alt, row in zip(alts, rec.truth, strict=True):
            s0, s1 = _site_cols(row.site, layout)
            truth.append("\t".join([chrom, str(pos), vid, ref, alt, row.effect, row.rbp,
                                    rec.strand, gene_id, rec.region, s0, s1, row.category]))
    with atomic_output(vcf_path, suffixes=(".tbi",)) as tmp:
        plain = Path(str(tmp) + ".txt")
        plain.write_text("\n".join(header + body) + "\n")
        try:
            pysam.tabix_compress(str(plain), str(tmp), force=True)
        finally:
            plain.unlink()
        pysam.tabix_index(str(tmp), preset="vcf", force=True)
    with atomic_output(truth_path) as tmp:
        Path(tmp).write_text("\n".join(truth) + "\n")


def write_sites(path: Path, layout: Layout, genes: list[Gene], codes: np.ndarray,
                sites: list[Site], models: list[MotifModel]) -> None:
    cols = ["rbp", "chrom", "start", "end", "strand", "gene_id", "region", "bound", "score",
            "site_id", "kind", "p_bound", "sequence"]
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        fh.write("\t".join(cols) + "\n")
        for s in sites:
            c, local = layout.locate(s.start)
            seq = decode(read_tx(codes, s.start, s.end, s.strand))
            fh.write("\t".join([models[s.rbp].spec.name, layout.names[int(c)], str(int(local)),
                                str(int(local) + s.end - s.start), s.strand,
                                genes[s.gene].gene_id, s.region, str(int(s.bound)),
                                f"{s.score:.3f}", s.site_id, s.kind, f"{s.p_bound:.4f}", seq])
                     + "\n")


def write_json(path: Path, payload: dict) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)
