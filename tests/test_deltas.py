"""Deltas, logit deltas and consequences, by hand."""

import numpy as np
import pytest

from varbind.scoring.deltas import LOGIT_EPS, compute_deltas, consequence, logit


def test_deltas_index_the_shared_reference():
    ref = np.array([[0.2, 0.5], [0.9, 0.1]])
    alt = np.array([[0.4, 0.5], [0.1, 0.1], [0.9, 0.3]])
    d = compute_deltas(ref, alt, ref_index=np.array([0, 0, 1]))
    np.testing.assert_allclose(d.delta, [[0.2, 0], [-0.1, -0.4], [0, 0.2]], atol=1e-6)
    np.testing.assert_allclose(d.logit_delta[0, 0], np.log(0.4 / 0.6) - np.log(0.2 / 0.8),
                               rtol=1e-5)
    assert d.ref.shape == (3, 2)


def test_linear_models_have_no_logit_delta():
    d = compute_deltas(np.array([[2.0]]), np.array([[5.0]]), np.array([0]), output="linear")
    assert d.delta[0, 0] == 3.0 and np.isnan(d.logit_delta[0, 0])


def test_logit_is_clipped():
    assert logit(np.array([0.0]))[0] == pytest.approx(np.log(LOGIT_EPS / (1 - LOGIT_EPS)))
    assert np.isfinite(logit(np.array([1.0]))[0])


def test_consequence_threshold():
    out = consequence(np.array([-0.2, -0.1, -0.05, 0.0, 0.1, 0.3]), threshold=0.1)
    assert out.tolist() == ["binding_loss", "binding_loss", "binding_unchanged",
                            "binding_unchanged", "binding_gain", "binding_gain"]
