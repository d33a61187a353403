"""Wild-type versus mutant attribution figures for one variant and one RBP.

:func:`plot_explanation` draws, on one shared x axis (the ref and alt windows aligned on the
genome, so an indel's inserted or deleted bases line up; positions in nt from the variant,
5' to 3' on the transcript):

1. the GradCAM heatmap of the wild-type and mutant windows, their motif clusters outlined;
2. the wild-type attribution logo (integrated gradients, or ISM when IG was not computed);
3. the mutant attribution logo;
4. the difference track ``mutant - wild type`` per position (blue gain, red loss);
5. the region track (transcript region class of each base).

The variant is marked by a vertical line and a shaded span on every track. matplotlib is used
through :class:`matplotlib.figure.Figure` only, so no GUI backend is touched.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from varbind.encoding import REGION_CLASSES
from varbind.errors import VarbindError
from varbind.interpret.align import align_maps, variant_mask

FORMATS = (".png", ".pdf", ".svg")
REGION_COLOURS = {"none": "#dddddd", "5utr": "#1b9e77", "cds": "#d95f02", "3utr": "#7570b3",
                  "ncrna_exon": "#e7298a", "intron": "#a6761d", "promoter": "#66a61e",
                  "intergenic_proximal": "#e6ab02"}
TRACKS = ("GradCAM", "WT", "MUT", "MUT - WT", "region")


def _attribution(maps: dict, allele: str) -> tuple[np.ndarray | None, str]:
    for name, label in (("ig", "IG"), ("ism", "ISM")):
        values = maps.get(f"{name}_{allele}")
        if values is not None and np.isfinite(values).any():
            if name == "ism":  # ISM: minus the mean effect of mutating a base, on that base
                seq = maps[f"{allele}_seq"]
                onehot = np.eye(5, 4)[seq]
                values = -values.sum(axis=1, keepdims=True) / 3 * onehot
            return np.nan_to_num(values), label
    return None, ""


def _aligned(stored):
    m = stored.maps
    strand = stored.fields["strand"]
    idx = align_maps(np.arange(len(m["ref_coord"]), dtype=float), m["ref_coord"],
                     np.arange(len(m["alt_coord"]), dtype=float), m["alt_coord"], strand)
    return idx, strand


def _on_axis(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    """Put a window map (L, ...) on the aligned axis; NaN where the allele lacks the base."""
    if values is None:
        return None
    out = np.full((len(index), *values.shape[1:]), np.nan, np.float32)
    ok = np.isfinite(index)
    out[ok] = values[index[ok].astype(int)]
    return out


def plot_explanation(stored, flank: int | None = 30, width: float = 12.0):
    """Figure for one stored explanation (:class:`varbind.interpret.store.StoredExplanation`).

    Parameters
    ----------
    flank : nt shown on each side of the variant (None: the whole window)
    width : figure width in inches

    Returns
    -------
    matplotlib.figure.Figure with five axes in :data:`TRACKS` order.
    """
    import logomaker
    from matplotlib.figure import Figure

    f, m = stored.fields, stored.maps
    idx, strand = _aligned(stored)
    mask = variant_mask(idx, f["start"], f["end"])
    x = np.arange(len(idx.coord))
    site = np.flatnonzero(mask)
    lo_site, hi_site = (site.min(), site.max()) if len(site) else (len(x) // 2, len(x) // 2)
    offset = np.where(x < lo_site, x - lo_site, np.where(x > hi_site, x - hi_site, 0))
    lo, hi = (0, len(x) - 1) if flank is None else (max(0, lo_site - flank),
                                                      min(len(x) - 1, hi_site + flank))
    view = slice(lo, hi + 1)

    fig = Figure(figsize=(width, 7.5), layout="constrained")
    axes = fig.subplots(5, 1, sharex=True, height_ratios=[1.1, 1.4, 1.4, 1.0, 0.35])
    ax_cam, ax_wt, ax_mut, ax_diff, ax_reg = axes

    # 1. GradCAM heatmap, WT over MUT, motif clusters outlined
    cam_ref = _on_axis(m.get("gradcam_ref"), idx.ref)
    cam_alt = _on_axis(m.get("gradcam_alt"), idx.alt)
    if cam_ref is not None and np.isfinite(cam_ref).any():
        heat = np.vstack([cam_ref, cam_alt])[:, view]
        top = np.nanmax(heat) if np.isfinite(heat).any() and np.nanmax(heat) > 0 else 1.0
        image = ax_cam.imshow(heat / top, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                              extent=(lo - 0.5, hi + 0.5, 1.5, -0.5), interpolation="nearest")
        fig.colorbar(image, ax=ax_cam, pad=0.005, fraction=0.02, label="scaled")
        for motif in stored.motifs:
            index = idx.ref if motif["allele"] == 0 else idx.alt
            inside = np.flatnonzero((index >= motif["start"]) & (index < motif["end"]))
            if len(inside):
                first, span = inside.min(), inside.max() - inside.min() + 1
                ax_cam.add_patch(_box(first - 0.5, motif["allele"] - 0.5, span))
    else:
        ax_cam.text(0.5, 0.5, "GradCAM not computed", ha="center", va="center",
                    transform=ax_cam.transAxes)
    ax_cam.set_yticks([0, 1], ["WT", "MUT"])
    ax_cam.set_ylabel("GradCAM")

    # 2-3. attribution logos on the aligned axis (RNA letters)
    ref_attr, label = _attribution(m, "ref")
    alt_attr, _ = _attribution(m, "alt")
    limits = []
    for ax, values, index, name in ((ax_wt, ref_attr, idx.ref, "WT"),
                                    (ax_mut, alt_attr, idx.alt, "MUT")):
        ax.set_ylabel(f"{name}\n{label or 'attribution'}")
        if values is None:
            ax.text(0.5, 0.5, "no attribution stored", ha="center", va="center",
                    transform=ax.transAxes)
            continue
        on_axis = np.nan_to_num(_on_axis(values, index))[view]
        import pandas as pd

        frame = pd.DataFrame(on_axis, columns=list("ACGU"), index=x[view])
        with warnings.catch_warnings():  # an all-zero logo makes logomaker warn about ylim
            warnings.simplefilter("ignore", UserWarning)
            logomaker.Logo(frame, ax=ax, color_scheme="classic", show_spines=False)
        ax.axhline(0, color="0.6", lw=0.5)
        limits.append(np.abs(on_axis.sum(axis=1)).max())
    for ax in (ax_wt, ax_mut):  # one scale for both logos, so heights compare
        top = max(limits) if limits and max(limits) > 0 else 1.0
        ax.set_ylim(-1.1 * top, 1.1 * top)

    # 4. difference track
    if ref_attr is not None:
        diff = align_maps(ref_attr.sum(-1), m["ref_coord"], alt_attr.sum(-1), m["alt_coord"],
                          strand).diff[view]
        ax_diff.bar(x[view], diff, width=0.85,
                    color=np.where(diff >= 0, "#2166ac", "#b2182b"))
        ax_diff.axhline(0, color="0.6", lw=0.5)
    ax_diff.set_ylabel(f"{label or 'attr.'}\nMUT - WT")

    # 5. region track
    region = m.get("region")
    on_axis = _on_axis(region.astype(float), idx.ref) if region is not None else None
    if on_axis is not None and (on_axis[view] >= 0).any():
        seen = set()
        for pos, code in zip(x[view], on_axis[view], strict=True):
            if np.isfinite(code) and code >= 0:
                name = REGION_CLASSES[int(code)]
                ax_reg.axvspan(pos - 0.5, pos + 0.5, color=REGION_COLOURS[name],
                               label=None if name in seen else name)
                seen.add(name)
        ax_reg.legend(loc="upper left", bbox_to_anchor=(1.0, 1.4), fontsize=7, frameon=False)
    else:
        ax_reg.text(0.5, 0.5, "region classes not stored", ha="center", va="center",
                    transform=ax_reg.transAxes, fontsize=8)
    ax_reg.set_yticks([])
    ax_reg.set_ylabel("region", rotation=0, ha="right", va="center")

    # the variant, on every track
    for ax in axes:
        ax.axvspan(lo_site - 0.5, hi_site + 0.5, color="#ffdd55", alpha=0.35, zorder=-1)
        ax.axvline((lo_site + hi_site) / 2, color="#d62728", lw=1.0, ls="--", label="variant")
    ax_reg.set_xlim(lo - 0.5, hi + 0.5)
    step = 10 if hi - lo < 200 else 50
    ticks = x[view][(offset[view] % step == 0) & (offset[view] != 0)]
    ticks = np.sort(np.r_[ticks, (lo_site + hi_site) // 2])  # one 0 mark for the site
    ax_reg.set_xticks(ticks, [f"{o:+d}" if o else "0" for o in offset[ticks]])
    ax_reg.set_xlabel(f"nt from the variant (transcript 5'\u21923', {strand} strand)")
    delta = f["alt_score"] - f["ref_score"]
    fig.suptitle(f"{f['label']}  {f['rbp']} ({stored.model})   WT {f['ref_score']:.3f} \u2192 "
                 f"MUT {f['alt_score']:.3f}  (\u0394 {delta:+.3f})   motif: {f['motif_call']}"
                 + (f"  [{f['known_motif']}]" if f.get("known_motif") else ""), fontsize=11)
    return fig


def _box(x0: float, y0: float, w: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x0, y0), w, 1.0, fill=False, edgecolor="white", lw=1.6, ls="-")


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save as PNG, PDF or SVG by the file's suffix, atomically."""
    from varbind.files import atomic_output

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise VarbindError(f"cannot write a figure as {path.suffix or 'no suffix'}", path=path,
                           fix=f"name the output with one of {', '.join(FORMATS)}")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lower()[1:], dpi=150)
    return path
