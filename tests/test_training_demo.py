"""The demo model set: rebuilt from the simulator by training/demo.py (tiny world and tiny
models here; the shipped set uses the full world), and the shipped set itself."""

import json

import numpy as np
import pytest

from varbind.cli import main
from varbind.model.bundle import load_bundle, load_model_set, read_meta
from varbind.training import demo

TINY_SETTINGS = demo.DemoSettings(
    multiresbind_hparams={"filters": 8, "dense_units": 16},
    polaris_hparams={"filters": 8, "dense_units": (8, 4, 4)},
    polaris_seq_length=120, min_positives=40, epochs=1, max_tries=1)


def test_build_demo_writes_a_loadable_model_set(tmp_path, capsys):
    out = tmp_path / "models"
    summary = demo.build_demo(out, seed=0, size="tiny", settings=TINY_SETTINGS)
    assert "demo_multiresbind" in summary and "demo_polaris" in summary
    build = json.loads((out / "build.json").read_text())
    assert build["command"] == "varbind models build-demo --seed 0 --world-seed 0 --size tiny"
    assert build["settings"]["polaris_seq_length"] == 120
    bundles = {b.name: b for b in load_model_set(out)}
    assert set(bundles) == {"demo_multiresbind", "demo_polaris"}
    mrb, pol = bundles["demo_multiresbind"], bundles["demo_polaris"]
    assert mrb.meta.architecture == "multiresbind" and pol.meta.architecture == "polaris"
    assert [tuple(s.shape) for s in mrb.meta.inputs] == [(150, 8)]
    assert [tuple(s.shape) for s in pol.meta.inputs] == [(120, 4), (7,), (1,)]
    assert tuple(pol.model.output.shape[1:]) == (len(pol.meta.rbps),)
    assert set(mrb.meta.baselines) == set(mrb.meta.rbps)
    assert build["metrics"]["demo_multiresbind"]["mean_auroc"] == mrb.meta.metrics["mean_auroc"]
    assert main(["models", "list", str(out)]) == 0
    listed = capsys.readouterr().out
    assert "demo_multiresbind" in listed and "demo_polaris" in listed


def test_cli_build_demo_rejects_a_bad_size(capsys):
    with pytest.raises(SystemExit):
        main(["models", "build-demo", "--size", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_shipped_demo_set_is_small_and_consistent():
    files = [f for f in demo.DEMO_MODELS.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) < 5_000_000
    build = json.loads((demo.DEMO_MODELS / "build.json").read_text())
    for name in ("multiresbind", "polaris"):
        meta = read_meta(demo.DEMO_MODELS / name)
        assert build["metrics"][meta.name]["mean_auroc"] == meta.metrics["mean_auroc"]
        bundle = load_bundle(demo.DEMO_MODELS / name)
        x = [np.zeros((2, *s.shape), np.float32) for s in meta.inputs]
        assert np.asarray(bundle.model(x)).shape == (2, len(meta.rbps))
