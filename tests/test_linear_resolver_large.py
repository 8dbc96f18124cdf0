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


def test_solution_irf_on_large_path_equals_qz(big):
    """Solution.irf_array of a large-path solution runs the state-space recursion of linear.large."""
    sol = solve(big, method="large")
    assert getattr(sol, "_large", None) is not None
    ref = solve(big, method="qz")
    names, a = sol.irf_array(12)
    names_ref, b = ref.irf_array(12)
    assert names == names_ref
    scale = np.abs(b).max(axis=(0, 1))
    err = np.abs(a - b).max(axis=(0, 1))
    assert np.all(err <= 1e-6 * scale + 1e-14)       # variables that do not respond (|b| ~ 1e-22) are 0 here
    assert np.abs(a).max() > 1.0                      # the responses are not trivially zero


def test_large_solution_assembles_dense_T_only_on_demand(big):
    """IRFs and ghx of a large-path solution come from the state-space ghx; the dense n × n T is
    built on first access, equal to QZ's (independent), and survives pickling."""
    import pickle

    sol = solve(big, method="large")
    assert "T" not in sol.__dict__
    sol.irf_array(6)
    ghx = sol.ghx
    assert "T" not in sol.__dict__                    # neither needed the dense transition
    ref = solve(big, method="qz")
    assert list(ghx.columns) == list(ref.ghx.columns) and list(ghx.index) == list(ref.ghx.index)
    assert _rel(ghx.to_numpy(), ref.ghx.to_numpy()) < 1e-8
    T = sol.T
    assert T is sol.T and "T" in sol.__dict__
    assert _rel(T, ref.T) < 1e-8
    np.testing.assert_array_equal(T[:, [big.variables.index(v) for v in sol.state_variables]][sol._rows],
                                  ghx.to_numpy())
    again = pickle.loads(pickle.dumps(solve(big, method="large")))
    np.testing.assert_array_equal(again.T, T)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        sol.nonexistent
