"""``{{ demo_world }}``: the shipped demo world described from its own files.

Reads ``varbind/data/demo/world/`` (``world.json``, ``genes.gtf.gz``, ``expression.tsv``,
``truth.tsv.gz``, ``peaks/``), so the simulated-world page can never disagree with the data
that ships.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

WORLD = Path(__file__).resolve().parents[2] / "varbind" / "data" / "demo" / "world"


def _genes(world: Path) -> pd.DataFrame:
    """Gene rows of the GTF: ``strand`` and ``gene_type``, (genes, 2)."""
    gtf = pd.read_csv(world / "genes.gtf.gz", sep="\t", comment="#", header=None,
                      usecols=[2, 6, 8], names=["feature", "strand", "attributes"])
    genes = gtf[gtf["feature"] == "gene"]
    kind = genes["attributes"].str.extract(r'gene_type "([^"]+)"')[0]
    return pd.DataFrame({"strand": genes["strand"].to_numpy(), "gene_type": kind.to_numpy()})


def _genes_line(meta: dict, world: Path) -> str:
    genes = _genes(world)
    kinds = genes["gene_type"].value_counts()
    strands = genes["strand"].value_counts()
    expression = pd.read_csv(world / "expression.tsv", sep="\t")
    off = ", ".join(f"{(expression[c] == 0).mean():.0%} of genes unexpressed in `{c}`"
                    for c in meta["cell_types"])
    mb = sum(meta["contigs"].values()) / 1e6
    kind_text = ", ".join(f"{n} {k.replace('protein_coding', 'coding')}" for k, n in kinds.items())
    return (f"{len(meta['contigs'])} contigs ({mb:.1f} Mb), {meta['genes']} genes ({kind_text}; "
            f"{strands.get('+', 0)} on `+`, {strands.get('-', 0)} on `-`), "
            f"{meta['transcripts']} transcripts; {off}.")


def _rbp_table(meta: dict) -> str:
    head = ("| RBP | tier | sites | bound | latent | peaks | false-positive peaks |\n"
            "|-----|------|-------|-------|--------|-------|----------------------|")
    rows = [f"| {r['name']} | {r['tier']} | {r['sites']} | {r['sites_bound']} | "
            f"{r['latent_sites']} | {r['peaks']} | {r['false_positive_peaks']} |"
            for r in meta["rbps"]]
    return "\n".join([head, *rows])


def _singleton_line(world: Path) -> str:
    from varbind.genomics.peaks import PeakFilters, apply_filters, read_peak_file

    total = dropped = 0
    for path in sorted((world / "peaks").glob("*.narrowPeak.gz")):
        peaks = read_peak_file(path)
        total += len(peaks)
        dropped += apply_filters(peaks, PeakFilters.polaris()).dropped.get("singleton", 0)
    return (f"POLARIS's singleton filter removes {dropped:,} of the {total:,} peaks "
            f"({dropped / total:.1%}).")


def _variants_line(meta: dict, world: Path) -> str:
    truth = pd.read_csv(world / "truth.tsv.gz", sep="\t", dtype=str)
    effects = meta["variants"]["alleles_by_effect"]
    records = truth.drop_duplicates(["chrom", "pos", "id"])
    multi = int((truth.groupby("id").size() > 1).sum())
    indels = int((truth["ref"].str.len() != truth["alt"].str.len()).sum())
    mnvs = int(((truth["ref"].str.len() == truth["alt"].str.len())
                & (truth["ref"].str.len() > 1)).sum())
    strand = truth["strand"].value_counts()
    return (f"{len(records):,} VCF records, {len(truth):,} ALT alleles: {effects['loss']:,} loss, "
            f"{effects['gain']:,} gain, {effects['neutral']:,} neutral "
            f"({strand.get('+', 0):,} on `+` genes, {strand.get('-', 0):,} on `-` genes, "
            f"{strand.get('.', 0):,} intergenic; {multi} multi-allelic records, {indels} indel "
            f"and {mnvs} MNV alleles).")


def render(world: Path = WORLD) -> str:
    """Markdown: the genes line, the per-RBP table, the peak filter and the variant make-up."""
    meta = json.loads((world / "world.json").read_text())
    source = (f"*Read from the shipped `varbind/data/demo/world/` "
              f"(`--size {meta['size']} --seed {meta['seed']}`) when the docs are built.*")
    return "\n\n".join([source, _genes_line(meta, world), _rbp_table(meta),
                        _singleton_line(world), _variants_line(meta, world)])
