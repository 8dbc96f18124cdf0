"""Precision of the first-order solution on badly scaled models (dsge_agents.linear.scaling / .refine).

The agent economy has SLO-violation rates of 1e-5 next to capacities of 600 (and demand of 1e7 in the
orch_huge_demand variant): plain QZ lost up to 5e-8 of an IRF's scale on the default economy and 1.4e-5
with λ̄ = 1e7, and the Numba and NumPy code paths (same Jacobian to 1e-16) disagreed by 1.5e-9 / 1.4e-5.
Independent references used here, none produced by the QZ under test:

* the sparse structured solver (``method="large"``: exogenous blocks + low-rank cyclic reduction,
  dsge_agents/linear/large.py) and the dense cyclic reduction (``method="cr"``);
* homogeneity: the economy is homogeneous of degree one in demand, capacities, investment and cost
  (docs/orchestrated_economy.md §7), so the λ̄ = 1e-6 and 1e7 variants are the default economy in other
  units and their IRFs / decision rules are the default's times exact powers of λ̄_variant / λ̄_default;
* a change of units by powers of two, which is exact in floating point: the solution of
  ``diag(r) A diag(c)`` is ``diag(c)⁻¹ T diag(c)``, ``diag(c)⁻¹ R`` of the original.
"""
from __future__ import annotations

import numpy as np
import pytest

from dsge_agents.cli._common import one_shot
from dsge_agents.economy import builder
from dsge_agents.linear import solve, solve_matrices
from dsge_agents.linear.refine import _stein
from dsge_agents.linear.solution import incidence

TOL = 1e-12     # the refined solutions reach 1e-15..2e-15 of each variable's scale (measured)


@pytest.fixture(scope="module")
def default(models_dir):
    model = builder.build_model(models_dir / "orchestrated_default.yaml")
    return model, solve(model)


def _irf_err(a, b):
    """max |a − b| over shocks and periods, relative to each variable's largest response in b."""
    scale = np.abs(b).max(axis=(0, 1))
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(a - b) / scale[None, None, :]))


def _row_err(a, b):
    """max |a − b| relative to the largest entry of each row of b (rows that are zero: absolute)."""
    scale = np.abs(b).max(axis=1)
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(a - b) / scale[:, None]))


def test_numba_and_numpy_code_paths_agree(default):
    """`dsge-agents irf` (NumPy model code, one_shot) and the Python API (Numba model code)."""
    model, sol = default
    cli = solve(one_shot(model), method="qz")
    assert np.max(np.abs(cli._matrices[1] - sol._matrices[1])) > 0     # the two Jacobians do differ (rounding)
    assert _irf_err(cli.irf_array(40)[1], sol.irf_array(40)[1]) <= TOL
    assert _row_err(cli.ghx.to_numpy(), sol.ghx.to_numpy()) <= TOL
    assert _row_err(cli.ghu.to_numpy(), sol.ghu.to_numpy()) <= TOL


def test_default_economy_matches_independent_solvers(default):
    model, sol = default
    assert sol.info.rescaled and sol.info.newton_steps >= 1
    large = solve(model, method="large")
    assert _irf_err(sol.irf_array(40)[1], large.irf_array(40)[1]) <= TOL
    assert _row_err(sol.ghu.to_numpy(), large.ghu.to_numpy()) <= TOL
    cr = solve(model, method="cr")          # cyclic reduction stops at its own 1e-13 tolerance
    assert _irf_err(sol.irf_array(40)[1], cr.irf_array(40)[1]) <= 1e-11


def test_well_scaled_models_are_not_rescaled():
    """nk3's entries span less than 2^16: the QZ runs on the pencil as given (Dynare's), no Newton step."""
    import dsge_agents.api as da
    sol = solve(da.load_model("nk3"))
    assert not sol.info.rescaled and sol.info.newton_steps == 0


@pytest.mark.parametrize("variant", ["orch_huge_demand", pytest.param("orch_tiny_demand", marks=pytest.mark.slow)])
def test_scaled_economies_by_homogeneity(repo, default, variant):
    model0, sol0 = default
    model = builder.build_model(repo / "tests" / "data" / "dynare" / "orchestrated_variants" / f"{variant}.yaml")
    sol = solve(model)
    k = model.parameters["lam_bar"] / model0.parameters["lam_bar"]
    assert list(sol.declared) == list(sol0.declared)
    names, irf = sol.irf_array(40)
    names0, irf0 = sol0.irf_array(40)
    assert names == names0
    # degree of homogeneity of each variable: 1 (extensive: demand, capacities, cost ...) or 0, read
    # from the steady state, or for variables at 0 in steady state from the size of their responses
    ss, ss0 = sol.steady_state.to_numpy(), sol0.steady_state.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(ss0 != 0, np.log(np.abs(ss / ss0)) / np.log(k),
                     np.log(np.abs(irf).max(axis=(0, 1)) / np.abs(irf0).max(axis=(0, 1))) / np.log(k))
    moving = np.abs(irf0).max(axis=(0, 1)) > 0
    d = np.where(moving | (ss0 != 0), d, 0.0)
    assert np.allclose(d, np.round(d), atol=1e-9) and set(np.round(d)) <= {0.0, 1.0}
    f = k ** np.round(d)
    assert _irf_err(irf / f[None, None, :], irf0) <= 1e-11
    rows = {v: i for i, v in enumerate(sol.declared)}
    fs = np.array([f[rows[c[:-4]]] for c in sol.ghx.columns])       # 'name(-1)' -> the state's factor
    assert _row_err(sol.ghx.to_numpy() / f[:, None] * fs[None, :], sol0.ghx.to_numpy()) <= 1e-11
    assert _row_err(sol.ghu.to_numpy() / f[:, None], sol0.ghu.to_numpy()) <= 1e-11
    # eigenvalues: the same economy, the same roots (QZ on the rescaled pencil: 2e-9 with λ̄ = 1e7,
    # where the unscaled pencil gave 3e-7 and Dynare 5.3 1.1e-4)
    m = np.sort(np.abs(sol.eigenvalues))
    m0 = np.sort(np.abs(sol0.eigenvalues))
    sel = (m0 > 1e-8) & (m0 < 1e3)
    np.testing.assert_allclose(m[sel], m0[sel], rtol=1e-8)
    assert sol.bk == sol0.bk


def _rescaled(A, e, seed):
    n = A[1].shape[0]
    rng = np.random.default_rng(seed)
    r = np.exp2(rng.integers(-e, e + 1, n)).astype(float)
    c = np.exp2(rng.integers(-e, e + 1, n)).astype(float)
    return [(M * r[:, None]) * c[None, :] for M in A[:3]] + [A[3] * r[:, None]], c


@pytest.mark.parametrize("name", ["nk3", "rbc", "fs2000"])
def test_change_of_units_is_exact(repo, name):
    """Equations and variables rescaled by random powers of two up to 2^±20 (a 1e12 spread of units):
    the same solution in the new units. The unscaled pencil failed outright for rbc and fs2000
    ('eigenvalue close to 0/0': Dynare's absolute qz_zero_threshold) before the equilibration."""
    import dsge_agents.api as da
    model = da.load_model(repo / "models" / "fs2000.mod" if name == "fs2000" else name)
    sol = solve(model)
    lag, lead = incidence(sol.model)
    A = [np.asarray(a) for a in sol._matrices]
    As, c = _rescaled(A, 20, seed=0)
    T, R, info = solve_matrices(*As, 1 + 1e-6, lag, lead)
    S = sol.info.state_indices
    Tx = (sol.T / c[:, None]) * c[None, :]
    Rx = sol.R / c[:, None]
    # rows relative to their largest entry in T or R (a variable that only responds to shocks has a
    # zero row of T, where QZ leaves rounding residue)
    scale = np.maximum(np.abs(Tx).max(axis=1), np.abs(Rx).max(axis=1) * np.abs(Tx).max() / np.abs(Rx).max())
    scale[scale == 0] = 1.0
    assert np.max(np.abs(T[:, S] - Tx[:, S]) / scale[:, None]) <= 1e-12
    scale_r = np.abs(Rx).max(axis=1)
    scale_r[scale_r == 0] = 1.0
    assert np.max(np.abs(R - Rx) / scale_r[:, None]) <= 1e-12
    def finite(ev):       # zero and infinite roots are rounding residue (1e-17, 1e16): not compared
        m = np.sort(np.abs(ev))
        return m[(m > 1e-8) & (m < 1e3)]
    np.testing.assert_allclose(finite(info.eigenvalues), finite(sol.eigenvalues), rtol=1e-10)
    assert (info.n_explosive, info.n_forward, info.n_states) == (sol.info.n_explosive, sol.info.n_forward,
                                                                 sol.info.n_states)


@pytest.mark.parametrize("p,q", [(3, 4), (30, 25)])   # Kronecker system / Bartels–Stewart sweep
def test_stein_equation(p, q):
    rng = np.random.default_rng(p)
    K = rng.standard_normal((p, p)) / (2 * np.sqrt(p))
    G = rng.standard_normal((q, q)) / (2 * np.sqrt(q))
    C = rng.standard_normal((p, q))
    W = _stein(K, G, C)
    assert np.max(np.abs(W + K @ W @ G - C)) <= 1e-12 * np.max(np.abs(C))


def test_unbalanced_option_is_dynare_pencil(default):
    """balance=False: the pencil as given and no Newton step (what Dynare does); the eigenvalue counts agree."""
    model, sol = default
    lag, lead = incidence(model)
    T, R, info = solve_matrices(*sol._matrices, 1 + 1e-6, lag, lead, balance=False)
    assert not info.rescaled and info.newton_steps == 0
    assert (info.n_explosive, info.n_forward) == (sol.info.n_explosive, sol.info.n_forward)
    assert _irf_err(T[None], sol.T[None]) < 1e-6


def test_implausible_rescaled_solution_falls_back_to_the_pencil_as_given(default, monkeypatch):
    """The safety net of solve_matrices: when the rescaled solution fails its residual check, the
    unscaled pencil (balance=False, Dynare's procedure) is solved instead of the rescaled one again."""
    from dsge_agents.linear import qz
    model, sol = default
    lag, lead = incidence(model)
    T0, R0, _ = solve_matrices(*sol._matrices, 1 + 1e-6, lag, lead, balance=False)
    monkeypatch.setattr(qz, "_plausible", lambda *a: False)
    T, R, info = solve_matrices(*sol._matrices, 1 + 1e-6, lag, lead)
    assert not info.rescaled and info.newton_steps == 0
    np.testing.assert_array_equal(T, T0)
    np.testing.assert_array_equal(R, R0)
