"""varbind.interpret.discover and ``varbind motifs``: GradCAM motif discovery on a toy model with a
known answer (it responds to UGCAUG only, planted at half of the peaks)."""

import numpy as np
import pandas as pd
import pytest
from planted import motif_detector

from varbind.cli import main
from varbind.encoding import reverse_complement
from varbind.model.bundle import ModelMeta, save_bundle
from varbind.model.inputs import Component, InputSpec

L = 60
MOTIF = "TGCATG"


def _motif_model():
    return motif_detector(L, MOTIF)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 30-kb contig without TGCATG, 30 peaks with the motif planted near the summit (half on
    the minus strand, planted reverse-complemented), 30 decoy peaks, a model bundle."""
    root = tmp_path_factory.mktemp("discover")
    rng = np.random.default_rng(0)
    seq = list(rng.choice(list("ACGT"), 30_000))
    text = "".join(seq)
    while MOTIF in text or reverse_complement(MOTIF) in text:  # no motif by chance
        text = text.replace(MOTIF, "AAAAAA").replace(reverse_complement(MOTIF), "AAAAAA")
    seq = list(text)
    rows = []
    for k in range(60):
        center = 300 + 480 * k
        strand = "+" if k % 2 == 0 else "-"
        if k < 30:
            shift = int(rng.integers(-12, 7))
            site = MOTIF if strand == "+" else reverse_complement(MOTIF)
            seq[center + shift:center + shift + 6] = list(site)
        rows.append(f"chr1\t{center - 20}\t{center + 20}\tp{k}\t0\t{strand}\t1\t1\t1\t20")
    rows.append("chrUn\t100\t140\tother\t0\t+\t1\t1\t1\t20")  # a contig the genome lacks
    (root / "genome.fa").write_text(">chr1\n" + "".join(seq) + "\n")
    (root / "peaks").mkdir()
    (root / "peaks" / "RBFOX1.narrowPeak").write_text("\n".join(rows) + "\n")
    spec = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), L)
    meta = ModelMeta(name="toy", architecture="imported", rbps=["RBFOX1"], inputs=[spec])
    save_bundle(_motif_model(), meta, root / "toy")
    return root


def _run(world, tmp_path, *extra):
    out, spans = tmp_path / "motifs.tsv", tmp_path / "spans.tsv"
    code = main(["motifs", "--fasta", str(world / "genome.fa"), "--models", str(world / "toy"),
                 "--sites", str(world / "peaks"), "--top", "20", "-o", str(out),
                 "--spans", str(spans), *extra])
    return code, out, spans


def test_motifs_finds_the_motif_the_model_responds_to(world, tmp_path):
    code, out, spans_path = _run(world, tmp_path)
    assert code == 0
    header = [line for line in out.read_text().splitlines() if line.startswith("##")]
    assert header[0].startswith("##varbind_version=")
    assert any(line.startswith("##varbind_model=<ID=toy,Hash=") for line in header)
    assert any("Top=20" in line and "KnownMotifs=Ray2013" in line for line in header)
    table = pd.read_csv(out, sep="\t", comment="#")
    row = table.iloc[0]
    assert (row["model"], row["rbp"], row["sites"], row["windows"]) == ("toy", "RBFOX1", 60, 20)
    assert row["known_motif"].startswith("RBFOX1:") and row["rbp_rank"] == 1
    assert row["gradcam_layer"] == "motif_conv" and row["receptive_field"] == 6
    assert np.isfinite(row["diffusion"])
    spans = pd.read_csv(spans_path, sep="\t", comment="#")
    assert len(spans) == 20 and (spans["window_score"] > 0.9).all()  # only planted peaks
    # the strongest cluster sits on the motif, read on the transcript strand on both strands
    assert spans["match_sequence"].str.contains(MOTIF).all()
    assert set(spans["strand"]) == {"+", "-"}
    assert ((spans["match_end"] - spans["match_start"]) >= 6).all()


def test_motifs_cli_errors_are_one_line(world, tmp_path, capsys):
    code, out, _ = _run(world, tmp_path, "--top", "0")
    assert code == 2 and "--top must be at least 1" in capsys.readouterr().err
    code = main(["motifs", "--fasta", str(world / "genome.fa"), "--models",
                 str(world / "toy"), "--sites", str(tmp_path / "missing"), "-o",
                 str(tmp_path / "m.tsv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "peaks not found" in err and "\n" not in err
    assert not (tmp_path / "m.tsv").exists()


def test_a_single_peak_file_of_another_rbp_applies_to_every_rbp(world, tmp_path):
    other = tmp_path / "PUM2.narrowPeak"
    other.write_text((world / "peaks" / "RBFOX1.narrowPeak").read_text())
    code = main(["motifs", "--fasta", str(world / "genome.fa"), "--models", str(world / "toy"),
                 "--sites", str(other), "--top", "10", "-o", str(tmp_path / "m.tsv")])
    assert code == 0
    table = pd.read_csv(tmp_path / "m.tsv", sep="\t", comment="#")
    assert table["rbp"].tolist() == ["RBFOX1"] and table["rbp_rank"].tolist() == [1]


def test_site_scores_do_not_depend_on_the_chunk_size(world):
    from varbind.interpret.discover import read_sites, site_scores
    from varbind.scoring.options import ScoreOptions
    from varbind.scoring.scorer import Scorer

    scorer = Scorer(ScoreOptions(vcf="", fasta=world / "genome.fa", models=world / "toy",
                                 all_strands=True))
    sites = read_sites(str(world / "peaks"), scorer)
    assert len(sites) == 60  # the chrUn peak is dropped: the genome lacks that contig
    bundle = scorer.bundles[0]
    whole = site_scores(scorer, bundle, 0, sites)
    np.testing.assert_allclose(site_scores(scorer, bundle, 0, sites, chunk=7), whole,
                               rtol=1e-6)
    assert (whole[:30] > 0.9).all() and (whole[30:] < 0.1).all()  # planted, then decoys
