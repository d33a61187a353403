"""The bundled demo data: a simulated reference, annotation, expression table, VCF and models.

It lives in the package under ``varbind/data/demo/``::

    genome.fa[.gz] (+ .fai, .gzi)   the simulated reference (see `varbind simulate`)
    genes.gtf[.gz]                  its annotation
    expression.tsv                  TPM per gene and cell type
    variants.vcf.gz (+ .tbi)        variants with known effects (truth.tsv beside it)
    models/                         the demo model set (one bundle per folder)

``--genome demo`` selects the first four inputs' reference, annotation, expression and models;
the VCF argument ``demo`` means the bundled ``variants.vcf.gz``.
"""

from __future__ import annotations

from pathlib import Path

from varbind.errors import VarbindError

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "fasta": ("genome.fa", "genome.fa.gz", "genome.fasta", "genome.fasta.gz"),
    "gtf": ("genes.gtf", "genes.gtf.gz", "genes.gff3", "genes.gff3.gz"),
    "expression": ("expression.tsv", "expression.tsv.gz", "expression.csv"),
    "models": ("models",),
    "vcf": ("variants.vcf.gz", "variants.vcf", "variants.bcf"),
    "truth": ("truth.tsv", "truth.tsv.gz"),
}


def demo_file(kind: str, required: bool = True) -> Path | None:
    """Path of one demo input (``fasta``, ``gtf``, ``expression``, ``models``, ``vcf``,
    ``truth``); a missing one raises (or gives None when not ``required``)."""
    for name in _CANDIDATES[kind]:
        path = DEMO_DIR / name
        if path.exists():
            return path
    if required:
        raise VarbindError(f"the bundled demo data has no {kind} (looked for "
                           f"{', '.join(_CANDIDATES[kind])} in {DEMO_DIR})",
                           fix="reinstall varbind, or pass your own files instead of "
                               "--genome demo")
    return None


def demo_settings() -> dict:
    """``{"fasta", "gtf", "expression", "models"}`` paths of the demo, as strings."""
    out = {}
    for kind in ("fasta", "gtf", "expression", "models"):
        path = demo_file(kind, required=kind in ("fasta", "models"))
        if path is not None:
            out[kind] = str(path)
    return out
