"""Resolver (the estimation hot path) on a model compiled to the large-model NumPy code path.

Independent check: the re-solve through ``dsge_agents.linear.large`` equals dense ordered QZ
(``solve(method="qz")``) on the same model, at the calibration and at a changed parameter.
"""
import numpy as np
import pytest

from dsge_agents.economy import builder
from dsge_agents.linear import solve
from dsge_agents.linear.resolver import Resolver


@pytest.fixture(scope="module")
def big():
    m = builder.build_model(builder.synthetic_config(60, "chain"))
    assert m.compiled.large            # 549 equations: vectorized NumPy code, no Numba functions
    return m


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_resolver_large_equals_qz(big):
    r = Resolver(big)
    for params in (None, {"omega": 0.3}):
        th = r.theta(params)
        ss, T, R, code = r(th)
        assert code == 0
        ref = solve(big, params=params, method="qz")
        assert _rel(T, ref.T) < 1e-8
        assert _rel(R, ref.R) < 1e-7      # QZ on the raw (badly scaled) pencil is itself good to ~1e-8
        np.testing.assert_allclose(ss, [ref.steady_state[v] for v in big.variables], rtol=1e-12)
