"""GraphProt viewpoints as an input channel: stored by ``varbind dataset``, read by every
architecture under the varbind recipe, marked as the central span when scoring a variant."""

import json

import h5py
import keras
import numpy as np
import pytest
import scoring_world as sw
from planted import TINY

from varbind.cli import main
from varbind.encoding import decode, encode_batch
from varbind.errors import VarbindError
from varbind.interpret.baselines import baseline_arrays
from varbind.interpret.ig import integrated_gradients
from varbind.model.bundle import ModelMeta, load_bundle, save_bundle
from varbind.model.inputs import Component, InputSpec, WindowBatch, build_inputs, central_span
from varbind.training import models as arch_models
from varbind.training.sequences import FastaRecord, centered_codes, centered_viewpoints

W = 31


def _records(tmp_path, case=True, n=40, seed=0):
    """Positive and negative FASTA files; upper-case 10-nt viewpoints (positives carry
    TGCATG there) in lower-case flanks of 20-30 nt, or all upper case with ``case=False``."""
    rng = np.random.default_rng(seed)
    paths = []
    for label in ("positives", "negatives"):
        lines = []
        for i in range(n):
            left, right = (decode(rng.integers(0, 4, int(rng.integers(20, 31)))) for _ in "lr")
            core = decode(rng.integers(0, 4, 10))
            if label == "positives":
                core = core[:2] + "TGCATG" + core[8:]
            seq = left.lower() + core + right.lower()
            lines.append(f">{label[:3]}{i}\n{seq if case else seq.upper()}\n")
        path = tmp_path / f"VP.{'' if case else 'plain.'}{label}.fa"
        path.write_text("".join(lines))
        paths.append(path)
    return paths


def test_the_dataset_stores_each_records_viewpoint(tmp_path):
    pos, neg = _records(tmp_path)
    out = tmp_path / "vp.h5"
    assert main(["dataset", "--kind", "per-rbp", "--positives", str(pos), "--negatives",
                 str(neg), "-o", str(out)]) == 0
    with h5py.File(out) as h5:
        g = h5["VP"]
        seq, mask = g["seq"][:], g["viewpoint"][:]
        assert g.attrs["viewpoint_span"] == 10
    assert (mask.sum(axis=1) == 10).all()
    # the mask covers the centred viewpoint: the motif of every positive lies inside it
    width = seq.shape[1]
    start = width // 2 - 5
    assert (mask[:, start:start + 10] == 1).all()
    assert all("TGCATG" in decode(row[start:start + 10]) for row in seq[:40])
    plain_pos, plain_neg = _records(tmp_path, case=False)
    plain = tmp_path / "plain.h5"
    assert main(["dataset", "--kind", "per-rbp", "--positives", str(plain_pos),
                 "--negatives", str(plain_neg), "-o", str(plain)]) == 0
    with h5py.File(plain) as h5:
        assert "viewpoint" not in h5["VP"] and "viewpoint_span" not in h5["VP"].attrs


@pytest.mark.parametrize("core", [5, 10, 11])
def test_the_scoring_span_lies_where_training_viewpoints_lie(core):
    records = [FastaRecord(f"r{left}", "a" * left + "C" * core + "g" * right, 1)
               for left, right in ((3, 9), (12, 2), (0, 0), (7, 7))]
    width = 25
    masks = centered_viewpoints(records, width)
    np.testing.assert_array_equal(masks, central_span(len(records), width, core))
    codes = centered_codes(records, width)
    assert (codes[masks == 1] == 1).all()  # the viewpoint's bases (C) and nothing else
    whole = FastaRecord("plain", "ACGTACG", 1)  # no case difference: the whole record
    assert centered_viewpoints([whole], 11)[0].tolist() == [0, 0] + [1] * 7 + [0, 0]


def _viewpoint_specs(span=9):
    return arch_models.input_specs("multiresbind", ("sequence", "viewpoint"), W,
                                   viewpoint_span=span)


def test_inputs_carry_the_batch_viewpoint_or_the_central_span():
    (spec,) = _viewpoint_specs()
    assert spec.shape == (W, 5) and spec.components[1] == Component("viewpoint",
                                                                   ("viewpoint",), span=9)
    assert InputSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    seq = np.random.default_rng(0).integers(0, 4, (2, W + 10)).astype(np.uint8)
    (x,) = build_inputs([spec], WindowBatch(seq=seq))
    np.testing.assert_array_equal(x[..., 4], central_span(2, W, 9))
    own = np.zeros((2, W + 10), np.uint8)
    own[:, 3:8] = 1
    (y,) = build_inputs([spec], WindowBatch(seq=seq, viewpoint=own))
    np.testing.assert_array_equal(y[..., 4], own[:, 5:5 + W])  # cropped about the centre
    np.testing.assert_array_equal(x[..., :4], y[..., :4])
    for kind in ("zeros", "uniform"):  # IG moves the sequence, not the binding site
        (base,) = baseline_arrays([spec], kind)
        np.testing.assert_array_equal(base[:, 4], central_span(1, W, 9)[0])


def test_viewpoint_input_errors_say_what_to_do(tmp_path, capsys):
    with pytest.raises(VarbindError, match="the viewpoint input needs the sequence input"):
        arch_models.parse_inputs("viewpoint,region", "multiresbind")
    with pytest.raises(VarbindError, match="binding-site length"):
        arch_models.input_specs("deepripe", ("sequence", "viewpoint"))
    pos, neg = _records(tmp_path, case=False)
    data = tmp_path / "plain.h5"
    assert main(["dataset", "--kind", "per-rbp", "--positives", str(pos), "--negatives",
                 str(neg), "-o", str(data)]) == 0
    capsys.readouterr()
    code = main(["-q", "train", "--arch", "deepripe", "--dataset", str(data), "--inputs",
                 "sequence,viewpoint", "--out", str(tmp_path / "b"), "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1
    assert "--inputs viewpoint needs binding-site viewpoints but the dataset has none" in err


def test_a_viewpoint_model_scores_variants_on_the_central_span(tmp_path):
    specs = _viewpoint_specs()
    keras.utils.set_random_seed(5)
    model = arch_models.build_model("multiresbind", specs, 1, TINY["multiresbind"])
    meta = ModelMeta(name="vp", architecture="multiresbind", rbps=["VP"], inputs=specs)
    bundle = load_bundle(save_bundle(model, meta, tmp_path / "vp"))
    table, _ = sw.score_one_bundle(bundle.path, tmp_path)
    row = table[table["id"] == "snv_plus"].iloc[0]
    ref, alt = sw.snv_plus_windows(W)
    seq = encode_batch([ref, alt])
    want = bundle.model.predict(build_inputs(specs, WindowBatch(seq=seq)), verbose=0)[:, 0]
    assert float(row["ref_score"]) == pytest.approx(want[0], abs=1e-4)
    assert float(row["alt_score"]) == pytest.approx(want[1], abs=1e-4)
    # the channel matters: without a marked site the same windows score differently
    unmarked = WindowBatch(seq=seq, viewpoint=np.zeros_like(seq))
    other = bundle.model.predict(build_inputs(specs, unmarked), verbose=0)[:, 0]
    assert np.abs(other - want).max() > 1e-3


def test_ig_attributes_a_scored_window_to_its_bases_not_the_marked_site():
    specs = _viewpoint_specs()
    keras.utils.set_random_seed(6)
    model = arch_models.build_model("multiresbind", specs, 1, TINY["multiresbind"])
    seq = np.random.default_rng(1).integers(0, 4, (3, W)).astype(np.uint8)
    arrays = build_inputs(specs, WindowBatch(seq=seq))
    ig = integrated_gradients(model, arrays, baseline_arrays(specs, "zeros"), [0], steps=64)
    attr = ig.attributions[0][0]  # (N, W, 5)
    assert not attr[..., 4].any()  # the binding site is the same at both ends of the path
    # completeness: the bases account for F(x) - F(baseline)
    np.testing.assert_allclose(attr[..., :4].sum(axis=(1, 2)),
                               ig.predictions[0] - ig.baseline_predictions[0], atol=5e-3)


def test_the_bundle_ig_baseline_holds_the_central_span():
    from varbind.training.train import SplitData, lowest_scoring_baselines

    specs = _viewpoint_specs()
    keras.utils.set_random_seed(7)
    model = arch_models.build_model("multiresbind", specs, 1, TINY["multiresbind"])
    rng = np.random.default_rng(2)
    seq = rng.integers(0, 4, (12, W)).astype(np.uint8)
    own = (rng.random((12, W)) < 0.5).astype(np.uint8)  # training records' own sites
    split = SplitData(WindowBatch(seq=seq, viewpoint=own), np.zeros((12, 1), np.uint8))
    (base,) = lowest_scoring_baselines(model, specs, split, ["VP"], n=5)["VP"]
    np.testing.assert_array_equal(base[:, 4], central_span(1, W, 9)[0])
