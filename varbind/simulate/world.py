"""Draw a whole simulated world and write its files (``simulate_world``)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from varbind import __version__
from varbind.errors import VarbindError
from varbind.genomics.motifs import motifs_by_rbp
from varbind.simulate import writers
from varbind.simulate.expression import EXPRESSION, draw_expression
from varbind.simulate.genome import CPG_LOSS, REGION_GC, draw_genome
from varbind.simulate.panel import (
    CELL_TYPES,
    PANELS,
    RBP_PANEL,
    SITE_CLASSES,
    SITES_PER_TIER,
    SIZES,
)
from varbind.simulate.peaks import PEAKS, draw_peaks
from varbind.simulate.sites import (
    BOUND_MODEL,
    SITE_GAP,
    Planter,
    check_sites,
    decide_bound,
    motif_model,
    name_sites,
    plant_latent,
    plant_sites,
)
from varbind.simulate.transcripts import REGION_PRECEDENCE, draw_genes, make_layout, region_map
from varbind.simulate.variants import NEUTRAL_DISTANCE, make_variants

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """Paths of a simulated world's files (all inside ``outdir``)."""

    outdir: Path
    genome: Path
    fai: Path
    gtf: Path
    expression: Path
    peaks_dir: Path
    manifest: Path
    vcf: Path
    tbi: Path
    truth: Path
    sites: Path
    world_json: Path
    peaks: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def at(cls, outdir: str | os.PathLike, rbps: list[str] | None = None) -> World:
        """The paths a world in ``outdir`` has (whether or not it was written yet); the RBPs are
        ``rbps``, else those of its ``world.json``, else the default panel's."""
        out = Path(outdir)
        names = rbps if rbps is not None else _written_rbps(out / "world.json")
        return cls(out, out / "genome.fa", out / "genome.fa.fai", out / "genes.gtf",
                   out / "expression.tsv", out / "peaks", out / "peaks" / "manifest.tsv",
                   out / "variants.vcf.gz", out / "variants.vcf.gz.tbi", out / "truth.tsv",
                   out / "sites.tsv", out / "world.json",
                   {n: out / "peaks" / f"{n}.narrowPeak.gz" for n in names})


def _written_rbps(world_json: Path) -> list[str]:
    """The RBP names of a written world (the default panel's where none is written yet)."""
    if not world_json.is_file():
        return [s.name for s in RBP_PANEL]
    return [r["name"] for r in json.loads(world_json.read_text())["rbps"]]


def simulate_world(outdir: str | os.PathLike, seed: int = 0, size: str = "full",
                   panel: str = "default") -> World:
    """Draw a simulated world from ``numpy.random.default_rng(seed)`` and write it to ``outdir``.

    Parameters
    ----------
    outdir : directory to write into (created if missing; existing world files are replaced)
    seed : the only source of randomness; the same seed gives the same bytes in every file
    size : ``tiny`` (tests, ~250 kb), ``mini`` (~600 kb), ``small`` (~1 Mb), ``medium``
        (~2.4 Mb) or ``full`` (benchmarks, demo, ~4 Mb)
    panel : the RBPs (``varbind.simulate.panel.PANELS``): ``default`` or ``alt``
    """
    if size not in SIZES:
        raise VarbindError(f"unknown world size {size!r}",
                           fix=f"use one of {', '.join(SIZES)}")
    if panel not in PANELS:
        raise VarbindError(f"unknown RBP panel {panel!r}", fix=f"use one of {', '.join(PANELS)}")
    rbp_panel = PANELS[panel]
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VarbindError(f"seed must be a non-negative integer, got {seed!r}")
    spec = SIZES[size]
    rng = np.random.default_rng(int(seed))
    world = World.at(outdir, [r.name for r in rbp_panel])

    layout = make_layout(spec.contigs)
    gap_start = int(layout.offsets[0] + layout.lengths[0] // 2)
    n_gap = (gap_start, gap_start + spec.n_gap)
    genes = draw_genes(rng, layout, n_gap)
    regions = region_map(genes, layout.total)
    draft = draw_genome(rng, layout.total, genes, regions, n_gap)
    tpm = draw_expression(rng, genes)
    log_tpm = {c: np.log1p(v) for c, v in tpm.items()}
    log.info("laid out %d genes on %d contigs (%d nt)", len(genes), len(layout.names),
             layout.total)

    by_rbp = motifs_by_rbp()
    models = []
    for rbp in rbp_panel:
        motif = next(m for m in by_rbp[rbp.name] if m.id == rbp.motif_id)
        models.append(motif_model(rng, rbp, motif))
    log.info("planting binding sites for %d RBPs", len(models))
    planter = Planter(rng, draft, regions, genes)
    n_sites = [max(20, round(SITES_PER_TIER[r.tier] * spec.scale)) for r in rbp_panel]
    sites = plant_sites(rng, planter, models, n_sites)
    decide_bound(rng, sites, models, log_tpm)
    n_gain = spec.variant_counts["gain_snv"]
    per_rbp = [int(np.ceil(1.5 * n_gain / len(models)))] * len(models)
    latent = plant_latent(rng, planter, models, per_rbp, log_tpm)
    all_sites = sites + latent
    name_sites(all_sites)
    check_sites(draft.codes, all_sites, models)

    log.info("planted %d sites (%d bound) and %d latent sites", len(sites),
             sum(s.bound for s in sites), len(latent))
    peak_tables = {}
    transcribed = np.flatnonzero(regions.region > 0)
    strands = np.array([g.strand for g in genes])
    for r, model in enumerate(models):
        idx = [i for i, s in enumerate(all_sites) if s.rbp == r and s.kind == "site" and s.bound]
        bound = [all_sites[i] for i in idx]
        expr = log_tpm[model.spec.cell_line]
        blocked = np.sort([s.start for s in all_sites if s.rbp == r])
        cand = transcribed[rng.integers(0, transcribed.size, 20 * (len(idx) + 10))]
        peak_tables[model.spec.name] = draw_peaks(
            rng, bound, np.asarray(idx), np.array([expr[s.gene] for s in bound]), cand,
            strands[regions.gene[cand]], blocked)

    log.info("drawing variants")
    records = make_variants(rng, draft, regions, genes, models, all_sites, spec.variant_counts)
    ids = [f"simvar{i + 1:05d}" for i in range(len(records))]

    world.outdir.mkdir(parents=True, exist_ok=True)
    world.peaks_dir.mkdir(exist_ok=True)
    writers.write_fasta(world.genome, layout, draft.codes, draft.masked)
    writers.write_gtf(world.gtf, layout, genes)
    writers.write_expression(world.expression, genes, tpm)
    manifest = []
    for model in models:
        name = model.spec.name
        writers.write_peaks(world.peaks[name], name, layout, peak_tables[name])
        manifest.append((name, world.peaks[name].name, model.spec.cell_line))
    writers.write_manifest(world.manifest, manifest)
    writers.write_variants(world.vcf, world.truth, layout, genes, records, ids)
    writers.write_sites(world.sites, layout, genes, draft.codes, all_sites, models)
    writers.write_json(world.world_json, _description(seed, size, panel, layout, genes, models,
                                                      all_sites, peak_tables, records))
    for path in [world.genome, world.fai, world.gtf, world.expression, world.manifest, world.vcf,
                 world.tbi, world.truth, world.sites, world.world_json, *world.peaks.values()]:
        path.chmod(0o644)  # temporary files are created 0600
    log.info("wrote simulated world to %s", world.outdir)
    return world


def _description(seed, size, panel, layout, genes, models, sites, peak_tables,
                 records) -> dict:
    rbps = []
    for r, m in enumerate(models):
        mine = [s for s in sites if s.rbp == r and s.kind == "site"]
        peaks = peak_tables[m.spec.name]
        rbps.append({
            "name": m.spec.name, "motif_id": m.motif.id, "consensus": m.motif.consensus(),
            "width": m.width, "cell_line": m.spec.cell_line, "tier": m.spec.tier,
            "region_preference": m.spec.preference,
            "score_max": m.max_score, "score_site_min": m.t_hi, "score_broken_max": m.t_lo,
            "sites": len(mine), "sites_bound": sum(s.bound for s in mine),
            "latent_sites": sum(1 for s in sites if s.rbp == r and s.kind == "latent"),
            "peaks": int(peaks.start.size), "false_positive_peaks":
                int((peaks.true_site < 0).sum()),
        })
    effects: dict[str, int] = {}
    categories: dict[str, int] = {}
    for rec in records:
        for row in rec.truth:
            effects[row.effect] = effects.get(row.effect, 0) + 1
            categories[row.category] = categories.get(row.category, 0) + 1
    return {
        "varbind_version": __version__, "seed": int(seed), "size": size, "panel": panel,
        "contigs": {n: int(L) for n, L in zip(layout.names, layout.lengths, strict=True)},
        "cell_types": list(CELL_TYPES),
        "genes": len(genes),
        "transcripts": sum(len(g.transcripts) for g in genes),
        "rbps": rbps,
        "variants": {"records": len(records), "alleles_by_effect": effects,
                     "alleles_by_category": categories},
        "parameters": {
            "bound_model": BOUND_MODEL, "site_gap": SITE_GAP, "site_classes": list(SITE_CLASSES),
            "region_precedence": list(REGION_PRECEDENCE), "region_gc": REGION_GC,
            "cpg_loss": CPG_LOSS, "expression": EXPRESSION, "peaks": PEAKS,
            "neutral_distance": NEUTRAL_DISTANCE,
            # the text of earlier releases' world.json (the class is in varbind.genomics.motifs)
            "motif_scores": "log2 odds vs uniform background (varbind.motifs.Motif.log_odds)",
            "coordinates": "sites.tsv and narrowPeak: 0-based half-open; truth/VCF pos: 1-based",
        },
    }
