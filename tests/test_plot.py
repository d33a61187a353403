"""varbind.interpret.plot and ``varbind plot``: the figure's content, PNG/PDF output, CLI errors."""

import numpy as np
import pytest

from varbind.cli import main
from varbind.encoding import encode
from varbind.interpret.align import site_coordinates
from varbind.interpret.gradcam_motifs import Cluster
from varbind.interpret.plot import TRACKS, plot_explanation, save_figure
from varbind.interpret.store import AttributionWriter, read_explanation
from varbind.interpret.variant_maps import VariantExplanation, VariantSite

L = 40


def _write(path, label="chr1:1001:C>CTT", start=1001, end=1001, inserted="TT"):
    rng = np.random.default_rng(0)
    ref_seq = encode("".join(rng.choice(list("ACGT"), L)))
    alt_seq = encode("".join(rng.choice(list("ACGT"), L)))
    ig = rng.normal(size=(L, 4)) * np.eye(4)[rng.integers(0, 4, L)]
    site = VariantSite(label, "chr1", start, end, inserted, "+")
    ex = VariantExplanation(
        site=site, rbp="RBFOX1", model="toy", ref_seq=ref_seq, alt_seq=alt_seq,
        ref_coord=site_coordinates(start, end, None, "+", L),
        alt_coord=site_coordinates(start, end, inserted, "+", L),
        region=np.r_[np.full(20, 5), np.full(20, 3)].astype(np.int8), ref_score=0.91,
        alt_score=0.12, ig_ref=ig, ig_alt=ig * 0.5, ig_gap=np.zeros(2),
        gradcam_ref=np.r_[np.zeros(17), np.ones(6), np.zeros(17)],
        gradcam_alt=np.full(L, 0.05), gradcam_layer="conv",
        clusters_ref=[Cluster(17, 23, 1.0, True, tuple(range(17, 23)))], clusters_alt=[],
        motif_call="LOST", known_motif="RBFOX1:RNCMPT00168", ig_at_variant=-0.4,
        ig_max_delta=-0.6, ig_max_offset=1)
    with AttributionWriter(path) as w:
        w.append([ex])
    return path


def test_figure_has_every_track_and_the_variant_marked(tmp_path):
    stored = read_explanation(_write(tmp_path / "a.h5"), "chr1:1001:C>CTT", "RBFOX1")
    fig = plot_explanation(stored, flank=10)
    tracks = fig.axes[:5]
    assert len(fig.axes) == 6  # five tracks and the GradCAM colour bar
    labels = [ax.get_ylabel() for ax in tracks]
    assert labels == ["GradCAM", "WT\nIG", "MUT\nIG", "IG\nMUT - WT", "region"]
    assert list(TRACKS) == ["GradCAM", "WT", "MUT", "MUT - WT", "region"]
    for ax in tracks:
        assert any(line.get_label() == "variant" for line in ax.get_lines())
    title = fig._suptitle.get_text()
    assert "chr1:1001:C>CTT" in title and "RBFOX1" in title and "LOST" in title
    assert "0.910" in title and "-0.790" in title
    # the insertion's site: the 2 inserted bases and the 2 bases around them; 10 nt each side
    lo, hi = tracks[-1].get_xlim()
    assert hi - lo == 10 + 4 + 10
    # logos draw glyphs (one per base shown), the motif box on the heatmap, a region legend
    def glyphs(ax):
        return sum(type(p).__name__ == "PathPatch" for p in ax.patches)

    # one letter per base shown (IG is non-zero on one letter each); WT lacks the 2 inserted
    assert (glyphs(tracks[1]), glyphs(tracks[2])) == (22, 24)
    assert any(type(p).__name__ == "Rectangle" and p.get_edgecolor()[:3] == (1, 1, 1)
               for p in tracks[0].patches)
    legend = [t.get_text() for t in tracks[4].get_legend().get_texts()]
    assert legend == ["intron", "3utr"]
    ticks = [t.get_text() for t in tracks[4].get_xticklabels()]
    assert "0" in ticks and "-10" in ticks and "+10" in ticks


def test_saved_as_png_and_pdf(tmp_path):
    stored = read_explanation(_write(tmp_path / "a.h5"), "chr1:1001:C>CTT", "RBFOX1")
    fig = plot_explanation(stored, flank=None)
    png = save_figure(fig, tmp_path / "fig.png")
    pdf = save_figure(fig, tmp_path / "fig.pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "fig.pdf", "fig.png"]


def test_cli_writes_the_figure(tmp_path):
    h5 = _write(tmp_path / "a.h5")
    out = tmp_path / "out.png"
    assert main(["plot", str(h5), "--variant", "chr1:1001:C>CTT", "--rbp", "RBFOX1",
                 "-o", str(out), "--flank", "15"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("extra, message", [
    (["--variant", "chr1:5:A>G", "--rbp", "RBFOX1", "-o", "x.png"],
     "no attribution for chr1:5:A>G and RBFOX1"),
    (["--variant", "chr1:1001:C>CTT", "--rbp", "RBFOX1", "-o", "x.jpg"],
     "cannot write a figure as .jpg"),
    (["--variant", "chr1:1001:C>CTT", "--rbp", "RBFOX1", "-o", "x.png", "--flank", "-3"],
     "--flank '-3' is not a positive number"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    h5 = _write(tmp_path / "a.h5")
    extra = [str(tmp_path / e) if e.startswith("x.") else e for e in extra]
    assert main(["plot", str(h5), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()


def test_gradcam_only_and_ism_only_explanations_still_plot(tmp_path):
    from dataclasses import replace

    path = _write(tmp_path / "a.h5")
    stored = read_explanation(path, "chr1:1001:C>CTT", "RBFOX1")
    no_ig = replace(stored, maps={k: v for k, v in stored.maps.items() if not k.startswith("ig")})
    fig = plot_explanation(no_ig)
    assert fig.axes[1].texts[0].get_text() == "no attribution stored"
    ism = dict(no_ig.maps, ism_ref=np.full((L, 4), -0.3), ism_alt=np.zeros((L, 4)))
    fig = plot_explanation(replace(no_ig, maps=ism))
    assert fig.axes[1].get_ylabel() == "WT\nISM" and fig.axes[3].get_ylabel() == "ISM\nMUT - WT"
