"""The simulated world's fixed design: RBP panel, region preferences and size presets.

Everything random is drawn later from ``numpy.random.default_rng(seed)``; this module holds
only the constants that define what kind of world is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Transcribed region classes a site can sit in (names of varbind.encoding.REGION_CLASSES).
SITE_CLASSES: tuple[str, ...] = ("5utr", "cds", "3utr", "ncrna_exon", "intron")

#: Cell types in ``expression.tsv``.
CELL_TYPES: tuple[str, ...] = ("SIM1", "SIM2")


@dataclass(frozen=True)
class RBPSpec:
    """One simulated RBP.

    name : RBP name as in the packaged RNAcompete set; motif_id : its RNAcompete motif
    preference : weight (0, 1] per site class (1 = most preferred); tier : ``low`` /
    ``medium`` / ``high`` abundance (number of planted sites, hence peaks); cell_line : the
    cell type whose expression drives its binding and whose peaks are written.
    """

    name: str
    motif_id: str
    preference: dict[str, float]
    tier: str
    cell_line: str = "SIM1"


def _pref(utr5: float, cds: float, utr3: float, ncrna: float, intron: float) -> dict[str, float]:
    return dict(zip(SITE_CLASSES, (utr5, cds, utr3, ncrna, intron), strict=True))


#: Ten RBPs whose RNAcompete motifs are pairwise distinct (max column-wise similarity over
#: all offsets with >= 5 overlapping columns below 0.62; near-duplicates such as HNRNPK/PCBP2,
#: RBFOX1/MBNL1 and a second poly-U motif were left out).
RBP_PANEL: tuple[RBPSpec, ...] = (
    RBPSpec("HuR", "RNCMPT00032", _pref(0.10, 0.15, 1.00, 0.30, 0.40), "medium"),
    RBPSpec("QKI", "RNCMPT00047", _pref(0.10, 0.20, 1.00, 0.30, 0.60), "high"),
    RBPSpec("SRSF1", "RNCMPT00109", _pref(0.50, 1.00, 0.30, 0.60, 0.30), "high"),
    RBPSpec("PCBP2", "RNCMPT00044", _pref(0.70, 0.60, 0.90, 0.50, 0.30), "medium"),
    RBPSpec("RBFOX1", "RNCMPT00168", _pref(0.10, 0.15, 0.40, 0.20, 1.00), "high"),
    RBPSpec("KHDRBS1", "RNCMPT00169", _pref(0.10, 0.20, 0.50, 0.30, 1.00), "medium"),
    RBPSpec("YBX1", "RNCMPT00083", _pref(0.80, 1.00, 0.40, 0.40, 0.10), "medium"),
    RBPSpec("ESRP2", "RNCMPT00150", _pref(0.10, 0.30, 0.20, 0.20, 1.00), "low", "SIM2"),
    RBPSpec("MSI1", "RNCMPT00041", _pref(0.10, 0.20, 1.00, 0.30, 0.30), "low", "SIM2"),
    RBPSpec("BRUNOL5", "RNCMPT00166", _pref(0.10, 0.10, 1.00, 0.30, 0.80), "low"),
)

#: Ten other RBPs (``varbind simulate --panel alt``), none of them in ``RBP_PANEL``, to check that
#: what was chosen on the default panel holds on other motifs. Unlike the default panel's, these
#: motifs are not all distinct: PTBP1, HNRNPC, TIA1 and CPEB2 all bind U-rich motifs (consensus
#: CTTTTCT, ATTTTTT, TTTTTTC, CTTTTTT), so one RBP's sites often look like another's, as for
#: many RBPs of an eCLIP panel.
ALT_PANEL: tuple[RBPSpec, ...] = (
    RBPSpec("PTBP1", "RNCMPT00268", _pref(0.20, 0.10, 0.60, 0.30, 1.00), "high"),
    RBPSpec("HNRNPC", "RNCMPT00025", _pref(0.10, 0.10, 0.70, 0.30, 1.00), "medium"),
    RBPSpec("MBNL1", "RNCMPT00038", _pref(0.20, 0.30, 1.00, 0.30, 0.80), "high"),
    RBPSpec("SRSF2", "RNCMPT00072", _pref(0.60, 1.00, 0.20, 0.70, 0.20), "medium"),
    RBPSpec("TIA1", "RNCMPT00165", _pref(0.10, 0.10, 0.60, 0.20, 1.00), "low"),
    RBPSpec("HNRNPA1", "RNCMPT00022", _pref(0.30, 0.40, 0.50, 0.60, 1.00), "medium", "SIM2"),
    RBPSpec("LIN28A", "RNCMPT00036", _pref(0.50, 1.00, 0.60, 0.30, 0.10), "low"),
    RBPSpec("IGF2BP2", "RNCMPT00033", _pref(0.20, 0.30, 1.00, 0.40, 0.20), "high", "SIM2"),
    RBPSpec("SNRPA", "RNCMPT00071", _pref(0.30, 0.20, 0.30, 1.00, 0.50), "low"),
    RBPSpec("CPEB2", "RNCMPT00012", _pref(0.10, 0.10, 1.00, 0.20, 0.30), "medium"),
)

#: Panels by name (``varbind simulate --panel``); ``default`` is the one every shipped world uses.
PANELS: dict[str, tuple[RBPSpec, ...]] = {"default": RBP_PANEL, "alt": ALT_PANEL}

#: Planted sites per RBP in the ``full`` world, by tier (about 40% end up bound). The low
#: tier has enough sites (hence test positives) for a stable held-out AUROC, and the tiers
#: are spaced so that the low < medium < high order also holds for peak counts.
SITES_PER_TIER: dict[str, int] = {"low": 800, "medium": 2000, "high": 3600}


@dataclass(frozen=True)
class SizeSpec:
    """How big a world to draw.

    contigs : contig lengths in nt; scale : multiplier on site and variant counts relative to
    ``full``; n_gap : length of the N gap on the first contig.
    """

    contigs: tuple[int, ...]
    scale: float
    n_gap: int
    variant_counts: dict[str, int] = field(default_factory=dict)


def _variant_counts(scale: float) -> dict[str, int]:
    full = {
        "loss_snv": 700, "loss_mnv": 60, "loss_del": 120, "loss_multiallelic": 60,
        "gain_snv": 500,
        "neutral_snv": 1500, "neutral_intergenic": 250, "neutral_indel": 200,
        "neutral_mnv": 80, "neutral_multiallelic": 80, "neutral_unbound_site": 150,
    }
    return {k: max(4, round(v * scale)) for k, v in full.items()}


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec((110_000, 80_000, 60_000), 0.0625, 2_000, _variant_counts(0.0625)),
    "mini": SizeSpec((240_000, 180_000, 120_000, 60_000), 0.15, 3_000, _variant_counts(0.15)),
    "small": SizeSpec((400_000, 300_000, 200_000, 100_000), 0.25, 5_000, _variant_counts(0.25)),
    "medium": SizeSpec((720_000, 600_000, 480_000, 360_000, 240_000), 0.6, 8_000,
                       _variant_counts(0.6)),
    "full": SizeSpec((900_000, 800_000, 700_000, 600_000, 500_000, 300_000, 200_000), 1.0,
                     10_000, _variant_counts(1.0)),
}
