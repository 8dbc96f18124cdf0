"""Matrix-level solver tests: QZ (Villemot 2011) and cyclic reduction on models with known solutions."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from dsge_agents.errors import IndeterminacyError, NoStableSolutionError, SingularPencilError
from dsge_agents.linear import cr_solve, solve_matrices
from dsge_agents.linear.cyclic import cyclic_reduction, lu_factor, lu_solve


def _scaled(rng, k, radius):
    """Random k×k real matrix with spectral radius exactly ``radius``."""
    M = rng.standard_normal((k, k))
    r = max(np.abs(np.linalg.eigvals(M)))
    return M * (radius / r)


def random_model(seed: int, n_extra_explosive: int = 0, n_extra_stable: int = 0):
    """Random linear RE model with a known factorization of its quadratic pencil.

    P(λ) = G (λ D − W)(λ I − X), D = diag(1_F): A_lead = G D, A_cur = −G(W + D X),
    A_lag = G W X. X (columns only on the state set S) carries the stable roots,
    W_FF the explosive ones; W_NF = 0 so the non-forward directions give infinite
    roots. Optionally one explosive root is moved inside (indeterminacy) or one
    stable root outside (no stable solution).
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    while True:
        S = np.flatnonzero(rng.random(n) < 0.6)
        F = np.flatnonzero(rng.random(n) < 0.5)
        if len(S) >= 1 and len(F) >= 1:
            break
    N = np.setdiff1d(np.arange(n), F)
    X = np.zeros((n, n))
    XSS = _scaled(rng, len(S), rng.uniform(0.0, 0.9))
    X[np.ix_(S, S)] = XSS
    rest = np.setdiff1d(np.arange(n), S)
    X[np.ix_(rest, S)] = rng.standard_normal((len(rest), len(S)))
    WFF = np.linalg.inv(_scaled(rng, len(F), rng.uniform(0.3, 0.85)))   # |eig| >= 1/0.85
    if n_extra_explosive:        # one stable root of X made explosive: X_SS eigenvalue 1.3
        XSS = _scaled(rng, len(S), 0.5)
        ev, V = np.linalg.eig(XSS)
        k = int(np.argmax(np.abs(ev.imag) < 1e-12)) if np.any(np.abs(ev.imag) < 1e-12) else None
        if k is None:
            XSS = np.diag(rng.uniform(-0.5, 0.5, len(S)))
            ev, V = np.linalg.eig(XSS)
            k = 0
        ev = ev.copy()
        ev[k] = 1.3
        X[np.ix_(S, S)] = np.real(V @ np.diag(ev) @ np.linalg.inv(V))
    if n_extra_stable:           # one explosive root of W_FF moved inside: 0.6
        W0 = np.diag(rng.uniform(1.3, 2.5, len(F)) * rng.choice([-1, 1], len(F)))
        W0[0, 0] = 0.6
        Qo = sla.orth(rng.standard_normal((len(F), len(F))))
        WFF = Qo @ W0 @ Qo.T
    W = np.zeros((n, n))
    W[np.ix_(F, F)] = WFF
    W[np.ix_(F, N)] = rng.standard_normal((len(F), len(N)))
    W[np.ix_(N, N)] = sla.orth(rng.standard_normal((len(N), len(N)))) * rng.uniform(0.5, 2.0)
    G = sla.orth(rng.standard_normal((n, n))) @ np.diag(rng.uniform(0.5, 2.0, n))
    D = np.zeros((n, n))
    D[F, F] = 1.0
    A_lead = G @ D
    A_cur = -G @ (W + D @ X)
    A_lag = G @ W @ X
    nu = int(rng.integers(1, 4))
    A_u = rng.standard_normal((n, nu))
    roots = np.concatenate([np.linalg.eigvals(X[np.ix_(S, S)]), np.linalg.eigvals(WFF)])
    return dict(A=(A_lag, A_cur, A_lead, A_u), X=X, S=S, F=F, roots=roots)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_random_stable_models_qz_solves_quadratic_and_counts(seed):
    case = random_model(seed)
    A_lag, A_cur, A_lead, A_u = case["A"]
    T, R, info = solve_matrices(A_lag, A_cur, A_lead, A_u)
    # the matrix quadratic equation holds
    resid = A_lead @ T @ T + A_cur @ T + A_lag
    scale = max(1.0, np.abs(A_lag).max(), np.abs(A_cur).max(), np.abs(A_lead).max())
    assert np.abs(resid).max() <= 1e-9 * scale
    # it is the known stable solvent, and R solves (A_lead T + A_cur) R = -A_u
    np.testing.assert_allclose(T, case["X"], atol=1e-8)
    np.testing.assert_allclose((A_lead @ T + A_cur) @ R, -A_u, atol=1e-9 * scale)
    # BK counts from the generalized eigenvalues
    assert info.n_forward == len(case["F"])
    assert info.n_states == len(case["S"])
    assert info.n_explosive == int(np.sum(np.abs(case["roots"]) > 1 + 1e-6)) == len(case["F"])
    assert sorted(info.state_indices.tolist()) == sorted(case["S"].tolist())
    got = np.sort(np.abs(info.eigenvalues))
    want = np.sort(np.abs(case["roots"]))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    # non-state columns of T are zero
    nonstate = np.setdiff1d(np.arange(T.shape[0]), case["S"])
    assert np.all(T[:, nonstate] == 0.0)
    # cyclic reduction agrees with QZ
    T2, R2, code = cr_solve(A_lag, A_cur, A_lead, A_u, 1 + 1e-6, 1e-13, 100)
    assert code == 0
    np.testing.assert_allclose(T2, T, atol=1e-8)
    np.testing.assert_allclose(R2, R, atol=1e-8 * max(1.0, np.abs(R).max()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_indeterminate_and_explosive_models(seed):
    case = random_model(seed, n_extra_stable=1)
    with pytest.raises(IndeterminacyError) as ei:
        solve_matrices(*case["A"])
    assert ei.value.n_explosive == len(case["F"]) - 1
    assert ei.value.n_forward == len(case["F"])
    assert f"There are {len(case['F']) - 1} eigenvalue(s)" in str(ei.value)
    assert cr_solve(*case["A"], 1 + 1e-6, 1e-13, 100)[2] != 0

    case = random_model(seed, n_extra_explosive=1)
    with pytest.raises(NoStableSolutionError) as ei:
        solve_matrices(*case["A"])
    assert ei.value.n_explosive == len(case["F"]) + 1
    assert cr_solve(*case["A"], 1 + 1e-6, 1e-13, 100)[2] != 0


def test_scalar_ar1_and_purely_forward():
    # y_t = 0.7 y_{t-1} + u_t  ->  T = 0.7, R = 1, one stable eigenvalue
    T, R, info = solve_matrices([[-0.7]], [[1.0]], [[0.0]], [[-1.0]])
    assert T[0, 0] == pytest.approx(0.7) and R[0, 0] == pytest.approx(1.0)
    assert info.n_explosive == 0 and info.n_forward == 0
    # p_t = 0.5 E p_{t+1} + u_t: forward, no state -> T = 0, R = 1 (eigenvalue 2 explosive)
    T, R, info = solve_matrices([[0.0]], [[1.0]], [[-0.5]], [[-1.0]])
    assert T[0, 0] == 0.0 and R[0, 0] == pytest.approx(1.0)
    assert info.n_explosive == 1 and info.n_forward == 1
    assert abs(info.eigenvalues[0]) == pytest.approx(2.0)
    # p_t = 2 E p_{t+1}: root 0.5 inside -> indeterminate
    with pytest.raises(IndeterminacyError, match="0 eigenvalue"):
        solve_matrices([[0.0]], [[1.0]], [[-2.0]], [[-1.0]])
    # explosive AR(1) y_t = 1.5 y_{t-1}
    with pytest.raises(NoStableSolutionError, match="1 eigenvalue"):
        solve_matrices([[-1.5]], [[1.0]], [[0.0]], [[-1.0]])


def test_static_variable_eliminated_by_qr():
    # y1_t = 0.9 y1_{t-1} + u_t ;  y2_t = 2 y1_t  (static)
    A_lag = np.array([[-0.9, 0.0], [0.0, 0.0]])
    A_cur = np.array([[1.0, 0.0], [-2.0, 1.0]])
    A_lead = np.zeros((2, 2))
    A_u = np.array([[-1.0], [0.0]])
    T, R, info = solve_matrices(A_lag, A_cur, A_lead, A_u)
    np.testing.assert_allclose(T, [[0.9, 0.0], [1.8, 0.0]], atol=1e-14)
    np.testing.assert_allclose(R, [[1.0], [2.0]], atol=1e-14)
    assert list(info.static) == [1] and list(info.predetermined) == [0]


def test_singular_pencils():
    # two identical equations: det(E - λD) ≡ 0 -> 0/0 eigenvalue
    A_lag = np.array([[-0.5, 0.0], [-0.5, 0.0]])
    A_cur = np.array([[1.0, 1.0], [1.0, 1.0]])
    A_lead = np.array([[0.0, -1.0], [0.0, -1.0]])
    A_u = np.array([[1.0], [0.0]])
    with pytest.raises(SingularPencilError, match="0/0"):
        solve_matrices(A_lag, A_cur, A_lead, A_u)
    # static variable that appears in no equation: rank-deficient static block
    A_lag = np.array([[-0.5, 0.0], [0.0, 0.0]])
    A_cur = np.array([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(SingularPencilError, match="rank deficient"):
        solve_matrices(A_lag, A_cur, np.zeros((2, 2)), np.array([[1.0], [0.0]]))
    # non-finite Jacobian
    with pytest.raises(SingularPencilError, match="non-finite"):
        solve_matrices([[np.nan]], [[1.0]], [[0.0]], [[1.0]])


def test_structural_masks_keep_zero_column_states():
    # i_t = 0*i_{t-1} + u: with lag_mask the variable stays a state (column of zeros)
    T, R, info = solve_matrices([[0.0]], [[1.0]], [[0.0]], [[-1.0]], lag_mask=[True], lead_mask=[False])
    assert info.n_states == 1 and list(info.state_indices) == [0]
    assert T[0, 0] == 0.0 and R[0, 0] == 1.0


def test_lu_kernels_against_numpy():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((7, 7))
    B = rng.standard_normal((7, 3))
    LU, piv, ok = lu_factor(A)
    assert ok
    np.testing.assert_allclose(lu_solve(LU, piv, B), np.linalg.solve(A, B), rtol=1e-11, atol=1e-12)
    assert not lu_factor(np.zeros((3, 3)))[2]


def test_cyclic_reduction_dual_solvent():
    case = random_model(11)
    A_lag, A_cur, A_lead, _ = case["A"]
    X, Y, code = cyclic_reduction(A_lag, A_cur, A_lead, 1e-13, 100)
    assert code == 0
    np.testing.assert_allclose(A_lead @ X @ X + A_cur @ X + A_lag, 0, atol=1e-10)
    np.testing.assert_allclose(A_lag @ Y @ Y + A_cur @ Y + A_lead, 0, atol=1e-10)
    # Y carries the reciprocals of the explosive roots
    F = case["F"]
    ry = np.sort(np.abs(np.linalg.eigvals(Y[np.ix_(F, F)])))
    rw = np.sort(1 / np.abs(case["roots"][len(case["S"]):]))
    np.testing.assert_allclose(ry, rw, rtol=1e-8)
