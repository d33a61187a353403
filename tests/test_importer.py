"""Importing Keras 2 .h5 models (saved here through tf-keras, DeepRiPe's architecture)."""

import json

import numpy as np
import pytest

from varbind.cli import main
from varbind.errors import InputFileError, ModelBundleError
from varbind.model.bundle import load_bundle, read_meta
from varbind.training.importer import custom_layer_classes, import_h5

pytestmark = pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5:UserWarning")


def deepripe_tf_keras(k: int, custom: bool = False):
    """DeepRiPe's create_diff_model6 in tf-keras (Keras 2), tiny filter counts."""
    import tf_keras as tk

    L = tk.layers
    seq = L.Input((150, 4), name="left_input")
    reg = L.Input((250, 4), name="right_input")
    x = L.Dropout(0.25)(L.MaxPooling1D(4, strides=2)(L.Conv1D(6, 7, activation="relu")(seq)))
    y = L.Dropout(0.25)(L.MaxPooling1D(10, strides=5)(L.Conv1D(6, 7, activation="relu")(reg)))
    m = L.concatenate([x, y], axis=-2)
    m = L.Conv1D(5, 5, activation="relu")(m)
    m = L.Flatten()(L.Dropout(0.25)(L.MaxPooling1D(10, strides=5)(m)))
    if custom:
        @tk.utils.register_keras_serializable(package="lab")
        class Scale(L.Layer):
            def call(self, inputs):
                return inputs * 2.0

        m = Scale()(m)
    out = L.Dense(k, activation="sigmoid")(L.Dense(8, activation="relu")(m))
    tk.utils.set_random_seed(0)
    return tk.Model([seq, reg], out)


@pytest.fixture(scope="module")
def saved_h5(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("imp")
    model = deepripe_tf_keras(3)
    model.save(tmp / "deepripe.h5")
    rng = np.random.default_rng(0)
    x = [rng.random((6, 150, 4)).astype(np.float32), rng.random((6, 250, 4)).astype(np.float32)]
    return tmp, x, model.predict(x, verbose=0)


def write_meta(path, **kw):
    d = {"name": "deepripe_test", "architecture": "deepripe", "rbps": ["A", "B", "C"],
         "cell_line": "HEK293", "genome_build": "hg19"}
    d.update(kw)
    path.write_text(json.dumps(d))
    return path


def test_import_keeps_predictions_and_derives_deepripe_inputs(saved_h5, tmp_path):
    tmp, x, want = saved_h5
    out = import_h5(tmp / "deepripe.h5", write_meta(tmp_path / "m.json"), tmp_path / "b")
    bundle = load_bundle(out)
    got = np.asarray(bundle.model(x, training=False))
    np.testing.assert_allclose(got, want, atol=1e-6)
    meta = read_meta(out)
    assert meta.rbps == ["A", "B", "C"] and meta.cell_line == "HEK293"
    assert [(s.name, tuple(s.shape)) for s in meta.inputs] == [("sequence", (150, 4)),
                                                              ("region", (250, 4))]
    assert meta.inputs[1].components[0].channels == ("intron", "cds", "3utr", "5utr")
    assert meta.training["imported_from"]["file"] == "deepripe.h5"
    assert meta.data_digests["source_model"].startswith("sha256:")


def test_cli_import(saved_h5, tmp_path, capsys):
    tmp, _, _ = saved_h5
    code = main(["models", "import", str(tmp / "deepripe.h5"), "--meta",
                 str(write_meta(tmp_path / "m.json")), "--out", str(tmp_path / "b")])
    assert code == 0
    assert "deepripe, 3 RBPs" in capsys.readouterr().out
    assert main(["models", "list", str(tmp_path)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:3] == ["name", "architecture", "RBPs"]
    assert listed[1].split()[:3] == ["deepripe_test", "deepripe", "A,B,C"]


def test_custom_layers_are_named_in_a_one_line_error(tmp_path, capsys):
    deepripe_tf_keras(2, custom=True).save(tmp_path / "custom.h5")
    assert custom_layer_classes(tmp_path / "custom.h5") == ["Scale"]
    with pytest.raises(ModelBundleError, match="custom layers Scale .*load_weights"):
        import_h5(tmp_path / "custom.h5", write_meta(tmp_path / "m.json", rbps=["A", "B"]),
                  tmp_path / "b")
    code = main(["models", "import", str(tmp_path / "custom.h5"), "--meta",
                 str(tmp_path / "m.json"), "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Scale" in err
    assert not (tmp_path / "b").exists()


def test_metadata_that_disagrees_with_the_model_fails(saved_h5, tmp_path):
    tmp, _, _ = saved_h5
    with pytest.raises(ModelBundleError, match="model has 3 outputs but model.json names 2"):
        import_h5(tmp / "deepripe.h5", write_meta(tmp_path / "m.json", rbps=["A", "B"]),
                  tmp_path / "b")
    assert not (tmp_path / "b").exists() and not list(tmp_path.glob(".b.*"))
    with pytest.raises(InputFileError, match="metadata lacks rbps"):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"name": "x"}))
        import_h5(tmp / "deepripe.h5", bad, tmp_path / "b")
    with pytest.raises(InputFileError, match="not valid JSON"):
        bad.write_text("{name: x")
        import_h5(tmp / "deepripe.h5", bad, tmp_path / "b")
    with pytest.raises(InputFileError, match="not an HDF5 file"):
        (tmp_path / "junk.h5").write_text("not hdf5")
        import_h5(tmp_path / "junk.h5", write_meta(tmp_path / "m.json"), tmp_path / "b")
