"""Kalman filter / smoothers against statsmodels' state-space implementation and identities."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
from statsmodels.tsa.statespace.kalman_smoother import KalmanSmoother

from dsge_agents.filtering import (FilterError, kalman_filter, kalman_loglik, kalman_smoother,
                                   lyapunov, simulation_smoother)


def _system(rng, m, p, k, n, me=True):
    T = rng.normal(size=(m, m))
    T *= 0.95 / np.max(np.abs(np.linalg.eigvals(T)))
    R = rng.normal(size=(m, k))
    A = rng.normal(size=(k, k))
    Q = A @ A.T + 0.1 * np.eye(k)
    Z = rng.normal(size=(p, m))
    d = rng.normal(size=p)
    H = np.diag(rng.uniform(0.1, 0.5, p)) if me else np.zeros((p, p))
    y = 3.0 * rng.normal(size=(n, p))
    return y, T, R, Q, Z, d, H


def _statsmodels(y, T, R, Q, Z, d, H, P1):
    n, p = y.shape
    m = T.shape[0]
    ks = KalmanSmoother(k_endog=p, k_states=m, k_posdef=R.shape[1])
    ks.bind(y.copy())
    ks["design"], ks["obs_intercept"], ks["obs_cov"] = Z, d, H
    ks["transition"], ks["selection"], ks["state_cov"] = T, R, Q
    ks.initialize_known(np.zeros(m), P1)
    ks.tolerance = 0.0          # no steady-state shortcut: exact filter
    return ks


CASES = [(5, 2, 3, True), (8, 3, 2, True), (4, 4, 4, True), (6, 1, 2, False), (7, 3, 3, False)]


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("m,p,k,me", CASES)
def test_loglik_matches_statsmodels(m, p, k, me, missing):
    rng = np.random.default_rng(100 * m + 10 * p + k + missing)
    y, T, R, Q, Z, d, H = _system(rng, m, p, k, 150, me)
    if missing:
        y[rng.random(y.shape) < 0.25] = np.nan
        y[7] = np.nan                       # a fully missing period
        y[0, 0] = np.nan
    P1 = lyapunov(T, R @ Q @ R.T)          # same initial covariance for both filters
    ref = _statsmodels(y, T, R, Q, Z, d, H, P1).loglike()
    res = kalman_loglik(y, T, R, Q, Z, d, H, method="standard")
    assert res.loglik == pytest.approx(ref, abs=1e-8, rel=0)
    # Chandrasekhar: same recursion in factored form; rounding accumulates slightly
    # differently (|ΔL| ~ 1e-11 relative), so compare relatively
    res = kalman_loglik(y, T, R, Q, Z, d, H, method="auto")
    assert res.loglik == pytest.approx(ref, abs=1e-8, rel=2e-11)
    assert kalman_loglik(y, T, R, Q, Z, d, H).method == ("standard" if missing else "chandrasekhar")
    fr = kalman_filter(y, T, R, Q, Z, d, H)
    assert fr.loglik == pytest.approx(ref, abs=1e-8, rel=1e-12)
    # per-period contributions
    ks = _statsmodels(y, T, R, Q, Z, d, H, P1)
    np.testing.assert_allclose(kalman_loglik(y, T, R, Q, Z, d, H, method="standard").contributions,
                               ks.loglikeobs(), atol=1e-9)


def test_lik_init2_and_presample():
    rng = np.random.default_rng(3)
    y, T, R, Q, Z, d, H = _system(rng, 5, 2, 2, 100)
    ks = _statsmodels(y, T, R, Q, Z, d, H, 10.0 * np.eye(5))
    ll = ks.loglikeobs()
    res = kalman_loglik(y, T, R, Q, Z, d, H, init="lik_init2", presample=4)
    assert res.loglik == pytest.approx(ll[4:].sum(), abs=1e-8)
    assert res.contributions[:4].sum() == pytest.approx(ll[:4].sum(), abs=1e-8)
    assert kalman_loglik(y, T, R, Q, Z, d, H, init=2, presample=4).loglik == res.loglik


def test_riccati_switch_reported_and_close():
    rng = np.random.default_rng(4)
    y, T, R, Q, Z, d, H = _system(rng, 5, 2, 3, 200)
    exact = kalman_loglik(y, T, R, Q, Z, d, H)
    fast = kalman_loglik(y, T, R, Q, Z, d, H, riccati_tol=1e-6)
    assert exact.riccati_switch == -1
    assert fast.riccati_switch > 0
    assert fast.loglik != exact.loglik
    assert abs(fast.loglik - exact.loglik) < 1e-3 * abs(exact.loglik)


def test_smoother_matches_statsmodels():
    rng = np.random.default_rng(5)
    y, T, R, Q, Z, d, H = _system(rng, 6, 2, 3, 80)
    y[rng.random(y.shape) < 0.2] = np.nan
    P1 = lyapunov(T, R @ Q @ R.T)
    ref = _statsmodels(y, T, R, Q, Z, d, H, P1).smooth()
    sm = kalman_smoother(y, T, R, Q, Z, d, H)
    np.testing.assert_allclose(sm.states, ref.smoothed_state.T, atol=1e-8)
    np.testing.assert_allclose(sm.state_cov, np.moveaxis(ref.smoothed_state_cov, 2, 0), atol=1e-8)
    # statsmodels: s_{t+1} = T s_t + R eta_t, i.e. eta_t = u_{t+1}
    np.testing.assert_allclose(sm.shocks[1:], ref.smoothed_state_disturbance[:, :-1].T, atol=1e-8)
    # transition holds exactly for smoothed quantities
    np.testing.assert_allclose(sm.states[1:], sm.states[:-1] @ T.T + sm.shocks[1:] @ R.T, atol=1e-10)


def test_smoothed_first_shock_stationary():
    """û_1 = E[u_1|Y]: check against brute-force Gaussian conditioning on a tiny system."""
    rng = np.random.default_rng(6)
    m, p, k, n = 2, 1, 2, 4
    y, T, R, Q, Z, d, H = _system(rng, m, p, k, n)
    S = lyapunov(T, R @ Q @ R.T)
    # joint Gaussian of (s_0, u_1..u_n, e_1..e_n) -> y
    dim = m + n * k + n * p
    cov = sla.block_diag(S, *([Q] * n), *([H] * n))
    G = np.zeros((n * p, dim))     # y - d = G x
    U1 = np.zeros((k, dim)); U1[:, m:m + k] = np.eye(k)
    for t in range(n):
        # s_t = T^{t+1} s_0 + sum_j T^{t-j} R u_{j+1}
        block = np.zeros((m, dim))
        block[:, :m] = np.linalg.matrix_power(T, t + 1)
        for j in range(t + 1):
            block[:, m + j * k:m + (j + 1) * k] = np.linalg.matrix_power(T, t - j) @ R
        G[t * p:(t + 1) * p] = Z @ block
        G[t * p:(t + 1) * p, m + n * k + t * p:m + n * k + (t + 1) * p] = np.eye(p)
    yy = (y - d).ravel()
    Syy = G @ cov @ G.T
    u1 = U1 @ cov @ G.T @ np.linalg.solve(Syy, yy)
    sm = kalman_smoother(y, T, R, Q, Z, d, H)
    np.testing.assert_allclose(sm.shocks[0], u1, atol=1e-10)


def test_simulation_smoother_moments():
    rng = np.random.default_rng(7)
    y, T, R, Q, Z, d, H = _system(rng, 3, 2, 2, 30)
    y[3, 1] = np.nan
    sm = kalman_smoother(y, T, R, Q, Z, d, H)
    s, u = simulation_smoother(y, T, R, Q, Z, d, H, ndraws=3000, seed=1)
    se_s = np.sqrt(np.einsum("tii->ti", sm.state_cov) / 3000)
    assert np.max(np.abs(s.mean(0) - sm.states) / se_s) < 5.0
    # variance of draws equals the smoothed covariance
    np.testing.assert_allclose(s.var(0), np.einsum("tii->ti", sm.state_cov), rtol=0.15)
    assert np.max(np.abs(u.mean(0) - sm.shocks)) < 0.2
    # draws satisfy the transition exactly
    np.testing.assert_allclose(s[0, 1:], s[0, :-1] @ T.T + u[0, 1:] @ R.T, atol=1e-9)


def test_lyapunov_matches_scipy():
    rng = np.random.default_rng(8)
    T = rng.normal(size=(6, 6))
    T *= 0.99 / np.max(np.abs(np.linalg.eigvals(T)))
    V = rng.normal(size=(6, 6)); V = V @ V.T
    np.testing.assert_allclose(lyapunov(T, V), sla.solve_discrete_lyapunov(T, V), rtol=1e-8)


def test_bad_input():
    rng = np.random.default_rng(9)
    y, T, R, Q, Z, d, H = _system(rng, 3, 2, 2, 20)
    with pytest.raises(FilterError, match="eigenvalue"):
        kalman_loglik(y, np.eye(3), R, Q, Z, d, H)
    with pytest.raises(FilterError, match="Z must be"):
        kalman_loglik(y, T, R, Q, Z[:, :2], d, H)
    y2 = y.copy(); y2[4, 1] = np.inf
    with pytest.raises(FilterError, match="row 4, column 1"):
        kalman_loglik(y2, T, R, Q, Z, d, H)
    y3 = y.copy(); y3[2, 0] = np.nan
    with pytest.raises(FilterError, match="Chandrasekhar"):
        kalman_loglik(y3, T, R, Q, Z, d, H, method="chandrasekhar")
    # singular F (no measurement error, more observables than shocks): -inf, not a crash
    Zs = np.vstack([Z[0], Z[0]])
    assert kalman_loglik(y, T, R, Q, Zs, d, np.zeros((2, 2))).loglik == -np.inf


def test_chandrasekhar_large_system_and_convergence():
    """m ≥ 16 uses BLAS for T W; the recursion stops updating once ΔF is below rounding."""
    rng = np.random.default_rng(12)
    y, T, R, Q, Z, d, H = _system(rng, 20, 3, 4, 300)
    a = kalman_loglik(y, T, R, Q, Z, d, H, method="chandrasekhar")
    b = kalman_loglik(y, T, R, Q, Z, d, H, method="standard")
    assert a.loglik == pytest.approx(b.loglik, rel=1e-11)
    np.testing.assert_allclose(a.contributions, b.contributions, rtol=1e-9, atol=1e-9)


def test_bad_system_matrices_are_filter_errors():
    # a d of the wrong length raised NumPy's broadcast ValueError; a non-symmetric or indefinite Q,
    # a NaN in T and presample >= n were accepted silently (a number, -inf or 0.0)
    from dsge_agents.filtering import kalman_loglik
    from dsge_agents.filtering.kalman import FilterError
    T = np.diag([0.5, 0.3])
    base = dict(y=np.random.default_rng(0).standard_normal((50, 1)) * 0.1, T=T, R=np.eye(2),
                Q=0.01 * np.eye(2), Z=np.ones((1, 2)), d=np.zeros(1), H=np.zeros((1, 1)))
    for change, msg in ((dict(d=np.zeros(3)), "d must be"),
                        (dict(Q=np.array([[0.01, 0.02], [0.0, 0.01]])), "not symmetric"),
                        (dict(Q=-np.eye(2)), "not positive semi-definite"),
                        (dict(T=np.diag([np.nan, 0.3])), "T has a non-finite entry"),
                        (dict(presample=50), "presample=50")):
        with pytest.raises(FilterError, match=msg):
            kalman_loglik(**{**base, **change})
    assert np.isfinite(kalman_loglik(**{**base, "d": 0.0, "presample": 49}).loglik)
