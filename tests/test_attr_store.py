"""varbind.interpret.store: the attribution HDF5 layout, written and read back with plain h5py."""

import json

import h5py
import numpy as np
import pytest

from varbind.encoding import encode
from varbind.errors import InputFileError
from varbind.interpret.gradcam_motifs import Cluster
from varbind.interpret.store import AttributionWriter, list_rows, read_explanation
from varbind.interpret.variant_maps import VariantExplanation, VariantSite

L = 12


def _explanation(label, rbp, strand="+", model="toy", seed=0, ism=False, motif=True):
    rng = np.random.default_rng(seed)
    chrom, pos, change = label.split(":")
    ref, alt = change.split(">")
    site = VariantSite(label, chrom, int(pos) - 1, int(pos) - 1 + len(ref), alt, strand)
    clusters = [Cluster(3, 9, 0.9, True, tuple(range(3, 9)))] if motif else []
    return VariantExplanation(
        site=site, rbp=rbp, model=model, ref_seq=encode("ACGTACGTACGT"),
        alt_seq=encode("ACGTACTTACGT"), ref_coord=np.arange(100, 112),
        alt_coord=np.arange(100, 112), region=np.full(L, 3, np.int8), ref_score=0.9,
        alt_score=0.2, ig_ref=rng.normal(size=(L, 4)), ig_alt=rng.normal(size=(L, 4)),
        ig_gap=np.array([1e-3, -2e-3]), gradcam_ref=rng.random(L), gradcam_alt=rng.random(L),
        gradcam_layer="conv", ism_ref=rng.normal(size=(L, 4)) if ism else None,
        ism_alt=rng.normal(size=(L, 4)) if ism else None, clusters_ref=clusters,
        clusters_alt=[], motif_call="LOST", known_motif="RBFOX1:RNCMPT00168",
        ig_at_variant=-0.5, ig_max_delta=-0.7, ig_max_offset=2)


def test_write_and_read_back(tmp_path):
    path = tmp_path / "attr.h5"
    rows = [_explanation("chr1:107:G>T", "RBFOX1", seed=1),
            _explanation("chr1:107:G>T", "QKI", seed=2, motif=False),
            _explanation("chr2:50:A>C", "RBFOX1", strand="-", seed=3)]
    with AttributionWriter(path, models={"toy": "sha256:abc"}, options={"ig_steps": 50}) as w:
        w.append(rows[:2])
        w.append(rows[2:])
        assert not path.exists()  # written atomically: only on success
    assert w.rows == 3
    with h5py.File(path, "r") as f:  # plain h5py
        assert f.attrs["format"] == "varbind-attributions"
        assert json.loads(f.attrs["models"]) == {"toy": "sha256:abc"}
        g = f["models/toy"]
        assert g.attrs["length"] == L
        assert g["ig_ref"].shape == (3, L, 4) and g["ig_ref"].compression == "gzip"
        assert g["ig_ref"].chunks[1:] == (L, 4)
        assert g["label"].asstr()[:].tolist() == ["chr1:107:G>T", "chr1:107:G>T", "chr2:50:A>C"]
        assert g["pos"][:].tolist() == [107, 107, 50]
        np.testing.assert_allclose(g["delta"][:], -0.7, rtol=1e-6)
        assert "ism_ref" not in g  # not requested
        assert g["motif_row"][:].tolist() == [0, 2]
        assert g["motif_seq"].asstr()[:].tolist() == ["TACGTA", "TACGTA"]
    got = read_explanation(path, "chr1:107:G>T", "QKI")
    np.testing.assert_allclose(got.maps["ig_ref"], rows[1].ig_ref, rtol=1e-6)
    np.testing.assert_array_equal(got.maps["ref_seq"], rows[1].ref_seq)
    assert got.fields["motif_call"] == "LOST" and got.fields["strand"] == "+"
    assert got.fields["ig_max_offset"] == 2 and got.motifs == []
    minus = read_explanation(path, "chr2:50:A>C", "RBFOX1")
    assert minus.fields["strand"] == "-"
    assert minus.motifs == [dict(allele=0, start=3, end=9, score=pytest.approx(0.9), seq="TACGTA")]
    assert [r[2:] for r in list_rows(path)][0] == ("chr1:107:G>T", "+", "RBFOX1")


def test_ism_maps_and_a_second_model(tmp_path):
    path = tmp_path / "attr.h5"
    with AttributionWriter(path) as w:
        w.append([_explanation("chr1:107:G>T", "RBFOX1", ism=True),
                  _explanation("chr1:107:G>T", "RBFOX1", model="other", strand="-")])
        w.append([_explanation("chr1:107:G>T", "QKI", ism=False)])  # same model, no ISM
    with pytest.raises(InputFileError, match="has 2 entries.*--strand"):
        read_explanation(path, "chr1:107:G>T", "RBFOX1")
    got = read_explanation(path, "chr1:107:G>T", "RBFOX1", model="toy")
    assert got.maps["ism_ref"].shape == (L, 4) and np.isfinite(got.maps["ism_ref"]).all()
    assert np.isnan(read_explanation(path, "chr1:107:G>T", "QKI").maps["ism_ref"]).all()
    other = read_explanation(path, "chr1:107:G>T", "RBFOX1", strand="-")
    assert other.model == "other" and "ism_ref" not in other.maps


def test_errors_name_the_file_and_what_is_there(tmp_path):
    path = tmp_path / "attr.h5"
    with AttributionWriter(path) as w:
        w.append([_explanation("chr1:107:G>T", "RBFOX1")])
    with pytest.raises(InputFileError, match="no attribution for chr1:107:G>T and PUM2.*RBFOX1"):
        read_explanation(path, "chr1:107:G>T", "PUM2")
    with pytest.raises(InputFileError, match="no attribution for chr9:1:A>C.*chr1:107:G>T"):
        read_explanation(path, "chr9:1:A>C", "RBFOX1")
    with pytest.raises(InputFileError, match="no such attribution file"):
        read_explanation(tmp_path / "none.h5", "chr1:107:G>T", "RBFOX1")
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(InputFileError, match="not an HDF5 file"):
        list_rows(bad)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something"
    with pytest.raises(InputFileError, match="not a varbind attribution file"):
        list_rows(tmp_path / "other.h5")


def test_interrupted_write_leaves_no_file(tmp_path):
    path = tmp_path / "attr.h5"
    with pytest.raises(RuntimeError, match="boom"), AttributionWriter(path) as w:
        w.append([_explanation("chr1:107:G>T", "RBFOX1")])
        raise RuntimeError("boom")
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_merge_shards_in_order(tmp_path):
    from varbind.interpret.store import merge_stores

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    with AttributionWriter(a, models={"toy": "sha256:1"}) as w:
        w.append([_explanation("chr1:107:G>T", "RBFOX1", seed=1)])
    with AttributionWriter(b, models={"toy": "sha256:1"}) as w:
        w.append([_explanation("chr2:50:A>C", "QKI", seed=2, motif=False),
                  _explanation("chr2:60:A>C", "QKI", seed=3)])
    assert merge_stores([a, b], tmp_path / "all.h5") == 3
    with h5py.File(tmp_path / "all.h5", "r") as f:
        g = f["models/toy"]
        assert g["label"].asstr()[:].tolist() == ["chr1:107:G>T", "chr2:50:A>C", "chr2:60:A>C"]
        assert g["motif_row"][:].tolist() == [0, 2]  # the second shard's motif moved to row 2
        assert f.attrs["rows"] == 3 and g["ig_ref"].compression == "gzip"
    got = read_explanation(tmp_path / "all.h5", "chr2:60:A>C", "QKI")
    assert got.motifs[0]["seq"] == "TACGTA" and got.row == 2
