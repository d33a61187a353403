"""Training: a planted signal is learnt, bundles round-trip, same seed gives the same model,
rare RBPs are skipped by name, and the CLI fails in one line."""

import json
import logging
from dataclasses import replace

import numpy as np
import pytest
from planted import TINY, planted_data, write_dataset

from varbind.cli import main
from varbind.errors import VarbindError
from varbind.model.bundle import load_bundle, read_meta
from varbind.training import train as tr
from varbind.training.evaluate import predict


def tiny_config(arch="multiresbind", **kw):
    base = dict(arch=arch, epochs=4, seq_length=60, region_length=80, min_positives=5,
                hparams=TINY[arch], progress=False, baseline_windows=20, recipe="paper",
                max_tries=1, jobs=1)
    base.update(kw)
    return tr.TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = planted_data(400)
    result = tr.train_multilabel(data, tiny_config(epochs=8, batch_size=32, learning_rate=1e-2))
    out = tr.write_bundle(result, tmp_path_factory.mktemp("b") / "mrb")
    return data, result, out


def test_planted_motifs_are_learnt(trained):
    _, result, _ = trained
    m = result.meta.metrics
    assert set(m["auroc"]) == {"U6", "GA3"}
    assert m["auroc"]["U6"] > 0.8 and m["auroc"]["GA3"] > 0.8
    assert m["mean_auroc"] == pytest.approx((m["auroc"]["U6"] + m["auroc"]["GA3"]) / 2, abs=1e-6)


def test_bundle_round_trips_metadata_and_predictions(trained):
    data, result, out = trained
    meta = read_meta(out)
    assert meta.architecture == "multiresbind" and meta.rbps == ["U6", "GA3"]
    assert [tuple(s.shape) for s in meta.inputs] == [(60, 8)]
    assert meta.metrics == json.loads(json.dumps(result.meta.metrics))
    assert meta.training["config"]["seed"] == 0
    assert meta.training["best_epoch"] >= 1
    assert meta.training["train_windows_per_second"] > 0
    bundle = load_bundle(out)
    test = data.splits["test"].batch
    before = predict(result.model, meta.inputs, test)
    after = predict(bundle.model, bundle.meta.inputs, test)
    assert np.abs(before - after).max() <= 1e-6


def test_baselines_are_the_mean_of_the_lowest_scoring_training_windows(trained):
    data, result, out = trained
    meta = read_meta(out)
    assert meta.baselines == {"U6": "baselines/U6.npz", "GA3": "baselines/GA3.npz"}
    stored = np.load(out / meta.baselines["GA3"])["input_0"]
    assert stored.shape == (60, 8)
    train = data.splits["train"]
    scores = predict(result.model, meta.inputs, train.batch)[:, 1]
    lowest = np.sort(np.argsort(scores, kind="stable")[:20])
    from varbind.model.inputs import build_inputs

    want = build_inputs(meta.inputs, tr.take(train.batch, lowest))[0].mean(axis=0)
    np.testing.assert_allclose(stored, want, atol=1e-6)
    assert stored[:, :4].sum(axis=1) == pytest.approx(np.ones(60))  # one-hot rows average to 1


def test_same_seed_same_weights_other_seed_other_weights():
    data = planted_data(200)
    runs = [tr.train_multilabel(data, tiny_config("deepripe", epochs=1, seed=s))
            for s in (7, 7, 8)]
    a, b, c = (r.model.get_weights() for r in runs)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    # DeepRiPe's class-weighted loss is its default
    assert runs[0].meta.training["config"]["class_weight"] is True
    assert runs[0].model.loss.name == "weighted_binary_crossentropy"


def test_both_heads_are_trained_and_the_better_one_kept_in_the_choice_range(monkeypatch):
    from varbind.training import recipes

    monkeypatch.setattr(recipes, "HEAD_CHOICE_FROM", 0)  # the planted set is smaller than 500
    data = planted_data(200)
    result = tr.train_multilabel(data, tiny_config("deepripe", epochs=1, recipe="varbind"))
    choice = result.meta.training["head_choice"]
    assert set(choice["validation_mean_auroc"]) == {"max", "flatten"}
    kept = choice["kept"]
    assert result.meta.training["config"]["hparams"]["head"] == kept
    assert ("global_max" in [layer.name for layer in result.model.layers]) == (kept == "max")


def test_rbp_with_too_few_peaks_is_skipped_with_a_warning(caplog):
    data = planted_data(300, rbps=("U6", "GA3", "RARE"))
    labels = data.splits["train"].labels
    labels[:, 2] = 0
    labels[:3, 2] = 1  # three positive training windows
    with caplog.at_level(logging.WARNING):
        result = tr.train_multilabel(data, tiny_config(epochs=1, min_positives=10))
    assert result.meta.rbps == ["U6", "GA3"]
    assert "skipping RBP RARE: 3 training" in caplog.text
    assert tuple(result.model.output.shape[1:]) == (2,)


def test_no_trainable_rbp_is_an_error():
    data = planted_data(100)
    with pytest.raises(VarbindError, match="no RBP has enough peaks"):
        tr.train_multilabel(data, tiny_config(epochs=1, min_positives=10_000))


def test_dataset_narrower_than_the_model_is_an_error():
    data = planted_data(100, seq_length=60)
    with pytest.raises(VarbindError, match="needs sequence windows of 150 nt but the dataset "
                                           "has 60"):
        tr.train_multilabel(data, tiny_config(seq_length=None, epochs=1))


def test_positive_weights_hand_worked():
    labels = np.zeros((100, 2), np.uint8)
    labels[:1, 0] = 1
    labels[:50, 1] = 1
    # ln(0.5 * 100 / 1) = ln 50; ln(0.5 * 100 / 50) = 0 -> floor at 1
    np.testing.assert_allclose(tr.positive_weights(labels), [np.log(50), 1.0])


def test_load_dataset_reads_the_documented_layout(tmp_path):
    path = tmp_path / "d.h5"
    write_dataset(path, n=100)
    data = tr.load_dataset(path)
    assert data.rbps == ["U6", "GA3"]
    n = sum(len(s) for s in data.splits.values())
    assert n == 100 and data.seq_length == 60 and data.region_length == 80
    assert data.splits["train"].batch.region.shape[1] == 80
    assert data.rbp_groups == {"U6": "low", "GA3": "low"}
    with pytest.raises(VarbindError, match="per-RBP dataset has no group"):
        write_dataset(tmp_path / "p.h5", n=50, per_rbp=True)
        tr.load_dataset(tmp_path / "p.h5", rbp="NOPE")


def test_polaris_per_rbp_models_are_joined_into_one_bundle(tmp_path, caplog):
    path = tmp_path / "p.h5"
    write_dataset(path, n=500, per_rbp=True)
    import h5py

    with h5py.File(path, "a") as h5:  # each RBP's peaks from its own cell line
        h5["U6"].attrs["cell_type"], h5["GA3"].attrs["cell_type"] = "HepG2", "K562"
    datasets = {r: tr.load_dataset(path, rbp=r) for r in ("U6", "GA3")}
    cfg = tiny_config("polaris", epochs=6, inputs=("sequence", "region", "expression"),
                      optimizer="adam", learning_rate=1e-2, seq_length=60)
    result = tr.train_per_rbp(datasets, cfg)
    assert result.meta.rbps == ["U6", "GA3"]
    rare = [r for r, n in result.meta.metrics["positives"].items() if n < 20]
    warned = [x for x in caplog.messages if "positive test windows" in x]
    assert rare and len(warned) == len(rare)  # the library warns, once per member, not the CLI
    assert all(any(f"polaris_{r}: " in x and f"{r} (" in x for x in warned) for r in rare)
    assert tuple(result.model.output.shape[1:]) == (2,)
    assert result.meta.training["gradcam_layers"] == {"U6": "U6.conv2", "GA3": "GA3.conv2"}
    assert max(result.meta.metrics["auroc"].values()) > 0.9  # U6 is learnt in 6 epochs
    assert set(result.fits) == {"U6", "GA3"}
    out = tr.write_bundle(result, tmp_path / "pol")
    bundle = load_bundle(out)
    assert [tuple(s.shape) for s in bundle.meta.inputs] == [(60, 4), (7,), (1,)]
    assert sorted(bundle.meta.baselines) == ["GA3", "U6"]
    assert bundle.meta.rbp_cell_lines == {"U6": "HepG2", "GA3": "K562"}
    batch = datasets["GA3"].splits["test"].batch
    np.testing.assert_allclose(predict(bundle.model, bundle.meta.inputs, batch),
                               predict(result.model, result.meta.inputs, batch), atol=1e-6)
    from varbind.training.evaluate import evaluate_bundle

    metrics, groups, _, _ = evaluate_bundle(bundle, path, "test")
    assert groups == [("U6",), ("GA3",)]  # each RBP on its own windows
    assert metrics["auroc"] == pytest.approx(result.meta.metrics["auroc"], abs=1e-6)


def test_per_rbp_models_trained_in_worker_processes_equal_the_sequential_ones(tmp_path):
    path = tmp_path / "p.h5"
    write_dataset(path, n=300, per_rbp=True)
    datasets = {r: tr.load_dataset(path, rbp=r) for r in ("U6", "GA3")}
    cfg = tiny_config("polaris", epochs=3, inputs=("sequence", "region", "expression"),
                      optimizer="adam", learning_rate=1e-2, seq_length=60)
    one, two = (tr.train_per_rbp(datasets, replace(cfg, jobs=j)) for j in (1, 2))
    assert two.meta.rbps == one.meta.rbps == ["U6", "GA3"]
    assert two.meta.metrics["auroc"] == pytest.approx(one.meta.metrics["auroc"], abs=1e-4)
    assert two.meta.training["members"]["GA3"]["history"]["loss"] == pytest.approx(
        one.meta.training["members"]["GA3"]["history"]["loss"], rel=1e-4)
    batch = datasets["U6"].splits["test"].batch
    np.testing.assert_allclose(predict(two.model, two.meta.inputs, batch),
                               predict(one.model, one.meta.inputs, batch), atol=1e-4)
    assert two.fits["U6"].model is not None


def test_jobs_default_to_one_and_a_half_per_usable_core_and_one_on_a_gpu(monkeypatch):
    from varbind.training import members

    monkeypatch.setattr(members, "available_memory", lambda: 64 * 1024**3)
    monkeypatch.setattr(members, "usable_cores", lambda: 16)
    assert members.resolve_jobs(None, 27, on_gpu=False) == members.MAX_AUTO_JOBS
    assert members.resolve_jobs(None, 3, on_gpu=False) == 3
    assert members.resolve_jobs(None, 27, on_gpu=True) == 1
    assert members.resolve_jobs(4, 2, on_gpu=True) == 2
    monkeypatch.setattr(members, "usable_cores", lambda: 2)
    assert members.resolve_jobs(None, 9, on_gpu=False) == 3
    monkeypatch.setattr(members, "usable_cores", lambda: 1)
    assert members.resolve_jobs(None, 9, on_gpu=False) == 2
    with pytest.raises(VarbindError, match="--jobs must be 1 or more"):
        members.resolve_jobs(0, 2, on_gpu=False)


def test_automatic_jobs_fit_the_available_memory(monkeypatch):
    from varbind.training import members

    monkeypatch.setattr(members, "usable_cores", lambda: 16)
    monkeypatch.setattr(members, "available_memory", lambda: 5 * 1024**3)
    assert members.resolve_jobs(None, 27, on_gpu=False) == 2  # 2 GB each
    monkeypatch.setattr(members, "available_memory", lambda: 1024**3)
    assert members.resolve_jobs(None, 27, on_gpu=False) == 1
    assert members.resolve_jobs(6, 27, on_gpu=False) == 6  # an explicit --jobs is kept
    monkeypatch.setattr(members, "available_memory", lambda: None)  # unknown: no cap
    assert members.resolve_jobs(None, 27, on_gpu=False) == members.MAX_AUTO_JOBS


def test_members_start_largest_training_split_first():
    from types import SimpleNamespace

    from varbind.training.members import largest_first

    tasks = [(None, SimpleNamespace(splits={"train": range(n)})) for n in (120, 600, 40, 310)]
    assert largest_first(tasks) == [1, 3, 0, 2]


def test_cli_polaris_no_join_writes_one_bundle_per_rbp(tmp_path, capsys):
    write_dataset(tmp_path / "p.h5", n=120, per_rbp=True)
    code = main(["-q", "train", "--arch", "polaris", "--dataset", str(tmp_path / "p.h5"),
                 "--out", str(tmp_path / "set"), "--no-join", "--epochs", "1",
                 "--seq-length", "60", "--min-positives", "5", "--hparam", "filters=8",
                 "--hparam", "dense_units=8,4,4", "--max-tries", "1", "--allow-weak"])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["GA3", "U6"]
    meta = read_meta(tmp_path / "set" / "GA3")
    assert meta.rbps == ["GA3"] and meta.training["gradcam_layers"] == {"GA3": "conv2"}
    assert capsys.readouterr().out.count("wrote ") == 2


def test_write_bundle_refuses_a_foreign_directory(tmp_path, trained):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "x.txt").write_text("mine")
    with pytest.raises(VarbindError, match="output exists and is not a model bundle"):
        tr.write_bundle(trained[1], tmp_path / "stuff")
    assert (tmp_path / "stuff" / "x.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- CLI


def test_cli_train_from_a_dataset(tmp_path, capsys, caplog):
    path = tmp_path / "d.h5"
    write_dataset(path, n=200)
    out = tmp_path / "bundle"
    code = main(["-q", "train", "--arch", "residualbind", "--dataset", str(path), "--out",
                 str(out), "--epochs", "2", "--seq-length", "41", "--min-positives", "5",
                 "--hparam", "filters=8", "--hparam", "dense_units=16",
                 "--hparam", "batch_norm=false",
                 "--inputs", "sequence,region", "--max-tries", "1", "--allow-weak"])
    assert code == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "AUROC" in printed and "U6" in printed and "mean" in printed
    meta = read_meta(out)
    rare = [r for r, n in meta.metrics["positives"].items() if n < 20]
    assert rare  # 200 windows: a test split of ~30
    warning = [x for x in caplog.messages if "positive test windows" in x]
    assert len(warning) == 1 and all(f"{r} ({meta.metrics['positives'][r]}, SE " in warning[0]
                                     for r in rare)
    assert meta.architecture == "residualbind"
    assert [tuple(s.shape) for s in meta.inputs] == [(41, 8)]
    assert meta.training["config"]["hparams"]["filters"] == 8
    assert meta.training["config"]["hparams"]["batch_norm"] is False  # parsed, not "false"


@pytest.mark.parametrize("argv, message", [
    (["--arch", "cnn"], "unknown architecture 'cnn'"),
    (["--arch", "deepripe", "--inputs", "sequence,splicing"], "unknown input splicing"),
    (["--arch", "deepripe", "--hparam", "width=3"], "unknown hyperparameter 'width'"),
    (["--arch", "deepripe", "--hparam", "width"], "is not KEY=VALUE"),
    (["--arch", "deepripe"], "no training data"),
    (["--arch", "polaris", "--dataset", "{multi}"], "needs a per-RBP dataset"),
    (["--arch", "deepripe", "--dataset", "{per}"], "needs a multi-label dataset"),
    (["--arch", "deepripe", "--dataset", "{missing}"], "not a varbind training dataset"),
])
def test_cli_train_errors_are_one_line(tmp_path, capsys, argv, message):
    write_dataset(tmp_path / "multi.h5", n=40)
    write_dataset(tmp_path / "per.h5", n=40, per_rbp=True)
    paths = {"{multi}": tmp_path / "multi.h5", "{per}": tmp_path / "per.h5",
             "{missing}": tmp_path / "none.h5"}
    argv = [str(paths.get(a, a)) for a in argv]
    code = main(["train", *argv, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bundle_whose_model_json_disagrees_is_refused(tmp_path, trained, capsys):
    import shutil

    _, _, out = trained
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    meta = json.loads((bad / "model.json").read_text())
    meta["rbps"] = ["U6"]
    (bad / "model.json").write_text(json.dumps(meta))
    code = main(["evaluate", str(bad), "--dataset", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "model has 2 outputs but model.json names 1 RBPs" in err
    meta["rbps"] = ["U6", "GA3"]
    meta["inputs"][0]["length"] = 50
    (bad / "model.json").write_text(json.dumps(meta))
    code = main(["evaluate", str(bad), "--dataset", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "disagree with model.json inputs" in err


def test_cli_train_and_evaluate_from_peaks_of_the_tiny_world(tmp_path, capsys):
    from varbind.simulate import simulate_world

    world = tmp_path / "world"
    simulate_world(world, seed=0, size="tiny")
    files = ["--peaks", str(world / "peaks" / "manifest.tsv"), "--fasta",
             str(world / "genome.fa"), "--gtf", str(world / "genes.gtf"), "--expression",
             str(world / "expression.tsv"), "--cell-line", "SIM1"]
    out = tmp_path / "bundle"
    code = main(["-q", "train", "--arch", "deepripe", *files, "--out", str(out), "--epochs",
                 "1", "--min-positives", "5", "--hparam", "filters=8",
                 "--hparam", "merged_filters=8", "--hparam", "dense_units=16",
                 "--max-tries", "1", "--allow-weak"])
    assert code == 0
    meta = read_meta(out)
    assert meta.cell_line == "SIM1"
    assert {"fasta", "gtf", "expression", "dataset"} <= set(meta.data_digests)
    assert meta.data_digests["fasta"].startswith("sha256:")
    assert set(meta.rbps) <= {"HuR", "QKI", "SRSF1", "PCBP2", "RBFOX1", "KHDRBS1", "YBX1",
                              "ESRP2", "MSI1", "BRUNOL5"} and meta.rbps
    capsys.readouterr()
    code = main(["-q", "evaluate", str(out), *files, "--plots", str(tmp_path / "plots")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "all windows of" in printed and meta.rbps[0] in printed
    assert (tmp_path / "plots" / "pr.png").exists()


def _shortcut_data(n: int, seed: int = 0):
    """Planted motif data for one RBP where region (the center class) and expression also
    carry signal, so that a model can score well while ignoring the sequence."""
    from planted import planted_arrays

    from varbind.model.inputs import WindowBatch

    seq, region, expr, labels, split = planted_arrays(n, 60, 80, rbps=("U6",), rate=0.4,
                                                      seed=seed)
    rng = np.random.default_rng(seed + 1)
    pos = labels[:, 0] == 1
    region[pos & (rng.random(n) < 0.5)] = 3  # half the positives are in one region class
    expr = (0.3 * labels[:, 0] + rng.random(n)).astype(np.float32)
    splits = {}
    for name, code in {"train": 0, "validation": 1, "test": 2}.items():
        r = split == code
        splits[name] = tr.SplitData(WindowBatch(seq[r], region[r], expr[r]), labels[r])
    return tr.TrainingData(["U6"], splits, 60, 80)


def test_polaris_default_recipe_does_not_ignore_the_sequence():
    """Regression: the first demo POLARIS (Adam with the paper's L2 .01 on the convolutions)
    shrank its conv kernels to ~0 and scored random windows like real ones from region and
    expression alone. Trained with the default recipe (which caps that L2), destroying the
    motif must lower the prediction of the positive test windows."""
    from varbind.training.demo import DEMO_SETTINGS

    data = _shortcut_data(1200)
    hparams = {"filters": 16, "kernel_size": 6,
               "dense_units": DEMO_SETTINGS.polaris_hparams["dense_units"]}
    cfg = tiny_config("polaris", epochs=8, inputs=("sequence", "region", "expression"),
                      hparams=hparams, learning_rate=1e-2, batch_size=32, patience=0, seed=0,
                      recipe="varbind")
    result = tr.train_per_rbp({"U6": data}, cfg)
    test = data.splits["test"]
    positive = test.labels[:, 0] == 1
    batch = test.batch
    real = predict(result.model, result.meta.inputs, batch)[positive, 0]
    rng = np.random.default_rng(7)
    shuffled = type(batch)(rng.integers(0, 4, batch.seq.shape).astype(np.uint8), batch.region,
                           batch.expression)
    random = predict(result.model, result.meta.inputs, shuffled)[positive, 0]
    assert float(np.mean(real - random)) > 0.15  # 0.52; 0.04 with weight decay 0.1
