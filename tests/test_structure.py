"""RNAplfold structure channels through ViennaRNA: known folds, batching, caching, training."""

import numpy as np
import pytest
from planted import TINY, planted_data

from varbind.encoding import encode, encode_batch
from varbind.model import structure as st

HAIRPIN = "GGGGGGGGAAAACCCCCCCC"  # 8-bp G-C stem around an AAAA loop


def test_poly_a_cannot_pair():
    up = st.unpaired_probabilities("A" * 30)
    np.testing.assert_allclose(up, np.ones(30), atol=1e-6)


def test_hairpin_stem_paired_loop_unpaired():
    up = st.unpaired_probabilities(HAIRPIN)
    assert up.shape == (20,)
    assert (up[2:7] < 0.1).all() and (up[13:18] < 0.1).all()  # inner stem bases
    assert (up[8:12] > 0.9).all()  # the loop


def test_n_bases_stay_unpaired_and_dna_reads_as_rna():
    codes = encode("GGGGGGGGNNNNCCCCCCCC")
    (prof,) = st.StructureProfiler().profiles(codes[None, :])
    np.testing.assert_allclose(prof[8:12, 1], 1.0, atol=1e-6)
    t_version = st.unpaired_probabilities("TTTTGGGGAAAACCCC")
    u_version = st.unpaired_probabilities("UUUUGGGGAAAACCCC")
    np.testing.assert_allclose(t_version, u_version)


def test_fold_parameters():
    assert st.fold_parameters(150) == (150, 150)  # whole window, as ResidualBind
    assert st.fold_parameters(1000) == (150, 100)
    assert st.fold_parameters(1000, window=200, span=300) == (200, 200)


def test_profiles_are_batched_and_cached(tmp_path):
    codes = encode_batch([HAIRPIN, "A" * 20, HAIRPIN])
    prof = st.StructureProfiler(cache_dir=tmp_path)
    out = prof.profiles(codes)
    assert out.shape == (3, 20, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(out[0], out[2])
    assert prof.folded == 2  # the repeated hairpin came from memory
    assert len(list(tmp_path.glob("plfold-*.npy"))) == 1
    fresh = st.StructureProfiler(cache_dir=tmp_path)
    np.testing.assert_array_equal(fresh.profiles(codes), out)
    assert fresh.folded == 0  # served from the disk cache


def test_profiles_reject_a_flat_array():
    with pytest.raises(ValueError, match="codes must be \\(N, L\\)"):
        st.StructureProfiler().profiles(encode(HAIRPIN))


def test_multiresbind_trains_with_structure_channels(tmp_path):
    from varbind.training import train as tr

    data = planted_data(60, seq_length=40, region_length=40)
    cfg = tr.TrainConfig(arch="multiresbind", inputs=("sequence", "structure"), epochs=1,
                         seq_length=40, min_positives=1, hparams=TINY["multiresbind"],
                         progress=False, baseline_windows=5, structure_cache=str(tmp_path),
                         max_tries=1)
    result = tr.train_multilabel(data, cfg)
    assert [tuple(s.shape) for s in result.meta.inputs] == [(40, 6)]
    assert data.splits["train"].batch.structure.shape[1:] == (40, 2)
    assert list(tmp_path.glob("plfold-*.npy"))
