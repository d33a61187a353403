"""Binding sites: motif instances sampled from RNAcompete PFMs, planted on the transcript
strand, and bound or not depending on region preference, expression and motif score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from varbind.encoding import N_CODE, REGION_CODE
from varbind.genomics.motifs import Motif
from varbind.simulate.genome import GenomeDraft, creates_stop, read_tx, write_tx
from varbind.simulate.panel import SITE_CLASSES, RBPSpec
from varbind.simulate.transcripts import Gene, RegionMap

#: Logistic model of binding: logit p = B0 + B_EXPR (log1p TPM - EXPR_CENTER) + B_PREF ln(pref)
#: + B_SCORE (score - t_hi) / (max - t_hi).
BOUND_MODEL = {"b0": 1.6, "b_expr": 1.3, "expr_center": 2.5, "b_pref": 3.0, "b_score": 1.0}
#: Minimum distance (nt) kept free between two planted sites.
SITE_GAP = 10
#: A latent site's completed form must reach this binding probability.
LATENT_MIN_P = 0.6


@dataclass
class MotifModel:
    """Scoring model for one RBP. log_odds : (W, 4) log2 odds (uniform background) with an
    extra very negative column for N; t_hi : score a planted site reaches at least; t_lo :
    score a destroyed site (or a latent site) stays at or below."""

    spec: RBPSpec
    motif: Motif
    log_odds: np.ndarray
    max_score: float
    t_hi: float
    t_lo: float

    @property
    def width(self) -> int:
        return self.log_odds.shape[0]

    def score(self, tx_codes: np.ndarray) -> np.ndarray:
        """(..., W) transcript-strand codes -> (...,) scores."""
        return self.log_odds[np.arange(self.width), tx_codes].sum(axis=-1)

    def best(self, tx_codes: np.ndarray) -> float:
        """Best score of any window in a 1-D transcript-strand sequence."""
        n = tx_codes.size - self.width + 1
        if n <= 0:
            return -np.inf
        acc = self.log_odds[0, tx_codes[:n]].copy()  # (n,) window scores, one column at a time
        for k in range(1, self.width):
            acc += self.log_odds[k, tx_codes[k:k + n]]
        return float(acc.max())

    def information(self) -> np.ndarray:
        """(W,) information content (bits) per position."""
        p = self.motif.pfm
        return 2 + (p * np.log2(np.clip(p, 1e-9, 1))).sum(axis=1)


def motif_model(rng, spec: RBPSpec, motif: Motif) -> MotifModel:
    lo = motif.log_odds()
    lo = np.concatenate([lo, np.full((lo.shape[0], 1), -20.0)], axis=1)  # N column
    max_score = float(lo[:, :4].max(axis=1).sum())
    samples = sample_instances(rng, motif.pfm, 20_000)
    scores = lo[np.arange(lo.shape[0]), samples].sum(axis=1)
    t_hi = float(max(np.quantile(scores, 0.5), 0.55 * max_score))
    return MotifModel(spec, motif, lo, max_score, t_hi, t_hi - 4.0)


def sample_instances(rng, pfm: np.ndarray, n: int) -> np.ndarray:
    """(n, W) codes sampled column-wise from a (W, 4) PFM."""
    cum = np.cumsum(pfm, axis=1)
    u = rng.random((n, pfm.shape[0], 1))
    return np.minimum((u > cum[None]).sum(axis=2), 3).astype(np.uint8)


def strong_instances(rng, model: MotifModel, n: int, margin: float = 0.0) -> np.ndarray:
    """(n, W) PFM samples scoring at least ``t_hi + margin``."""
    margin = min(margin, 0.5 * (model.max_score - model.t_hi))
    out: list[np.ndarray] = []
    have = 0
    for _ in range(1000):
        if have >= n:
            break
        batch = sample_instances(rng, model.motif.pfm, max(4 * n, 1000))
        keep = batch[model.score(batch) >= model.t_hi + margin]
        out.append(keep)
        have += len(keep)
    else:
        raise RuntimeError(f"cannot sample strong instances of {model.motif.id}")
    return np.concatenate(out)[:n]


def p_bound(model: MotifModel, region: str, log_tpm: np.ndarray | float,
            score: np.ndarray | float) -> np.ndarray:
    b = BOUND_MODEL
    span = max(model.max_score - model.t_hi, 1e-6)
    logit = (b["b0"] + b["b_expr"] * (np.asarray(log_tpm) - b["expr_center"])
             + b["b_pref"] * np.log(model.spec.preference[region])
             + b["b_score"] * (np.asarray(score) - model.t_hi) / span)
    return 1.0 / (1.0 + np.exp(-logit))


@dataclass
class Site:
    """A planted site. start/end: global 0-based half-open; kind: ``site`` or ``latent``.

    For latent sites, ``fix_offset`` is the transcript-strand offset of the mismatch and
    ``fix_base`` the code that completes the site."""

    site_id: str
    rbp: int
    kind: str
    start: int
    end: int
    strand: str
    gene: int
    region: str
    score: float
    p_bound: float = 0.0
    bound: bool = False
    fix_offset: int = -1
    fix_base: int = -1


class Planter:
    """Places non-overlapping sites into transcribed, unprotected, unambiguous sequence."""

    def __init__(self, rng, draft: GenomeDraft, regions: RegionMap, genes: list[Gene]):
        self.rng = rng
        self.draft = draft
        self.regions = regions
        self.strands = np.array([g.strand for g in genes])
        self.occupied = (draft.protected | regions.ambiguous | (regions.region == 0)
                         | (draft.codes == N_CODE))
        free = ~self.occupied
        self.territory = {c: np.flatnonzero(free & (regions.region == REGION_CODE[c]))
                          for c in SITE_CLASSES}

    def share(self) -> dict[str, float]:
        total = sum(v.size for v in self.territory.values())
        return {c: self.territory[c].size / total for c in SITE_CLASSES}

    def try_place(self, tx: np.ndarray, region: str, allowed_genes: np.ndarray | None = None,
                  attempts: int = 12) -> tuple[int, str, int] | None:
        """Write ``tx`` at a free position of class ``region``; return (start, strand, gene)."""
        terr = self.territory[region]
        if terr.size == 0:
            return None
        w = tx.size
        code = REGION_CODE[region]
        codes = self.draft.codes
        for p in terr[self.rng.integers(0, terr.size, attempts)]:
            p = int(p)
            if p - SITE_GAP < 0 or p + w + SITE_GAP > codes.size:
                continue
            if self.occupied[p - SITE_GAP:p + w + SITE_GAP].any():
                continue
            if not (self.regions.region[p:p + w] == code).all():
                continue
            gene = int(self.regions.gene[p])
            if allowed_genes is not None and not allowed_genes[gene]:
                continue
            strand = str(self.strands[gene])
            old = codes[p:p + w].copy()
            write_tx(codes, p, tx, strand)
            if region == "cds" and creates_stop(codes, self.draft.cds_phase, p, p + w, strand):
                codes[p:p + w] = old
                continue
            self.occupied[p:p + w] = True
            return p, strand, gene
        return None


def _class_counts(rng, n: int, pref: dict[str, float], share: dict[str, float]) -> dict:
    w = np.array([pref[c] for c in SITE_CLASSES])
    s = np.array([share[c] for c in SITE_CLASSES])
    q = 0.5 * w / w.sum() + 0.5 * s
    return dict(zip(SITE_CLASSES, rng.multinomial(n, q / q.sum()), strict=True))


def plant_sites(rng, planter: Planter, models: list[MotifModel], n_sites: list[int]) -> list[Site]:
    """Plant ``n_sites[r]`` strong instances of each RBP's motif, interleaved across RBPs."""
    requests: list[tuple[int, str, np.ndarray]] = []
    share = planter.share()
    for r, (model, n) in enumerate(zip(models, n_sites, strict=True)):
        counts = _class_counts(rng, n, model.spec.preference, share)
        inst = strong_instances(rng, model, n)
        k = 0
        for cls in SITE_CLASSES:
            for _ in range(counts[cls]):
                requests.append((r, cls, inst[k]))
                k += 1
    order = rng.permutation(len(requests))
    sites: list[Site] = []
    for i in order:
        r, cls, tx = requests[i]
        placed = planter.try_place(tx, cls)
        if placed is None:
            continue
        p, strand, gene = placed
        sites.append(Site("", r, "site", p, p + tx.size, strand, gene, cls,
                          float(models[r].score(tx))))
    return sites


def decide_bound(rng, sites: list[Site], models: list[MotifModel], log_tpm: dict[str, np.ndarray]):
    """Draw bound = Bernoulli(p_bound) for every planted (non-latent) site."""
    for s in sites:
        model = models[s.rbp]
        s.p_bound = float(p_bound(model, s.region, log_tpm[model.spec.cell_line][s.gene], s.score))
    draws = rng.random(len(sites))
    for s, u in zip(sites, draws, strict=True):
        s.bound = bool(u < s.p_bound)


def _break_one(model: MotifModel, inst: np.ndarray) -> tuple[int, int] | None:
    """(offset, base) of a single substitution at a high-information position that drops
    ``inst``'s score to ``t_lo`` or below, or None."""
    score = float(model.score(inst))
    info = model.information()
    for j in np.argsort(-info, kind="stable"):
        drops = [(model.log_odds[j, inst[j]] - model.log_odds[j, b], b)
                 for b in range(4) if b != inst[j]]
        drops.sort(reverse=True)
        if score - drops[0][0] <= model.t_lo:
            return int(j), int(drops[0][1])
    return None


def plant_latent(rng, planter: Planter, models: list[MotifModel], n_latent: list[int],
                 log_tpm: dict[str, np.ndarray]) -> list[Site]:
    """Plant near-sites (one substitution short of a strong instance) in favourable,
    expressed contexts: a variant that completes one is a true gain."""
    latent: list[Site] = []
    for r, (model, n) in enumerate(zip(models, n_latent, strict=True)):
        expr = log_tpm[model.spec.cell_line]
        pref = model.spec.preference
        good = [c for c in SITE_CLASSES if pref[c] >= 0.8]
        inst = strong_instances(rng, model, 4 * n, margin=1.0)
        placed = 0
        for tx in inst:
            if placed >= n:
                break
            cls = good[int(rng.integers(len(good)))]
            full_score = float(model.score(tx))
            ok_genes = p_bound(model, cls, expr, full_score) >= LATENT_MIN_P
            broken = _break_one(model, tx)
            if broken is None:
                continue
            j, b = broken
            mutated = tx.copy()
            mutated[j] = b
            where = planter.try_place(mutated, cls, allowed_genes=ok_genes, attempts=40)
            if where is None:
                continue
            p, strand, gene = where
            site = Site("", r, "latent", p, p + tx.size, strand, gene, cls,
                        float(model.score(mutated)), fix_offset=j, fix_base=int(tx[j]))
            site.p_bound = float(p_bound(model, cls, expr[gene], full_score))
            latent.append(site)
            placed += 1
    return latent


def name_sites(sites: list[Site]) -> None:
    """Give sites ids in genome order (sorts ``sites`` in place)."""
    sites.sort(key=lambda s: (s.start, s.rbp))
    for i, s in enumerate(sites):
        s.site_id = f"site{i + 1:06d}"


def check_sites(codes: np.ndarray, sites: list[Site], models: list[MotifModel]) -> None:
    """Re-read every site from the final genome; raise if one no longer has its score."""
    for s in sites:
        tx = read_tx(codes, s.start, s.end, s.strand)
        got = float(models[s.rbp].score(tx))
        if abs(got - s.score) > 1e-6:
            raise RuntimeError(f"site {s.site_id} changed after planting ({s.score} -> {got})")
