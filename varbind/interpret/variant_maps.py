"""Attribution of scored variants: IG / GradCAM / ISM maps of the reference and
alternate windows of each variant x RBP, the values at the variant and the motif calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from varbind.errors import VarbindError
from varbind.interpret.baselines import baseline_arrays, predict_arrays, sequence_slot
from varbind.interpret.gradcam import gradcam
from varbind.interpret.ig import integrated_gradients
from varbind.interpret.ism import ism

METHODS = ("ig", "gradcam", "ism")


@dataclass(frozen=True)
class VariantSite:
    """One scored allele on one strand, as the scoring core normalised it.

    label : e.g. ``chr1:12345:A>G`` (VCF coordinates); chrom; start, end, inserted: the event
    (reference ``[start, end)`` 0-based replaced by ``inserted``); strand : ``+``/``-``
    """

    label: str
    chrom: str
    start: int
    end: int
    inserted: str
    strand: str


@dataclass
class ExplainOptions:
    """What to compute for each variant x RBP (the ``--explain*`` flags)."""

    methods: tuple[str, ...] = ("ig", "gradcam")
    ig_steps: int = 50
    ig_baseline: str = "auto"
    ig_rule: str = "midpoint"
    gradcam_layer: str | None = None
    flank: int = 10
    batch_size: int = 1024
    alpha: float = 0.9
    height: float = 1.0
    min_score: float = 0.5
    motif_pad: int | None = None  # nt of slack for a motif to touch the variant; None:


@dataclass
class VariantExplanation:
    """Attribution of one variant for one RBP, ref and alt windows of the model's length L.

    ref_seq, alt_seq : (L,) uint8 codes; ref_coord, alt_coord : (L,) genome coordinates
    (-1 inserted); region : (L,) int8 classes of the ref window or None;
    ig_ref, ig_alt : (L, 4) IG over the sequence channels (ACGT) or None; ig_gap : (2,)
    completeness gaps ``sum IG - (F(x) - F(x'))`` for ref, alt; gradcam_ref, gradcam_alt : (L,);
    gradcam_layer, gradcam_field, gradcam_stride : the GradCAM layer, its receptive field in
    nt (0 unknown) and the nt per position of its map;
    ism_ref, ism_alt : (L, 4); ref_score, alt_score : the model's outputs;
    clusters_ref, clusters_alt : GradCAM motif clusters; motif_call : the call at the variant;
    ig_at_variant, ig_max_delta, ig_max_offset : :class:`varbind.interpret.align.DiffSummary` of
    dIG;
    known_motif : best-matching known motif of the ref (LOST) or alt (GAINED) motif at the
    variant, ``RBP:ID`` or ""
    """

    site: VariantSite
    rbp: str
    model: str
    ref_seq: np.ndarray
    alt_seq: np.ndarray
    ref_coord: np.ndarray
    alt_coord: np.ndarray
    region: np.ndarray | None
    ref_score: float
    alt_score: float
    ig_ref: np.ndarray | None = None
    ig_alt: np.ndarray | None = None
    ig_gap: np.ndarray | None = None
    gradcam_ref: np.ndarray | None = None
    gradcam_alt: np.ndarray | None = None
    gradcam_layer: str = ""
    gradcam_field: int = 0
    gradcam_stride: float = 1.0
    ism_ref: np.ndarray | None = None
    ism_alt: np.ndarray | None = None
    clusters_ref: list | None = None
    clusters_alt: list | None = None
    motif_call: str = ""  # "" when GradCAM was not computed
    known_motif: str = ""
    ig_at_variant: float = float("nan")
    ig_max_delta: float = float("nan")
    ig_max_offset: int = 0


def site_indices(coord: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """``[lo, hi)`` window indices of the variant in a window with coordinates ``coord`` (L,):
    the event's reference bases and inserted bases; for an empty block (a deletion's alt, an
    insertion's ref) the two bases around the junction."""
    hit = np.flatnonzero((coord < 0) | ((coord >= start) & (coord < end)))
    if len(hit) == 0:
        hit = np.flatnonzero((coord == start - 1) | (coord == end))
    if len(hit) == 0:
        return (len(coord) // 2, len(coord) // 2 + 1)
    return int(hit.min()), int(hit.max()) + 1


def explain_variants(bundle, ref, alt, sites: Sequence[VariantSite],
                     pairs: Sequence[tuple[int, str]],
                     options: ExplainOptions | None = None) -> list[VariantExplanation]:
    """Attribution for variant x RBP pairs with one model.

    Parameters
    ----------
    bundle : :class:`varbind.model.bundle.ModelBundle`
    ref, alt : :class:`varbind.model.inputs.WindowBatch` of N rows each, row ``i`` the ref and alt
        windows of ``sites[i]`` (the scoring core's windows, centered on the event)
    sites : N :class:`VariantSite`
    pairs : ``(row, rbp)`` to explain; ``rbp`` must be one of the bundle's RBPs
    options : :class:`ExplainOptions`

    Returns
    -------
    one :class:`VariantExplanation` per pair, in the order of ``pairs``.
    """
    from varbind.interpret.align import align_maps, site_coordinates, summarize_diff, variant_mask
    from varbind.interpret.gradcam_motifs import call_motif_change, cluster_map
    from varbind.model.inputs import build_inputs, crop_center

    options = options or ExplainOptions()
    unknown = [m for m in options.methods if m not in METHODS]
    if unknown:
        raise VarbindError(f"unknown --explain method {', '.join(unknown)}",
                           fix=f"choose from {', '.join(METHODS)}")
    specs = bundle.meta.inputs
    slot = sequence_slot(specs)
    length = slot.length
    width = ref.seq.shape[1]
    out: dict[int, VariantExplanation] = {}
    by_rbp: dict[str, list[int]] = {}
    for p, (_, rbp) in enumerate(pairs):
        if rbp not in bundle.meta.rbps:
            raise VarbindError(f"model {bundle.name} does not predict {rbp}")
        by_rbp.setdefault(rbp, []).append(p)
    for rbp, members in by_rbp.items():
        target = bundle.meta.rbps.index(rbp)
        rows = np.array([pairs[p][0] for p in members])
        both = _stack_rows(ref, alt, rows)  # 2n windows: ref rows then alt rows
        arrays = build_inputs(specs, both)
        n = len(rows)
        ig = cam = mut = None
        if "ig" in options.methods:
            base = baseline_arrays(specs, options.ig_baseline, bundle, rbp)
            ig = integrated_gradients(bundle.model, arrays, base, [target], options.ig_steps,
                                      options.ig_rule, options.batch_size)
            scores = ig.predictions[0]
        if "gradcam" in options.methods:
            cam = gradcam(bundle.model, arrays, [target], length, options.gradcam_layer,
                          max(1, options.batch_size // 4), slot.input_index,
                          bundle.meta.architecture, bundle.meta.rbps,
                          logit=bundle.meta.output == "sigmoid")
            scores = cam.predictions[0]
        if "ism" in options.methods:
            mut = ism(bundle.model, arrays, slot, [target], options.batch_size)[0]
        if ig is None and cam is None:
            scores = predict_arrays(bundle.model, arrays, options.batch_size)[:, target]
        seqs = crop_center(both.seq, length)
        region = None  # per-position classes under the sequence, for plots
        if both.region is not None and both.region.shape[1] >= length:
            region = crop_center(both.region, length)
        for j, p in enumerate(members):
            site = sites[pairs[p][0]]
            ref_c = crop_center(site_coordinates(site.start, site.end, None, site.strand,
                                                   width)[None], length)[0]
            alt_c = crop_center(site_coordinates(site.start, site.end, site.inserted,
                                                   site.strand, width)[None], length)[0]
            ex = VariantExplanation(site=site, rbp=rbp, model=bundle.name, ref_seq=seqs[j],
                                    alt_seq=seqs[n + j], ref_coord=ref_c, alt_coord=alt_c,
                                    region=None if region is None else region[j],
                                    ref_score=float(scores[j]), alt_score=float(scores[n + j]))
            if ig is not None:
                seq_attr = ig.attributions[slot.input_index][0][..., list(slot.channels)]
                ex.ig_ref, ex.ig_alt = seq_attr[j], seq_attr[n + j]
                gap = ig.completeness_gap[0]
                ex.ig_gap = np.array([gap[j], gap[n + j]], np.float32)
                aligned = align_maps(ex.ig_ref.sum(-1), ref_c, ex.ig_alt.sum(-1), alt_c,
                                     site.strand)
                summary = summarize_diff(aligned, variant_mask(aligned, site.start, site.end),
                                         options.flank)
                ex.ig_at_variant, ex.ig_max_delta = summary.at_variant, summary.max_abs
                ex.ig_max_offset = summary.max_offset
            if cam is not None:
                ex.gradcam_ref, ex.gradcam_alt = cam.maps[0][j], cam.maps[0][n + j]
                ex.gradcam_layer, ex.gradcam_field = cam.layers[0], cam.fields[0]
                ex.gradcam_stride = cam.strides[0]
                _call_motifs(ex, options, cluster_map, call_motif_change)
            if mut is not None:
                ex.ism_ref, ex.ism_alt = mut[j], mut[n + j]
            out[p] = ex
    return [out[p] for p in range(len(pairs))]


def _call_motifs(ex: VariantExplanation, options: ExplainOptions, cluster_map,
                 call_motif_change) -> None:
    from varbind.interpret.gradcam_motifs import (
        base_composition,
        match_span,
        rank_known_motifs,
        span_sequences,
        touch_pad,
    )

    kwargs = dict(alpha=options.alpha, height=options.height, min_score=options.min_score)
    both = (cluster_map(ex.gradcam_ref, **kwargs), cluster_map(ex.gradcam_alt, **kwargs))
    ex.clusters_ref = [c for c in both[0] if c.is_motif]
    ex.clusters_alt = [c for c in both[1] if c.is_motif]
    ref_site = site_indices(ex.ref_coord, ex.site.start, ex.site.end)
    alt_site = site_indices(ex.alt_coord, ex.site.start, ex.site.end)
    call = call_motif_change(ex.gradcam_ref, ex.gradcam_alt, ref_site, alt_site, **kwargs,
                             pad=touch_pad(ex.gradcam_stride, options.motif_pad),
                             clusters=both)
    ex.motif_call = call.call
    hit, codes = (call.ref, ex.ref_seq) if call.ref is not None else (call.alt, ex.alt_seq)
    if hit is not None:
        wide = match_span(hit, ex.gradcam_field, len(codes))
        ranked = rank_known_motifs(span_sequences(codes, [wide]), _known_motifs(),
                                   background=base_composition(codes))
        ex.known_motif = f"{ranked[0][0]}:{ranked[0][1]}" if ranked else ""


_MOTIF_CACHE: list = []


def _known_motifs():
    if not _MOTIF_CACHE:
        from varbind.genomics.motifs import read_meme

        _MOTIF_CACHE.extend(read_meme())
    return _MOTIF_CACHE


def _stack_rows(ref, alt, rows: np.ndarray):
    """WindowBatch of ``ref[rows]`` followed by ``alt[rows]``."""
    from varbind.model.inputs import WindowBatch

    def pick(a, b):
        return None if a is None or b is None else np.concatenate([a[rows], b[rows]])

    return WindowBatch(seq=pick(ref.seq, alt.seq), region=pick(ref.region, alt.region),
                       expression=pick(ref.expression, alt.expression),
                       structure=pick(ref.structure, alt.structure),
                       pairs=pick(ref.pairs, alt.pairs))
