"""varbind.interpret.gia and ``varbind gia``: backgrounds, embedding, k-mer discovery on a toy
model."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planted import motif_detector

from varbind.cli import main
from varbind.encoding import decode, encode
from varbind.errors import VarbindError
from varbind.interpret import gia
from varbind.model.bundle import ModelBundle, ModelMeta, save_bundle
from varbind.model.inputs import Component, InputSpec

L = 30
MOTIF = "TGCATG"


def _motif_model():
    return motif_detector(L, MOTIF)


def _meta():
    spec = InputSpec("seq", "per_position", (Component("sequence", tuple("ACGT")),), L)
    return ModelMeta(name="toy", architecture="imported", rbps=["RBFOX1"], inputs=[spec])


@pytest.fixture(scope="module")
def bundle():
    return ModelBundle(path=None, meta=_meta(), model=_motif_model(), digest="")


def _dinucs(codes):
    return Counter(zip(codes[:-1].tolist(), codes[1:].tolist(), strict=True))


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="ACGT", min_size=3, max_size=60), st.integers(0, 1000))
def test_dinucleotide_shuffle_keeps_dinucleotide_counts(seq, seed):
    codes = encode(seq)
    out = gia.dinucleotide_shuffle(codes, np.random.default_rng(seed))
    assert _dinucs(out) == _dinucs(codes)
    assert out[0] == codes[0] and sorted(out.tolist()) == sorted(codes.tolist())


def test_dinucleotide_shuffle_changes_a_long_sequence():
    codes = np.random.default_rng(0).integers(0, 4, 200).astype(np.uint8)
    assert (gia.dinucleotide_shuffle(codes, np.random.default_rng(1)) != codes).any()


def test_backgrounds():
    rng = np.random.default_rng(0)
    observed = np.random.default_rng(1).integers(0, 4, (50, 10)).astype(np.uint8)
    observed[:, 0] = 2  # every observed sequence starts with G
    profile = gia.background_codes("profile", 200, 10, observed, rng)
    assert profile.shape == (200, 10) and (profile[:, 0] == 2).all()
    assert set(np.unique(profile[:, 1:])) == {0, 1, 2, 3}
    data = gia.background_codes("data", 5, 10, observed, rng)
    assert all((observed == row).all(axis=1).any() for row in data)
    shuffled = gia.background_codes("shuffle", 5, 10, observed, rng)
    assert all(any(sorted(r) == sorted(o) for o in observed.tolist()) for r in shuffled.tolist())
    uniform = gia.background_codes("profile", 400, 10, None, rng)
    assert abs((uniform == 0).mean() - 0.25) < 0.03
    with pytest.raises(VarbindError, match="--background dinuc needs observed sequences"):
        gia.background_codes("dinuc", 5, 10, None, rng)
    with pytest.raises(VarbindError, match="unknown --background 'gc'"):
        gia.background_codes("gc", 5, 10, None, rng)


def test_observed_windows_are_drawn_from_fasta_records_long_enough(tmp_path):
    fasta = tmp_path / "obs.fa"
    fasta.write_text(">short\nACGT\n>long\n" + "acgtTGCA" * 10 + "\n>rich\n" + "N" * 40 + "\n")
    seq, region, expression = gia.read_observed(fasta, 12, 5, np.random.default_rng(0))
    assert seq.shape == (5, 12) and region is None and expression is None
    long = "ACGTTGCA" * 10  # upper-cased; "short" is too short, "rich" all N
    assert all(decode(row) in long for row in seq)
    (tmp_path / "bad.fa").write_text("not a fasta\n")
    with pytest.raises(VarbindError, match="cannot read FASTA"):
        gia.read_observed(tmp_path / "bad.fa", 12, 5, np.random.default_rng(0))


def test_embed_and_positions():
    codes = np.zeros((2, 10), np.uint8)
    out = gia.embed(codes, [(encode("CG"), 3), (encode("T"), 9)])
    assert [decode(r) for r in out] == ["AAACGAAAAT"] * 2 and not codes.any()
    with pytest.raises(VarbindError, match="a pattern of 2 nt at 9 does not fit a 10-nt window"):
        gia.embed(codes, [(encode("CG"), 9)])
    assert gia.centered_start(30, 6) == 12
    assert gia.count_positions(30, 6, 3) == [12, 20, 4]


def test_top_kmer_is_the_one_the_model_responds_to(bundle):
    rng = np.random.default_rng(0)
    background = gia.make_background(bundle.meta.inputs, "profile", 12, rng)
    found = gia.kmer_importance(bundle, background, 0, k=6, batch_size=4096)
    assert len(found) == 4096
    assert found[0].label == MOTIF
    expected = 1 / (1 + np.exp(-4)) - 1 / (1 + np.exp(4))
    assert found[0].global_ == pytest.approx(expected, abs=0.02)
    # the runner-up is a shifted motif (ATGCAT) completed by a background base 1 time in 4
    assert found[1].global_ < 0.5 * found[0].global_
    counts = gia.count_effect(bundle, background, 0, MOTIF, max_count=2)
    assert [c.label for c in counts] == ["1", "2"]
    assert counts[0].global_ == pytest.approx(expected, abs=0.02)


def test_cli_motif_experiments_and_plot(tmp_path):
    path = save_bundle(_motif_model(), _meta(), tmp_path / "toy")
    out, fig = tmp_path / "gia.tsv", tmp_path / "gia.png"
    code = main(["gia", "--models", str(path), "--rbp", "RBFOX1", "--motif", "UGCAUG", "-n", "8",
                 "--max-count", "2", "--max-spacing", "4", "-o", str(out), "--plot", str(fig)])
    assert code == 0
    import pandas as pd

    table = pd.read_csv(out, sep="\t", dtype={"pattern": str})
    assert table["experiment"].tolist() == (["motif", "count", "count"] + ["spacing"] * 3
                                            + ["mutation"] * 18 + ["position"] * 3)
    assert table[table["experiment"] == "position"]["pattern"].tolist() == ["-10", "0", "10"]
    # every single-base change of the motif destroys it for this model
    assert (table[table["experiment"] == "mutation"]["global_importance"] < 0.05).all()
    assert table.loc[0, "global_importance"] == pytest.approx(0.96, abs=0.03)
    assert (table["rbp"] == "RBFOX1").all() and (table["tested_motif"] == MOTIF).all()
    assert fig.read_bytes()[:4] == b"\x89PNG"


def test_known_motif_sites_follow_their_matrix():
    from varbind.genomics.motifs import read_meme

    motif = next(m for m in read_meme() if m.rbp == "RBFOX1")
    (label, [(sites, start)]), = gia.known_motif_arrangements([motif], 4000, L,
                                                               np.random.default_rng(0))
    assert label == f"RBFOX1:{motif.id}" and start == gia.centered_start(L, motif.width)
    assert sites.shape == (4000, motif.width) and sites.dtype == np.uint8
    freq = np.stack([(sites == b).mean(axis=0) for b in range(4)], axis=1)
    np.testing.assert_allclose(freq, motif.pfm, atol=0.03)
    embedded = gia.embed(np.zeros((4000, L), np.uint8), [(sites, start)])
    np.testing.assert_array_equal(embedded[:, start:start + motif.width], sites)


def test_cli_known_motifs_rank_the_one_the_model_responds_to(tmp_path):
    path = save_bundle(_motif_model(), _meta(), tmp_path / "toy")
    out = tmp_path / "gia.tsv"
    assert main(["gia", "--models", str(path), "--rbp", "RBFOX1", "--motif", "UGCAUG", "-n",
                 "64", "--known", "--max-count", "1", "--max-spacing", "0",
                 "--position-step", "0", "-o", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out, sep="\t", keep_default_na=False)
    known = table[table["experiment"] == "known"]
    assert len(known) == 102 and known["pattern"].iloc[0].startswith("RBFOX1:")
    assert known["global_importance"].is_monotonic_decreasing
    assert (known["tested_motif"] == "").all()


@pytest.mark.parametrize("extra, message", [
    (["--motif", "UGXAUG"], "--motif 'UGXAUG' must be letters"),
    (["--motif", "UGCAUG", "--background", "dinuc"], "--background dinuc needs observed"),
    (["--motif", "UGCAUG", "--plot", "x.jpg"], "cannot write a figure as .jpg"),
    (["--kmers", "12"], "--kmers 12 is out of range"),
    (["--motif", "UGCAUG", "--meme", "missing.meme"], "motif file not found"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    path = save_bundle(_motif_model(), _meta(), tmp_path / "toy")
    code = main(["gia", "--models", str(path), "--rbp", "RBFOX1", "-n", "4",
                 "-o", str(tmp_path / "o.tsv"), *extra])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o.tsv").exists()


def test_cli_unknown_rbp(tmp_path, capsys):
    path = save_bundle(_motif_model(), _meta(), tmp_path / "toy")
    assert main(["gia", "--models", str(path), "--rbp", "PUM2", "-o", str(tmp_path / "o")]) == 2
    assert "no model predicts PUM2" in capsys.readouterr().err
