"""Contig names across files: UCSC (``chr1``), Ensembl (``1``) and RefSeq (``NC_000001.11``).

Files of one build often name the same chromosome differently. :func:`contig_aliases` lists
the names under which a contig may appear elsewhere: with or without ``chr``, ``chrM`` /
``MT`` / ``M``, and the RefSeq accessions of the GRCh37 and GRCh38 chromosomes (only the
versions of those two assemblies, so an accession of another assembly is never matched).

:func:`check_annotation_contigs` stops a run whose annotation names none (or few) of the
contigs the variants sit on, which would otherwise mark every variant ``outside_transcript``.
"""

from __future__ import annotations

from collections.abc import Iterable

from varbind.errors import InputFileError

_CHROMOSOMES = [str(i) for i in range(1, 23)] + ["X", "Y"]
#: RefSeq accession versions of chromosomes 1-22, X, Y in GRCh37 (GRCh38 is each one higher).
_GRCH37_VERSIONS = [10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8,
                    10, 10, 9]

#: RefSeq accession -> Ensembl-style chromosome name, for GRCh37 and GRCh38.
REFSEQ_CHROMOSOMES: dict[str, str] = {"NC_012920.1": "MT"}
for _chrom, _v in zip(_CHROMOSOMES, _GRCH37_VERSIONS, strict=True):
    _number = 23 if _chrom == "X" else 24 if _chrom == "Y" else int(_chrom)
    for _version in (_v, _v + 1):
        REFSEQ_CHROMOSOMES[f"NC_{_number:06d}.{_version}"] = _chrom

_REFSEQ_OF: dict[str, list[str]] = {}
for _acc, _chrom in REFSEQ_CHROMOSOMES.items():
    _REFSEQ_OF.setdefault(_chrom, []).append(_acc)

#: Below this share of the genome length (of the contigs the VCF names) on annotated
#: contigs, the annotation and genome are taken to use different contig names.
MIN_ANNOTATED_SHARE = 0.5


def contig_aliases(name: str) -> list[str]:
    """Names under which ``name`` may appear in another file (``chr1``/``1``/``NC_000001.11``,
    ``chrM``/``MT``), ``name`` first."""
    bare = REFSEQ_CHROMOSOMES.get(name, name)
    bare = bare[3:] if bare.lower().startswith("chr") else bare
    names = [name, bare, f"chr{bare}"]
    if bare in ("M", "MT"):
        names += ["chrM", "MT", "M", "chrMT"]
    names += _REFSEQ_OF.get("MT" if bare == "M" else bare, [])
    return list(dict.fromkeys(names))


def check_annotation_contigs(genome_lengths: dict[str, int], resolve_genome,
                             resolve_annotation, vcf_contigs: Iterable[str],
                             annotation_path) -> None:
    """Raise when the annotation lacks most of the genome the VCF's contigs cover.

    Parameters
    ----------
    genome_lengths : FASTA contig name -> length
    resolve_genome, resolve_annotation : name -> that file's name for it (aliases allowed),
        or None
    vcf_contigs : contigs of the VCF (from its index, else its header, else its records)
    annotation_path : the annotation, named in the message

    Raises
    ------
    InputFileError when less than :data:`MIN_ANNOTATED_SHARE` of the length of the VCF's
    contigs that are in the FASTA lies on contigs the annotation has.
    """
    in_genome = {}
    for name in vcf_contigs:
        found = resolve_genome(name)
        if found is not None:
            in_genome[name] = genome_lengths[found]
    total = sum(in_genome.values())
    missing = {n: length for n, length in in_genome.items() if resolve_annotation(n) is None}
    if not total or sum(missing.values()) <= (1 - MIN_ANNOTATED_SHARE) * total:
        return
    largest = sorted(missing, key=lambda n: -missing[n])
    named = ", ".join(largest[:3]) + (f" and {len(largest) - 3} more" if len(largest) > 3
                                      else "")
    raise InputFileError(
        f"the annotation has no genes on {named} ({len(missing)} of {len(in_genome)} contigs "
        f"of the VCF), so every variant there would be outside transcripts",
        path=annotation_path,
        fix="use an annotation whose contig names match the FASTA and VCF (UCSC chr1, "
            "Ensembl 1 and RefSeq NC_000001.11 are matched automatically), or pass "
            "--all-strands to score both strands without genes")
