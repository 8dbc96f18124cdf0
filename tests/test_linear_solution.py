"""Model-level solution tests: closed forms, BK errors, Resolver, moments and IRF kernels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sla

from dsge_agents.errors import DSGEError, IndeterminacyError, NoStableSolutionError
from dsge_agents.linear import Resolver, solve
from dsge_agents.linear import kernels
from dsge_agents.model import from_dict, load


@pytest.fixture(scope="module")
def nk3(models_dir):
    return load(models_dir / "nk3.yaml")


def test_nk3_rho_i_zero_closed_form(nk3):
    """Undetermined coefficients with rho_i = 0.

    With iid e_i and rn_t = rho rn_{t-1} + e_r, guess x = a_r rn_t + a_e e_i,
    pi = b_r rn_t + b_e e_i (so E x' = a_r rho rn_t, E pi' = b_r rho rn_t):
      rn terms:  (1 - rho + sigma phi_x) a_r + sigma (phi_pi - rho) b_r = sigma
                 -kappa a_r + (1 - beta rho) b_r = 0
      e_i terms: (1 + sigma phi_x) a_e + sigma phi_pi b_e = -sigma
                 -kappa a_e + b_e = 0
    and i = phi_pi pi + phi_x x + e_i.
    """
    p = dict(nk3.parameters)
    beta, sigma, kappa = p["beta"], p["sigma"], p["kappa"]
    phi_pi, phi_x, rho = p["phi_pi"], p["phi_x"], p["rho_r"]
    a_r, b_r = np.linalg.solve([[1 - rho + sigma * phi_x, sigma * (phi_pi - rho)], [-kappa, 1 - beta * rho]],
                               [sigma, 0.0])
    a_e, b_e = np.linalg.solve([[1 + sigma * phi_x, sigma * phi_pi], [-kappa, 1.0]], [-sigma, 0.0])
    i_r, i_e = phi_pi * b_r + phi_x * a_r, phi_pi * b_e + phi_x * a_e + 1.0
    for method in ("qz", "cr"):
        sol = solve(nk3, params={"rho_i": 0.0}, method=method)
        # i(-1) stays a state (structural incidence) with a zero column, as in Dynare
        assert list(sol.ghx.columns) == ["i(-1)", "rn(-1)"]
        np.testing.assert_allclose(sol.ghx["i(-1)"], 0.0, atol=1e-12)
        np.testing.assert_allclose(sol.ghx.loc[["x", "pi", "i", "rn"], "rn(-1)"],
                                   [rho * a_r, rho * b_r, rho * i_r, rho], rtol=1e-10)
        np.testing.assert_allclose(sol.ghu.loc[["x", "pi", "i", "rn"], "e_r"], [a_r, b_r, i_r, 1.0], rtol=1e-10)
        np.testing.assert_allclose(sol.ghu.loc[["x", "pi", "i", "rn"], "e_i"], [a_e, b_e, i_e, 0.0],
                                   rtol=1e-10, atol=1e-14)


def test_nk3_indeterminate_and_explosive(nk3):
    with pytest.raises(IndeterminacyError) as ei:
        solve(nk3, params={"phi_pi": 0.5, "phi_x": 0.0})
    assert ei.value.n_explosive == 1 and ei.value.n_forward == 2
    assert "1 eigenvalue(s) larger than 1 in modulus for 2 forward-looking" in str(ei.value)
    with pytest.raises(IndeterminacyError):
        solve(nk3, params={"phi_pi": 0.5, "phi_x": 0.0}, method="cr")
    with pytest.raises(NoStableSolutionError) as ei:
        solve(nk3, params={"rho_r": 1.05})
    assert ei.value.n_explosive == 3 and ei.value.n_forward == 2


def test_solution_fields_and_summary(nk3):
    sol = solve(nk3)
    assert list(sol.ghx.index) == ["x", "pi", "i", "rn"]
    assert list(sol.ghu.columns) == ["e_i", "e_r"]
    assert sol.state_variables == ["i", "rn"]
    assert isinstance(sol.steady_state, pd.Series)
    bk = sol.bk
    assert bk["determinate"] and bk["n_explosive"] == bk["n_forward"] == 2
    A_lag, A_cur, A_lead, A_u = sol._matrices
    np.testing.assert_allclose(A_lead @ sol.T @ sol.T + A_cur @ sol.T + A_lag, 0, atol=1e-12)
    s = sol.summary()
    assert "EIGENVALUES" in s and "2 eigenvalue(s) larger than 1" in s and "i(-1)" in s
    d = sol.to_dict()
    assert set(d) == {"parameters", "steady_state", "eigenvalues", "ghx", "ghu"}
    assert d["ghx"]["cols"] == ["i(-1)", "rn(-1)"]
    # CR and QZ agree at the model level
    sol2 = solve(nk3, method="cr")
    np.testing.assert_allclose(sol2.T, sol.T, atol=1e-12)
    np.testing.assert_allclose(sol2.R, sol.R, atol=1e-12)
    assert sol2.bk == sol.bk


def test_resolver_matches_solve_and_reports_failures(nk3):
    r = Resolver(nk3)
    th = r.theta()
    ss, T, R, code = r(th)
    sol = solve(nk3)
    assert code == 0
    np.testing.assert_allclose(T, sol.T, atol=1e-12)
    np.testing.assert_allclose(R, sol.R, atol=1e-12)
    ss, T, R, code = r(r.theta({"phi_pi": 0.5, "phi_x": 0.0}))
    assert code == 1, Resolver.message(code)
    ss, T, R, code = r(r.theta({"rho_r": 1.05}))
    assert code == 2, Resolver.message(code)
    # a different determinate point
    th2 = r.theta({"phi_pi": 2.0, "rho_i": 0.8})
    _, T2, R2, code = r(th2)
    sol2 = solve(nk3, params={"phi_pi": 2.0, "rho_i": 0.8})
    assert code == 0
    np.testing.assert_allclose(T2, sol2.T, atol=1e-12)


def test_resolver_numeric_steady_state(models_dir):
    m = load(models_dir / "rbc.yaml")
    r = Resolver(m)
    ss, T, R, code = r(r.theta())
    sol = solve(m)
    assert code == 0
    np.testing.assert_allclose(ss[: len(sol.declared)], sol.steady_state.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(T, sol.T, atol=1e-10)
    np.testing.assert_allclose(R, sol.R, atol=1e-10)


def _ar1(rho=0.7, std=0.3):
    return from_dict({"name": "ar1", "variables": ["y"], "shocks": {"e": std}, "parameters": {"rho": rho},
                      "equations": ["y = rho*y(-1) + e"], "steady_state": {"y": 0}})


def test_irf_scalar_ar1():
    sol = solve(_ar1(0.7, 0.3))
    irf = sol.irf(periods=12)
    assert list(irf.columns) == ["shock", "variable", "period", "value"]
    assert irf["period"].tolist() == list(range(1, 13))
    np.testing.assert_allclose(irf["value"], 0.3 * 0.7 ** np.arange(12), rtol=1e-13)
    # kernel directly
    out = kernels.irf(np.array([[0.9]]), np.array([[1.0]]), np.array([2.0]), 5)
    np.testing.assert_allclose(out[:, 0], 2.0 * 0.9 ** np.arange(5))


def test_irf_correlated_shocks_use_cholesky():
    m = from_dict({"name": "c2", "variables": ["y", "z"], "shocks": {"e": 0.3, "u": 0.2},
                   "shock_correlations": {"e, u": 0.5}, "parameters": {"rho": 0.7},
                   "equations": ["y = rho*y(-1) + e", "z = 0.5*z(-1) + u"],
                   "steady_state": {"y": 0, "z": 0}})
    sol = solve(m)
    L = np.linalg.cholesky(sol.shock_cov)
    irf = sol.irf(periods=3)
    # impact of shock e on z is L[1,0] = 0.5*0.2 (Dynare's orthogonalization in declaration order)
    v = irf[(irf.shock == "e") & (irf.variable == "z") & (irf.period == 1)].value.item()
    assert v == pytest.approx(L[1, 0]) and v == pytest.approx(0.1)
    v = irf[(irf.shock == "u") & (irf.variable == "y") & (irf.period == 1)].value.item()
    assert v == 0.0
    vd = sol.variance_decomposition()
    np.testing.assert_allclose(vd.sum(axis=1), 100.0)


def test_lyapunov_doubling_vs_scipy():
    rng = np.random.default_rng(5)
    for n in (1, 3, 8):
        A = rng.standard_normal((n, n))
        A *= 0.95 / max(np.abs(np.linalg.eigvals(A)))
        B = rng.standard_normal((n, n))
        V = B @ B.T
        S, ok = kernels.lyapunov_doubling(A, V, 1e-15, 200)
        assert ok
        np.testing.assert_allclose(S, sla.solve_discrete_lyapunov(A, V), rtol=1e-9, atol=1e-12)
    S, ok = kernels.lyapunov_doubling(np.array([[1.01]]), np.array([[1.0]]), 1e-15, 200)
    assert not ok


def test_moments_and_variance_decomposition(nk3):
    sol = solve(nk3)
    mo = sol.moments(nlags=5)
    Sigma = sla.solve_discrete_lyapunov(sol.T, sol.R @ sol.shock_cov @ sol.R.T)
    np.testing.assert_allclose(mo["covariance"].to_numpy(), Sigma, rtol=1e-10)
    np.testing.assert_allclose(mo["std"] ** 2, mo["variance"], rtol=1e-12)
    assert list(mo["autocorr"].columns) == [1, 2, 3, 4, 5]
    G3 = np.linalg.matrix_power(sol.T, 3) @ Sigma
    np.testing.assert_allclose(mo["autocorr"][3], np.diag(G3) / np.diag(Sigma), rtol=1e-10)
    vd = sol.variance_decomposition()
    np.testing.assert_allclose(vd.sum(axis=1), 100.0, rtol=1e-12)
    # rn is driven by e_r only
    assert vd.loc["rn", "e_r"] == pytest.approx(100.0)
    # independent check: one-shock Lyapunov by SciPy
    r = sol.R[:, [0]] * np.sqrt(sol.shock_cov[0, 0])
    S0 = sla.solve_discrete_lyapunov(sol.T, r @ r.T)
    np.testing.assert_allclose(vd["e_i"], 100 * np.diag(S0) / np.diag(Sigma), rtol=1e-9)


def test_simulate_reproducible_and_consistent(nk3):
    sol = solve(nk3)
    a = sol.simulate(200, seed=3, burn=10)
    b = sol.simulate(200, seed=3, burn=10)
    assert a.equals(b) and a.shape == (200, 4) and list(a.columns) == ["x", "pi", "i", "rn"]
    assert not a.equals(sol.simulate(200, seed=4, burn=10))
    # the recursion holds on the simulated path for a purely backward variable
    rn = a["rn"].to_numpy()
    e = rn[1:] - 0.8 * rn[:-1]
    assert np.std(e) == pytest.approx(0.5, rel=0.15)
    # long simulation: sample std near the theoretical one
    big = sol.simulate(20000, seed=0, burn=100)
    np.testing.assert_allclose(big.std(), sol.moments()["std"], rtol=0.1)


def test_explosive_solution_has_no_moments():
    sol = solve(_ar1(0.999, 1.0))
    assert sol.moments()["std"]["y"] == pytest.approx(1 / np.sqrt(1 - 0.999 ** 2), rel=1e-8)
    with pytest.raises(NoStableSolutionError):
        solve(_ar1(1.2, 1.0))


def test_plot_irf_returns_figure(nk3):
    from matplotlib.figure import Figure
    sol = solve(nk3)
    fig = sol.plot_irf(periods=10)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4 * 2
    with pytest.raises(DSGEError):
        sol.irf(shocks=["nope"])


@pytest.mark.parametrize("extra, shocks, match", [
    # a parameter never assigned (Dynare leaves it NaN): was "the Jacobian contains non-finite values"
    ("", "var e; stderr 1;", r"parameter\(s\) without a value: c"),
    # a negative variance: was NaN moments and the shock silently missing from the IRFs
    ("c = 1;", "var e = -1;", r"negative shock variance: e \(-1\)"),
    ("c = 1;", "var e; stderr 1; var u; stderr 1; corr e, u = 1.5;", "correlation of 1.5, outside"),
])
def test_bad_parameters_and_shock_covariance_are_named(tmp_path, extra, shocks, match):
    from dsge_agents.model.mod_reader import parse_mod
    m = parse_mod("var y; varexo e u; parameters b c unused; b = 0.5;\n" + extra +
                  "\nmodel; y = b*y(-1) + c*e + u; end;\nshocks;\n" + shocks + "\nend;\n", "bad.mod")
    with pytest.raises(DSGEError, match=match):
        solve(m)


def test_unassigned_parameter_that_is_not_used_is_fine():
    from dsge_agents.model.mod_reader import parse_mod
    m = parse_mod("var y; varexo e; parameters b unused; b = 0.5;\nmodel; y = b*y(-1) + e; end;\n"
                  "shocks; var e; stderr 1; end;\n", "ok.mod")
    np.testing.assert_allclose(solve(m).ghx.to_numpy(), [[0.5]])
