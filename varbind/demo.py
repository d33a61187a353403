"""The demo data: a simulated reference, annotation, expression table, VCF and models.

The demo model set is shipped in the package (``varbind/data/demo/models/``, built by
``varbind models build-demo``). The world it was trained on is the simulator's
``--size full --seed 0`` world; its files are looked up in ``varbind/data/demo/`` and
``varbind/data/demo/world/`` and, where the package does not ship them, simulated once
(deterministically, in seconds) into ``$VARBIND_CACHE/demo-world-full-0-<version>``
(default cache ``~/.cache/varbind``)::

    genome.fa (+ .fai)              the simulated reference (see `varbind simulate`)
    genes.gtf                       its annotation
    expression.tsv                  TPM per gene and cell type
    variants.vcf.gz (+ .tbi)        variants with known effects (truth.tsv beside it)

``--genome demo`` selects the demo reference, annotation, expression and models; the VCF
argument ``demo`` means the demo ``variants.vcf.gz``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from varbind.errors import VarbindError

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"
#: The simulated world the demo models were trained on.
DEMO_WORLD_SIZE = "full"
DEMO_WORLD_SEED = 0

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "fasta": ("genome.fa", "genome.fa.gz", "genome.fasta", "genome.fasta.gz"),
    "gtf": ("genes.gtf", "genes.gtf.gz", "genes.gff3", "genes.gff3.gz"),
    "expression": ("expression.tsv", "expression.tsv.gz", "expression.csv"),
    "models": ("models",),
    "vcf": ("variants.vcf.gz", "variants.vcf", "variants.bcf"),
    "truth": ("truth.tsv", "truth.tsv.gz"),
    "peaks": ("peaks",),
}


def demo_world_dir() -> Path:
    """Folder of the simulated demo world in the user's cache (it may not exist yet)."""
    root = os.environ.get("VARBIND_CACHE") or Path.home() / ".cache" / "varbind"
    from varbind import __version__

    return Path(root) / f"demo-world-{DEMO_WORLD_SIZE}-{DEMO_WORLD_SEED}-{__version__}"


def ensure_demo_world() -> Path:
    """Simulate the demo world into the cache if it is not there yet; return its folder."""
    target = demo_world_dir()
    if (target / "world.json").exists():
        return target
    from varbind.simulate import simulate_world

    log.info("simulating the demo world once into %s ...", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-world-", dir=target.parent))
    try:
        simulate_world(tmp, seed=DEMO_WORLD_SEED, size=DEMO_WORLD_SIZE)
        try:
            os.replace(tmp, target)
        except OSError:  # another process got there first
            if not (target / "world.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def demo_file(kind: str, required: bool = True) -> Path | None:
    """Path of one demo input (``fasta``, ``gtf``, ``expression``, ``models``, ``vcf``,
    ``truth``, ``peaks``): shipped in the package, else from the simulated demo world (built on
    first use); a missing model set raises (or gives None when not ``required``)."""
    for folder in (DEMO_DIR, DEMO_DIR / "world"):
        for name in _CANDIDATES[kind]:
            if (folder / name).exists():
                return folder / name
    if kind != "models":
        world = ensure_demo_world()
        for name in _CANDIDATES[kind]:
            if (world / name).exists():
                return world / name
    if required:
        raise VarbindError(f"the demo data has no {kind} (looked for "
                           f"{', '.join(_CANDIDATES[kind])} in {DEMO_DIR})",
                           fix="reinstall varbind, or pass your own files instead of "
                               "--genome demo")
    return None


def demo_settings() -> dict:
    """``{"fasta", "gtf", "expression", "models"}`` paths of the demo, as strings (``models``
    only when the package ships the demo model set)."""
    out = {}
    for kind in ("fasta", "gtf", "expression", "models"):
        path = demo_file(kind, required=kind != "models")
        if path is not None:
            out[kind] = str(path)
    return out
