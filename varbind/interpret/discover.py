"""GradCAM motif discovery: which motif a model has learned for each RBP.

For each RBP, windows centered on candidate sites (CLIP peak summits, or any BED intervals) on
the site's strand are scored; the ``top`` best-scoring windows get GradCAM maps
(:func:`varbind.interpret.gradcam.gradcam`, the last convolutional layer unless another is named);
each map is clustered (POLARIS appendix, :func:`varbind.interpret.gradcam_motifs.cluster_map`) and
its
strongest motif cluster, widened to the layer's receptive field
(:func:`varbind.interpret.gradcam_motifs.match_span`), is one span. The spans are ranked against the
known motifs (:func:`varbind.interpret.gradcam_motifs.rank_known_motifs`, background: the windows'
base composition), and the RBP's GradCAM diffusion (POLARIS eq. 3) is taken over the same
maps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from varbind.genomics.genome import window_start
from varbind.model.inputs import WindowBatch, build_inputs, required_lengths

log = logging.getLogger(__name__)

#: Columns of the candidate-site table: ``rbp`` (or ``*`` for every RBP), 0-based ``center``.
SITE_COLUMNS = ["rbp", "chrom", "centre", "strand"]


@dataclass
class DiscoveryOptions:
    """``varbind motifs`` settings: windows per RBP, GradCAM layer, clustering parameters."""

    top: int = 50
    layer: str | None = None
    alpha: float = 0.9
    height: float = 1.0
    min_score: float = 0.5
    batch_size: int = 256


@dataclass
class RBPMotifs:
    """Discovery result of one RBP of one model.

    sites : candidate windows scored; spans : DataFrame, one row per top window with a motif
    cluster (SPAN_COLUMNS); ranked : ``[(rbp, motif_id, score)]`` known motifs, best first;
    diffusion : POLARIS eq. 3 over the top windows' maps; layer, receptive_field : GradCAM
    layer and the nt one of its positions sees
    """

    model: str
    rbp: str
    sites: int
    windows: int
    spans: pd.DataFrame
    ranked: list = field(default_factory=list)
    diffusion: float = float("nan")
    layer: str = ""
    receptive_field: int = 0

    def summary(self, known_top: int = 3) -> dict:
        """One row of the per-RBP table."""
        best = [f"{r}:{i}" for r, i, _ in self.ranked[:known_top]]
        return {"model": self.model, "rbp": self.rbp, "sites": self.sites,
                "windows": self.windows, "spans": len(self.spans),
                "min_window_score": (float(self.spans["window_score"].min())
                                     if len(self.spans) else float("nan")),
                "known_motif": best[0] if best else "",
                "known_score": self.ranked[0][2] if self.ranked else float("nan"),
                "next_known": ",".join(best[1:]),
                "rbp_rank": _rank_of(self.rbp, self.ranked),
                "diffusion": self.diffusion, "gradcam_layer": self.layer,
                "receptive_field": self.receptive_field}


SPAN_COLUMNS = ["model", "rbp", "chrom", "centre", "strand", "window_score", "cluster_start",
                "cluster_end", "cluster_score", "cluster_sequence", "match_start", "match_end",
                "match_sequence"]


def read_sites(source: str, scorer) -> pd.DataFrame:
    """Candidate sites (SITE_COLUMNS) from CLIP peaks: a folder or manifest of peak files
    (the RBP from the file name or manifest), one BED6/narrowPeak file (its name's RBP, or
    every RBP ``*`` when no model predicts that name), or ``demo`` (the demo world's peaks).
    Centers are the peak summits; peaks on contigs the genome lacks are dropped (logged)."""
    from pathlib import Path

    from varbind.genomics.peaks import load_peaks, match_contigs, read_peak_file

    if source == "demo" and not Path(source).exists():
        from varbind.demo import demo_file

        source = str(demo_file("peaks"))
    path = Path(source)
    if path.is_file() and path.name.endswith((".bed", ".bed.gz", ".narrowPeak",
                                              ".narrowPeak.gz")):
        peaksets = [match_contigs(read_peak_file(path), scorer.genome.contigs)]
    else:
        peaksets = load_peaks(path, contigs=scorer.genome.contigs)
    predicted = {r for b in scorer.bundles for r in b.meta.rbps}
    frames = []
    for ps in peaksets:
        rbp = ps.rbp if ps.rbp in predicted or len(peaksets) > 1 else "*"
        frames.append(pd.DataFrame({"rbp": rbp, "chrom": ps.peaks["chrom"].to_numpy(),
                                    "centre": ps.peaks["summit"].to_numpy(np.int64),
                                    "strand": ps.peaks["strand"].to_numpy()}))
    sites = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SITE_COLUMNS)
    log.info("%d candidate sites for %d RBPs from %s", len(sites), sites["rbp"].nunique(),
             source)
    return sites


def write_tables(results: Sequence[RBPMotifs], output, spans_path=None,
                 header: Sequence[str] = (), known_top: int = 3) -> pd.DataFrame:
    """Write the per-RBP table (and the per-window span table) as TSV, each after the
    ``header`` lines (provenance, ``##key=value``); atomic. Returns the per-RBP table."""
    from varbind.files import atomic_output

    summary = pd.DataFrame([r.summary(known_top) for r in results])
    tables = [(output, summary)]
    if spans_path is not None:
        tables.append((spans_path, pd.concat([r.spans for r in results], ignore_index=True)))
    for path, table in tables:
        with atomic_output(path) as tmp, open(tmp, "w") as fh:
            fh.writelines(line + "\n" for line in header)
            table.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    return summary


def _rank_of(rbp: str, ranked: Sequence) -> int:
    """1-based rank of the first known motif of ``rbp`` (0: not among the known motifs)."""
    return next((k + 1 for k, r in enumerate(ranked) if r[0] == rbp), 0)


def site_windows(scorer, bundle, sites: pd.DataFrame) -> WindowBatch:
    """The model's inputs for windows centered on ``sites`` (SITE_COLUMNS, contigs known to the
    genome), in the order of ``sites``: (N, L) codes on each site's strand, region classes,
    the expression of the site's gene (the nearest on its strand) and structure, as
    :meth:`varbind.scoring.scorer.Scorer.model_batch` gives them."""
    need = required_lengths(bundle.meta.inputs)
    annotation = scorer.context
    n = len(sites)
    seq = np.zeros((n, need["sequence"]), np.uint8)
    region = np.zeros((n, need["region"]), np.int8) if "region" in need else None
    gene_row = np.full(n, -1, np.int64)
    score = (annotation.gene_expression(scorer.cell_types.get(bundle.name))
             if annotation.expression is not None else None)
    for chrom, rows in sites.groupby("chrom", sort=False).indices.items():
        centers = sites["centre"].to_numpy()[rows]
        strands = sites["strand"].to_numpy()[rows]
        seq[rows] = scorer.genome.window_codes(chrom, centers, need["sequence"], strands)
        if annotation.index is not None:
            gene_row[rows] = annotation.index.nearest_gene_rows(chrom, centers, strands,
                                                                score=score)
            if region is not None:
                starts = window_start(centers, need["region"], strands)
                region[rows] = annotation.index.region_codes(chrom, np.asarray(starts),
                                                             need["region"], strands)
    return scorer.model_batch(bundle, WindowBatch(seq=seq, region=region,
                                              extra={"gene_row": gene_row}))


def site_scores(scorer, bundle, target: int, sites: pd.DataFrame, batch_size: int = 256,
                chunk: int = 8192) -> np.ndarray:
    """(N,) the model's output ``target`` for windows centered on ``sites``, built and scored
    ``chunk`` sites at a time (genome-wide peak sets do not fit in memory as one batch)."""
    from varbind.interpret.baselines import predict_arrays

    out = np.zeros(len(sites), np.float32)
    for lo in range(0, len(sites), chunk):
        batch = site_windows(scorer, bundle, sites.iloc[lo:lo + chunk])
        arrays = build_inputs(bundle.meta.inputs, batch)
        out[lo:lo + chunk] = predict_arrays(bundle.model, arrays, batch_size)[:, target]
    return out


def discover_rbp(scorer, bundle, rbp: str, sites: pd.DataFrame, options: DiscoveryOptions,
                 known) -> RBPMotifs:
    """:class:`RBPMotifs` of one RBP of ``bundle`` from its candidate ``sites``."""
    from varbind.interpret.baselines import sequence_slot
    from varbind.interpret.gradcam import gradcam
    from varbind.interpret.gradcam_motifs import (
        base_composition,
        gradcam_diffusion,
        match_span,
        rank_known_motifs,
        span_sequences,
        strongest_motif,
    )

    target = bundle.meta.rbps.index(rbp)
    scores = site_scores(scorer, bundle, target, sites, options.batch_size)
    best = np.argsort(-scores, kind="stable")[:options.top]
    batch = site_windows(scorer, bundle, sites.iloc[best])
    arrays = build_inputs(bundle.meta.inputs, batch)
    slot = sequence_slot(bundle.meta.inputs)
    cam = gradcam(bundle.model, arrays, [target], slot.length,
                  layer=options.layer, batch_size=options.batch_size,
                  seq_index=slot.input_index, arch=bundle.meta.architecture,
                  rbps=bundle.meta.rbps, logit=bundle.meta.output == "sigmoid")
    offset = batch.seq.shape[1] // 2 - slot.length // 2
    codes = batch.seq[:, offset:offset + slot.length]
    rows = []
    for k, (m, c) in enumerate(zip(cam.maps[0], codes, strict=True)):
        hit = strongest_motif(m, alpha=options.alpha, height=options.height,
                              min_score=options.min_score)
        if hit is None:
            continue
        wide = match_span(hit, cam.fields[0], len(c))
        site = sites.iloc[int(best[k])]
        rows.append([bundle.name, rbp, site["chrom"], int(site["centre"]), site["strand"],
                     float(scores[best[k]]), hit.start, hit.end, hit.score,
                     *span_sequences(c, [hit]), wide.start, wide.end,
                     *span_sequences(c, [wide])])
    spans = pd.DataFrame(rows, columns=SPAN_COLUMNS)
    ranked = rank_known_motifs(spans["match_sequence"].tolist(), known,
                               background=base_composition(codes)) if len(spans) else []
    return RBPMotifs(bundle.name, rbp, len(sites), len(best), spans, ranked,
                     gradcam_diffusion(cam.maps[0]), cam.layers[0], cam.fields[0])


def discover(scorer, sites: pd.DataFrame, options: DiscoveryOptions, known=None,
             progress: Callable[[str], None] | None = None) -> list[RBPMotifs]:
    """:func:`discover_rbp` for every RBP of every model of ``scorer`` with candidate sites
    (rows whose ``rbp`` is the RBP, or ``*``)."""
    from varbind.genomics.motifs import read_meme

    known = read_meme() if known is None else known
    wanted = set(scorer.options.rbps or [])
    out = []
    for bundle in scorer.bundles:
        for rbp in bundle.meta.rbps:
            if wanted and rbp not in wanted:
                continue
            mine = sites[sites["rbp"].isin([rbp, "*"])].reset_index(drop=True)
            if mine.empty:
                log.warning("%s: no candidate sites for %s; skipped", bundle.name, rbp)
                continue
            result = discover_rbp(scorer, bundle, rbp, mine, options, known)
            if progress is not None:
                progress(f"{bundle.name} {rbp}: {len(result.spans)} spans, best known motif "
                         f"{result.summary()['known_motif'] or '-'}")
            out.append(result)
    return out
