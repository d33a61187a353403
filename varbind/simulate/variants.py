"""Variants with known effects: losses at bound sites, gains that complete latent sites,
and neutral variants away from every site (or at unbound sites)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from varbind.encoding import N_CODE, REGION_CLASSES
from varbind.simulate.genome import GenomeDraft, _dilate, complement, read_tx
from varbind.simulate.sites import MotifModel, Site, _break_one
from varbind.simulate.transcripts import Gene, RegionMap

#: Neutral variants keep at least this distance (nt) from every planted site.
NEUTRAL_DISTANCE = 30
#: Intergenic neutral variants keep at least this distance from every gene.
INTERGENIC_DISTANCE = 5_000
#: Neutral variants leave every RBP's best window touching them below t_hi - QUIET_MARGIN.
QUIET_MARGIN = 1.5
#: Variant records keep at least this distance from each other.
RECORD_GAP = 12


@dataclass
class TruthRow:
    effect: str
    rbp: str = "."
    site: Site | None = None
    category: str = ""


@dataclass
class PlantedRecord:
    """One VCF record: pos global 0-based of the first REF base; ref/alts genomic codes."""

    pos: int
    ref: np.ndarray
    alts: list[np.ndarray]
    truth: list[TruthRow] = field(default_factory=list)
    strand: str = "."
    gene: int = -1
    region: str = "none"


def _dilate_mask(n: int, starts, ends, margin: int) -> np.ndarray:
    diff = np.zeros(n + 1, dtype=np.int64)
    s = np.clip(np.asarray(starts, dtype=np.int64) - margin, 0, n)
    e = np.clip(np.asarray(ends, dtype=np.int64) + margin, 0, n)
    np.add.at(diff, s, 1)
    np.add.at(diff, e, -1)
    return np.cumsum(diff[:-1]) > 0


def left_normalize(codes: np.ndarray, pos: int, ref: np.ndarray, alt: np.ndarray):
    """Left-align a simple indel written with one anchor base (as ``bcftools norm`` does).

    pos : global 0-based position of the anchor; ref/alt : codes, one of them the anchor only.
    Returns the normalised ``(pos, ref, alt)``.
    """
    if len(ref) > 1 and len(alt) == 1:  # deletion of [s, s + k)
        s, k = pos + 1, len(ref) - 1
        while s - 1 > 0 and codes[s - 1] == codes[s + k - 1] and codes[s - 2] != N_CODE:
            s -= 1
        return s - 1, codes[s - 1:s + k].copy(), codes[s - 1:s].copy()
    if len(alt) > 1 and len(ref) == 1:  # insertion of ``ins`` after pos
        ins = alt[1:].copy()
        while pos > 0 and codes[pos] == ins[-1] and codes[pos - 1] != N_CODE:
            ins = np.concatenate([ins[-1:], ins[:-1]])
            pos -= 1
        return pos, codes[pos:pos + 1].copy(), np.concatenate([codes[pos:pos + 1], ins])
    return pos, ref, alt


class VariantMaker:
    """Builds records against the final genome, keeping them apart from each other."""

    def __init__(self, rng, draft: GenomeDraft, regions: RegionMap, genes: list[Gene],
                 models: list[MotifModel], sites: list[Site]):
        self.rng = rng
        self.codes = draft.codes
        self.regions = regions
        self.genes = genes
        self.models = models
        self.sites = sites
        n = self.codes.size
        self.used = np.zeros(n, dtype=bool)
        self.near_site = _dilate_mask(n, [s.start for s in sites], [s.end for s in sites],
                                      NEUTRAL_DISTANCE)
        self.near_gene = _dilate_mask(n, [g.start for g in genes], [g.end for g in genes],
                                      INTERGENIC_DISTANCE)
        # gene signals (splice sites, codons, poly(A) signals) and the N gap stay untouched
        self.bad = _dilate(((self.codes == N_CODE) | (draft.protected & ~draft.masked)), 8)
        self.records: list[PlantedRecord] = []

    # --- scoring helpers -------------------------------------------------------------
    def _windows(self, pos: int, ref_len: int, alt: np.ndarray, strand: str, flank: int):
        ref = self.codes[pos - flank:pos + ref_len + flank]
        mut = np.concatenate([self.codes[pos - flank:pos], alt,
                              self.codes[pos + ref_len:pos + ref_len + flank]])
        if strand == "-":
            ref, mut = complement(ref[::-1]), complement(mut[::-1])
        return ref, mut

    def scores(self, model: MotifModel, pos: int, ref_len: int, alt: np.ndarray, strand: str):
        """Best score of windows touching the variant, before and after (transcript strand)."""
        ref, mut = self._windows(pos, ref_len, alt, strand, model.width - 1)
        return model.best(ref), model.best(mut)

    def site_best_after(self, model: MotifModel, site: Site, pos: int, ref_len: int,
                        alt: np.ndarray) -> float:
        """Best score of any window overlapping the site (or the variant) after the variant."""
        flank = model.width - 1
        lo = min(site.start, pos) - flank
        hi = max(site.end, pos + ref_len) + flank
        mut = np.concatenate([self.codes[lo:pos], alt, self.codes[pos + ref_len:hi]])
        if site.strand == "-":
            mut = complement(mut[::-1])
        return model.best(mut)

    def _quiet(self, pos: int, ref_len: int, alts: list[np.ndarray], strand: str) -> bool:
        """No RBP has a near-strong window touching the variant, before or after."""
        for model in self.models:
            mid = model.t_hi - QUIET_MARGIN
            for alt in alts:
                a, b = self.scores(model, pos, ref_len, alt, strand)
                if max(a, b) >= mid:
                    return False
        return True

    def _no_side_gain(self, pos: int, ref_len: int, alts: list[np.ndarray], strand: str,
                      skip: int) -> bool:
        """No other RBP gains a strong window from the variant."""
        for r, model in enumerate(self.models):
            if r == skip:
                continue
            for alt in alts:
                a, b = self.scores(model, pos, ref_len, alt, strand)
                if b >= model.t_hi and a < model.t_hi:
                    return False
        return True

    def _free(self, lo: int, hi: int) -> bool:
        return not self.used[lo - RECORD_GAP:hi + RECORD_GAP].any()

    def _add(self, rec: PlantedRecord) -> None:
        end = rec.pos + max(len(rec.ref), 1)
        self.used[rec.pos:end] = True
        if rec.gene >= 0:
            rec.strand = self.genes[rec.gene].strand
            rec.region = REGION_CLASSES[int(self.regions.region[rec.pos])]
        self.records.append(rec)

    def _genomic(self, site: Site, offset: int) -> int:
        return site.start + offset if site.strand == "+" else site.end - 1 - offset

    def _gbase(self, site: Site, base: int) -> int:
        return base if site.strand == "+" else 3 - base

    # --- losses --------------------------------------------------------------------------
    def _site_pool(self, bound: bool, kind: str = "site") -> list[Site]:
        pool = [s for s in self.sites if s.kind == kind and s.bound == bound]
        order = self.rng.permutation(len(pool))
        return [pool[i] for i in order]

    def loss(self, counts: dict[str, int]) -> None:
        pool = iter(self._site_pool(True))
        makers = [("loss_snv", self._loss_snv), ("loss_mnv", self._loss_mnv),
                  ("loss_del", self._loss_del), ("loss_multiallelic", self._loss_multi)]
        for category, make in makers:
            made = 0
            for site in pool:
                if made >= counts.get(category, 0):
                    break
                if not self._free(site.start, site.end):
                    continue
                rec = make(site)
                if rec is not None:
                    self._add(rec)
                    made += 1

    def _confirm_loss(self, site: Site, pos: int, ref_len: int, alt: np.ndarray) -> bool:
        model = self.models[site.rbp]
        a, _ = self.scores(model, pos, ref_len, alt, site.strand)
        after = self.site_best_after(model, site, pos, ref_len, alt)
        return (a >= model.t_hi and after <= model.t_lo
                and self._no_side_gain(pos, ref_len, [alt], site.strand, site.rbp))

    def _loss_snv(self, site: Site) -> PlantedRecord | None:
        model = self.models[site.rbp]
        tx = read_tx(self.codes, site.start, site.end, site.strand)
        broken = _break_one(model, tx)
        if broken is None:
            return None
        j, b = broken
        pos = self._genomic(site, j)
        alt = np.array([self._gbase(site, b)], dtype=np.uint8)
        if not self._confirm_loss(site, pos, 1, alt):
            return None
        return PlantedRecord(pos, self.codes[pos:pos + 1].copy(), [alt],
                      [TruthRow("loss", model.spec.name, site, "loss_snv")], gene=site.gene)

    def _loss_mnv(self, site: Site) -> PlantedRecord | None:
        model = self.models[site.rbp]
        w = model.width
        j = int(self.rng.integers(0, w - 1))
        tx = read_tx(self.codes, site.start, site.end, site.strand)
        worst = np.argsort(model.log_odds[:, :4], axis=1)[:, 0]
        mut = tx.copy()
        mut[j:j + 2] = worst[j:j + 2]
        if (mut[j:j + 2] == tx[j:j + 2]).any():
            return None
        lo = min(self._genomic(site, j), self._genomic(site, j + 1))
        gmut = mut if site.strand == "+" else complement(mut[::-1])
        glo = lo - site.start
        alt = gmut[glo:glo + 2].copy()
        if not self._confirm_loss(site, lo, 2, alt):
            return None
        return PlantedRecord(lo, self.codes[lo:lo + 2].copy(), [alt],
                      [TruthRow("loss", model.spec.name, site, "loss_mnv")], gene=site.gene)

    def _loss_del(self, site: Site) -> PlantedRecord | None:
        model = self.models[site.rbp]
        d = int(self.rng.integers(2, 6))
        g = int(self.rng.integers(site.start + 1, site.end - 1))
        d = min(d, site.end - g)
        pos, ref, alt = left_normalize(self.codes, g - 1, self.codes[g - 1:g + d].copy(),
                                       self.codes[g - 1:g].copy())
        if not self._free(pos, pos + len(ref)):
            return None
        if not self._confirm_loss(site, pos, len(ref), alt):
            return None
        return PlantedRecord(pos, ref, [alt], [TruthRow("loss", model.spec.name, site, "loss_del")],
                      gene=site.gene)

    def _loss_multi(self, site: Site) -> PlantedRecord | None:
        model = self.models[site.rbp]
        tx = read_tx(self.codes, site.start, site.end, site.strand)
        info = model.information()
        score = float(model.score(tx))
        for j in np.argsort(-info, kind="stable")[:3]:
            rows, alts = [], []
            for b in range(4):
                if b == tx[j]:
                    continue
                new = score - model.log_odds[j, tx[j]] + model.log_odds[j, b]
                pos = self._genomic(site, int(j))
                alt = np.array([self._gbase(site, b)], dtype=np.uint8)
                m = self.site_best_after(model, site, pos, 1, alt)
                if new <= model.t_lo and m <= model.t_lo:
                    rows.append(TruthRow("loss", model.spec.name, site, "loss_multiallelic"))
                    alts.append(alt)
            if len(alts) >= 2:
                if not self._no_side_gain(pos, 1, alts, site.strand, site.rbp):
                    continue
                order = np.argsort([int(a[0]) for a in alts])
                return PlantedRecord(pos, self.codes[pos:pos + 1].copy(), [alts[i] for i in order],
                              [rows[i] for i in order], gene=site.gene)
        return None

    # --- gains ----------------------------------------------------------------------------
    def gain(self, n: int) -> None:
        made = 0
        for site in self._site_pool(False, kind="latent"):
            if made >= n:
                break
            model = self.models[site.rbp]
            pos = self._genomic(site, site.fix_offset)
            alt = np.array([self._gbase(site, site.fix_base)], dtype=np.uint8)
            if not self._free(pos, pos + 1):
                continue
            a, b = self.scores(model, pos, 1, alt, site.strand)
            if a > model.t_lo or b < model.t_hi:
                continue
            if not self._no_side_gain(pos, 1, [alt], site.strand, site.rbp):
                continue
            self._add(PlantedRecord(pos, self.codes[pos:pos + 1].copy(), [alt],
                             [TruthRow("gain", model.spec.name, site, "gain_snv")],
                             gene=site.gene))
            made += 1

    # --- neutral ---------------------------------------------------------------------------
    def neutral_unbound(self, n: int) -> None:
        made = 0
        for site in self._site_pool(False):
            if made >= n:
                break
            if not self._free(site.start, site.end):
                continue
            rec = self._loss_snv(site)
            if rec is None:
                continue
            rec.truth = [TruthRow("neutral", self.models[site.rbp].spec.name, site,
                                  "neutral_unbound_site")]
            self._add(rec)
            made += 1

    def _random_alt(self, ref: np.ndarray) -> np.ndarray:
        return ((ref + self.rng.integers(1, 4, ref.size)) % 4).astype(np.uint8)

    def neutral(self, counts: dict[str, int]) -> None:
        transcribed = np.flatnonzero((self.regions.region > 0) & ~self.near_site & ~self.bad)
        intergenic = np.flatnonzero((self.regions.region == 0) & ~self.near_gene & ~self.bad)
        plan = [("neutral_snv", transcribed), ("neutral_mnv", transcribed),
                ("neutral_indel", transcribed), ("neutral_multiallelic", transcribed),
                ("neutral_intergenic", intergenic)]
        for category, pool in plan:
            want = counts.get(category, 0)
            made, tries = 0, 0
            while made < want and tries < 30 * want and pool.size:
                tries += 1
                pos = int(pool[int(self.rng.integers(pool.size))])
                rec = self._neutral_record(category, pos)
                if rec is None or not self._free(rec.pos, rec.pos + len(rec.ref)):
                    continue
                span = self.near_site[rec.pos:rec.pos + len(rec.ref) + 1]
                if category != "neutral_intergenic":
                    if span.any() or self.bad[rec.pos:rec.pos + len(rec.ref) + 1].any():
                        continue
                    if not self._quiet(rec.pos, len(rec.ref), rec.alts, rec.strand):
                        continue
                self._add(rec)
                made += 1

    def _neutral_record(self, category: str, pos: int) -> PlantedRecord | None:
        gene = int(self.regions.gene[pos])
        strand = self.genes[gene].strand if gene >= 0 else "."
        if category in ("neutral_snv", "neutral_intergenic"):
            ref = self.codes[pos:pos + 1].copy()
            alts = [self._random_alt(ref)]
        elif category == "neutral_mnv":
            k = int(self.rng.integers(2, 4))
            ref = self.codes[pos:pos + k].copy()
            alts = [self._random_alt(ref)]
        elif category == "neutral_multiallelic":
            ref = self.codes[pos:pos + 1].copy()
            others = [b for b in range(4) if b != ref[0]]
            pick = sorted(self.rng.choice(others, size=2, replace=False))
            alts = [np.array([b], dtype=np.uint8) for b in pick]
        else:  # indel: insertion or deletion of 1-6 nt after an anchor base
            k = int(self.rng.integers(1, 7))
            if self.rng.random() < 0.5:
                ref = self.codes[pos:pos + 1].copy()
                alts = [np.concatenate([ref, self.rng.integers(0, 4, k).astype(np.uint8)])]
            else:
                ref = self.codes[pos:pos + 1 + k].copy()
                alts = [ref[:1].copy()]
        if len(ref) != len(alts[0]):
            pos, ref, new_alt = left_normalize(self.codes, pos, ref, alts[0])
            alts = [new_alt]
            if int(self.regions.gene[pos]) != gene:
                return None
        if (ref == N_CODE).any():
            return None
        if gene >= 0 and int(self.regions.gene[pos + len(ref) - 1]) != gene:
            return None
        rows = [TruthRow("neutral", ".", None, category) for _ in alts]
        rec = PlantedRecord(pos, ref, alts, rows, strand=strand, gene=gene)
        return rec


def make_variants(rng, draft: GenomeDraft, regions: RegionMap, genes: list[Gene],
                  models: list[MotifModel], sites: list[Site], counts: dict[str, int]
                  ) -> list[PlantedRecord]:
    """All variant records, sorted by position."""
    maker = VariantMaker(rng, draft, regions, genes, models, sites)
    maker.loss(counts)
    maker.gain(counts.get("gain_snv", 0))
    maker.neutral_unbound(counts.get("neutral_unbound_site", 0))
    maker.neutral(counts)
    return sorted(maker.records, key=lambda r: r.pos)
