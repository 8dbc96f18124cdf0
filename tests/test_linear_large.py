"""Large-model solver (dsge_agents.linear.large) against ordered QZ (dsge_agents.linear.qz).

Independent check: QZ computes the stable invariant subspace of the full pencil; the
large path never forms it (exogenous block + low-rank cyclic reduction + Sylvester).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp

from dsge_agents.errors import IndeterminacyError, NoStableSolutionError, SingularPencilError
from dsge_agents.linear import large, solve
from dsge_agents.linear.qz import solve_matrices
from dsge_agents.model import load

MODELS = ["models/nk3.yaml", "models/fs2000.mod", "models/rbc.yaml"]


def _assert_close_rowscaled(T_ref, T, tol=1e-8):
    """|ΔT_ij| ≤ tol · max(1, max_j |T_ref[i, j]|): relative to each row's scale.

    Built economies mix units (capacities ~1e4, prices ~1e-4), so an entry's absolute
    accuracy is set by the largest entry of its row (both solvers agree with the model
    equations to machine precision, see the residual test).
    """
    scale = np.maximum(1.0, np.abs(T_ref).max(axis=1, keepdims=True))
    err = np.abs(T - T_ref) / scale
    assert err.max() <= tol, f"max row-scaled difference {err.max():.3g}"


@pytest.mark.parametrize("path", MODELS)
def test_bundled_models_equal_qz(path):
    m = load(path)
    a = solve(m, method="qz")
    b = solve(m, method="large")
    assert b.method == "large"
    np.testing.assert_allclose(b.ghx.to_numpy(), a.ghx.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.ghu.to_numpy(), a.ghu.to_numpy(), rtol=1e-8, atol=1e-10)
    # IRFs through the state-space path equal the QZ solution's dense IRFs
    ia = a.irf(periods=12)
    ib = large.irf(b, periods=12)
    assert list(ib.columns) == ["shock", "variable", "period", "value"]
    np.testing.assert_allclose(ib["value"].to_numpy(), ia["value"].to_numpy(), rtol=1e-8, atol=1e-12)
    # eigenvalues of moderate models: exact QZ diagnostics on demand
    fin = [np.abs(s.eigenvalues)[np.abs(s.eigenvalues) < 1e6] for s in (a, b)]   # numerically infinite ones differ
    np.testing.assert_allclose(fin[1], fin[0], rtol=1e-8)


def test_auto_dispatch(monkeypatch):
    m = load("models/nk3.yaml")
    assert solve(m).method == "qz"                  # small model: QZ
    from dsge_agents.model import compiled

    monkeypatch.setattr(compiled, "LARGE_THRESHOLD", 2)  # the one switch of both layers
    assert solve(m).method == "large"


# ---------------------------------------------------------------------------- built economies
@pytest.fixture(scope="module", params=[(6, "chain"), (6, "star"), (20, "chain"), (20, "star")],
                ids=lambda p: f"N{p[0]}-{p[1]}")
def economy(request):
    from dsge_agents.economy import builder
    n, top = request.param
    from dsge_agents.model.compiled import compile_model
    from dsge_agents.model.steady import steady_state_vector
    m = builder.build_model(builder.synthetic_config(n, top))
    # the model layer's NumPy code path (no Numba compilation: keeps this file fast on a cold cache)
    cm = compile_model(m, large=True)
    m._compiled = cm
    th = cm.theta(None)
    ss = np.asarray(steady_state_vector(m, th))
    mats, lag, lead = large.large_matrices(m, cm, ss, th)
    dense = [M.toarray() for M in mats]
    T, R, info = _qz_equilibrated(*dense, lag, lead)
    return m, mats, lag, lead, T, R, info


def _qz_equilibrated(Al, A0, Af, Au, lag, lead):
    """QZ on the row/column-equilibrated model, mapped back.

    With y = D_c ỹ and equations scaled by D_r, the solution of (D_r A D_c) is
    T̃ = D_c⁻¹ T D_c, R̃ = D_c⁻¹ R. The built economies mix units over eight orders of
    magnitude; on the raw matrices QZ loses ~1e-7 of row-relative accuracy in a few
    entries (its impact residual is at rounding level but the problem is badly scaled),
    on the equilibrated ones it agrees with the large path to ~1e-10.
    """
    dc = 1.0 / np.maximum(np.abs(A0).max(axis=0), 1e-300)
    dr = 1.0 / np.maximum(np.abs(A0 * dc).max(axis=1), 1e-300)
    scaled = [dr[:, None] * M * dc[None, :] for M in (Al, A0, Af)]
    Ts, Rs, info = solve_matrices(*scaled, dr[:, None] * Au, 1 + 1e-6, lag, lead)
    return dc[:, None] * Ts / dc[None, :], dc[:, None] * Rs, info


def test_economy_equals_qz(economy):
    m, mats, lag, lead, T, R, info = economy
    res = large.solve_large(*mats, lag_mask=lag, lead_mask=lead)
    _assert_close_rowscaled(T, res.transition())
    _assert_close_rowscaled(R, res.ghu)
    # structure was found: AR(1) capacity/cost states are exogenous, the CR space is small
    n_agents = sum(1 for v in m.variables if v.endswith("_zcap"))
    assert res.stats["n_exo_states"] >= 2 * n_agents
    assert res.stats["cr_dimension"] < res.stats["n_states"] + res.stats["n_forward"]
    assert res.stats["n_forward"] == info.n_forward and res.stats["n_states"] == info.n_states
    # the stable roots of the large path are the stable generalized eigenvalues of QZ
    ev_qz = np.sort(np.abs(info.eigenvalues[np.abs(info.eigenvalues) < 1]))
    ev_qz = ev_qz[ev_qz > 1e-10]
    ev = np.sort(np.abs(res.stable_eigenvalues))
    ev = ev[ev > 1e-10]
    np.testing.assert_allclose(ev, ev_qz, rtol=1e-6)


def test_economy_quadratic_residual(economy):
    _, mats, lag, lead, *_ = economy
    res = large.solve_large(*mats, lag_mask=lag, lead_mask=lead, check=False)
    rq, ri = large.residuals(res, *mats)          # exact, all columns
    assert rq < 1e-12 and ri < 1e-12
    # independent dense check of A+ G² + A0 G + A- = 0 relative to the scale of the terms
    Al, A0, Af, Au = (M.toarray() for M in mats)
    G = res.transition()
    Rq = Af @ G @ G + A0 @ G + Al
    scale = np.abs(A0).max() * max(1.0, np.abs(G).max()) ** 2
    assert np.abs(Rq).max() <= 1e-11 * scale


def test_economy_irf_model_level(economy):
    m, *_ = economy
    if len(m.variables) > 100:
        pytest.skip("one model-level IRF comparison is enough (N = 6)")
    a = solve(m, method="qz")
    b = solve(m, method="large")
    shocks = ["eps_demand", "eps_slo", b.shocks[3]]
    ia = a.irf(40, shocks)
    ib = large.irf(b, 40, shocks)
    scale = ia.groupby("variable")["value"].transform(lambda v: max(1.0, v.abs().max()))
    assert np.max(np.abs(ib["value"] - ia["value"]) / scale) <= 1e-8


# ---------------------------------------------------------------------------- random models
def _random_model(seed, n_e=7, n_static=3, n_z=4, diag_P=True):
    """Random sparse-ish model: endogenous block (with static variables) driven by an AR block z.

    z_t = P z_{t-1} + B_z u_t (P diagonal or a general stable matrix; plus one static
    z variable depending on z), and the endogenous equations load on z_{t-1}, z_t, z_{t+1}.
    Returns dense (A_lag, A_cur, A_lead, A_u).
    """
    rng = np.random.default_rng(seed)
    nzs = n_z
    n = n_e + nzs + 1
    ez = slice(0, n_e)
    Al = np.zeros((n, n))
    A0 = np.zeros((n, n))
    Af = np.zeros((n, n))
    dyn = n_e - n_static
    # endogenous: states are the first dyn//2+1 variables, forward the next ones; statics last
    k_s = dyn // 2 + 1
    Al[ez, :k_s] = rng.standard_normal((n_e, k_s)) * 0.3
    Af[ez, k_s - 1:dyn] = rng.standard_normal((n_e, dyn - k_s + 1)) * 0.3
    A0[ez, ez] = rng.standard_normal((n_e, n_e)) + 3 * np.eye(n_e)
    # exogenous block (rows n_e..), columns n_e..n_e+nzs-1 and one static z variable
    zc = np.arange(n_e, n_e + nzs)
    if diag_P:
        P = np.diag(rng.uniform(-0.9, 0.9, nzs))
        P[1, 1] = P[0, 0]                        # a repeated root: grouped columns
    else:
        Q, _ = np.linalg.qr(rng.standard_normal((nzs, nzs)))
        P = Q @ np.diag(rng.uniform(-0.9, 0.9, nzs)) @ Q.T + np.triu(rng.standard_normal((nzs, nzs)) * 0.2, 1)
        P *= 0.85 / max(np.max(np.abs(np.linalg.eigvals(P))), 1e-9)
    A0[np.ix_(zc, zc)] = np.eye(nzs)
    Al[np.ix_(zc, zc)] = -P
    zst = n_e + nzs                              # static z variable: zst = w' z
    A0[zst, zst] = 1.0
    A0[zst, zc] = -rng.standard_normal(nzs)
    # endogenous equations load on z (lag, current, lead) and on the static z variable
    Al[ez, zc] = rng.standard_normal((n_e, nzs)) * 0.5
    A0[ez, zc] = rng.standard_normal((n_e, nzs)) * 0.5
    Af[ez, zc[:2]] = rng.standard_normal((n_e, 2)) * 0.5
    A0[ez, zst] = rng.standard_normal(n_e) * 0.5
    n_u = nzs + 2
    Au = np.zeros((n, n_u))
    Au[zc, np.arange(nzs)] = -rng.uniform(0.5, 1.5, nzs)
    Au[ez, nzs:] = rng.standard_normal((n_e, 2))
    # sparsify the endogenous block a little
    mask = rng.random((n_e, n_e)) < 0.25
    A0[ez, ez][mask] = 0.0
    return Al, A0, Af, Au


def _determinate_random(diag_P, count=3):
    out = []
    for seed in range(200):
        mats = _random_model(seed, diag_P=diag_P)
        try:
            T, R, info = solve_matrices(*mats)
        except Exception:  # noqa: BLE001 - keep determinate draws only
            continue
        out.append((mats, T, R))
        if len(out) == count:
            break
    assert len(out) == count
    return out


@pytest.mark.parametrize("diag_P", [True, False], ids=["diagonal-P", "general-P"])
def test_random_models_with_exogenous_block(diag_P):
    for mats, T, R in _determinate_random(diag_P):
        res = large.solve_large(*[sp.csr_matrix(M) for M in mats])
        assert res.stats["n_exogenous"] == 5 and res.stats["n_exo_states"] == 4
        if not diag_P:
            assert res.stats["timings"]["sylvester_groups"] == 4     # Schur path, one column at a time
        np.testing.assert_allclose(res.transition(), T, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(res.ghu, R, rtol=1e-8, atol=1e-9)
        rq, ri = large.residuals(res, *mats)
        assert rq < 1e-12 and ri < 1e-12


def test_exogenous_blocks_detected_structurally():
    Al, A0, Af, Au = _random_model(0)
    rows, cols = large.exogenous_blocks(Al, A0, Af)
    assert list(cols) == [7, 8, 9, 10, 11]
    # a lead in one z equation makes it (and everything depending on it) endogenous
    Af2 = Af.copy()
    Af2[7, 7] = 0.1
    rows2, cols2 = large.exogenous_blocks(Al, A0, Af2)
    assert 7 not in cols2 and 11 not in cols2 and 8 in cols2


def test_rank_factor():
    M = sp.random(40, 30, density=0.05, random_state=2, format="csr")
    M = sp.hstack([M, M[:, :3] * 2.0]).tocsr()       # 3 dependent columns
    U, cols, V = large.rank_factor(M)
    np.testing.assert_allclose(U @ V.T.toarray(), M.toarray(), atol=1e-13)
    assert U.shape[1] == np.linalg.matrix_rank(M.toarray())


# ---------------------------------------------------------------------------- failures
def test_indeterminacy_and_no_stable_solution():
    m = load("models/nk3.yaml")
    with pytest.raises(IndeterminacyError):
        solve(m, params={"phi_pi": 0.5}, method="qz")
    with pytest.raises(IndeterminacyError):
        solve(m, params={"phi_pi": 0.5}, method="large")
    # explosive exogenous process: no stable solution (the exogenous block says so)
    with pytest.raises(NoStableSolutionError, match="exogenous block"):
        solve(m, params={"rho_r": 1.05}, method="large")
    # explosive endogenous root: y_t = 1.2 y_{t-1} + x_t, x forward-looking, determinate only via QZ count
    Al = np.array([[-1.2, 0.0], [0.0, 0.0]])
    A0 = np.array([[1.0, -1.0], [0.0, 1.0]])
    Af = np.array([[0.0, 0.0], [0.0, -0.5]])
    Au = np.array([[0.0], [1.0]])
    with pytest.raises(NoStableSolutionError):
        solve_matrices(Al, A0, Af, Au)
    with pytest.raises(NoStableSolutionError):
        large.solve_large(Al, A0, Af, Au)


def test_singular_current_jacobian():
    # an equation without current-period terms: A0 singular; CR cannot start, QZ can solve it
    for seed in range(500):
        rng = np.random.default_rng(seed)
        Al, A0, Af = (rng.standard_normal((3, 3)) for _ in range(3))
        A0[2] = 0.0
        Au = rng.standard_normal((3, 1))
        try:
            solve_matrices(Al, A0, Af, Au)
            break
        except Exception:  # noqa: BLE001 - look for a determinate draw
            continue
    else:
        pytest.fail("no determinate draw")
    with pytest.raises(SingularPencilError, match="singular"):
        large.solve_large(Al, A0, Af, Au, qz_fallback=False)
    # with the fallback (moderate n) the dense QZ solution is returned, and says so
    T, R, _ = solve_matrices(Al, A0, Af, Au)
    res = large.solve_large(Al, A0, Af, Au)
    assert res.stats["fallback"].startswith("qz")
    np.testing.assert_allclose(res.transition(), T, atol=1e-14)
    np.testing.assert_allclose(res.ghu, R, atol=1e-14)


def test_cr_failure_classified_without_qz():
    # indeterminate nk3 (phi_pi < 1) through the CR path alone: A_+^(k) blows up, A_-^(k) vanishes
    m = load("models/nk3.yaml")
    cm = m.compiled
    th = cm.theta({"phi_pi": 0.5})
    from dsge_agents.model.steady import steady_state_vector
    mats, lag, lead = large.large_matrices(m, cm, np.asarray(steady_state_vector(m, th)), th)
    with pytest.raises(IndeterminacyError, match="A_\\+\\^\\(k\\) does not vanish"):
        large.solve_large(*mats, lag_mask=lag, lead_mask=lead, qz_fallback=False)


def test_irf_correlated_shocks():
    m = load("models/nk3.yaml")
    a = solve(m, method="qz")
    b = solve(m, method="large")
    Q = np.array([[0.0625, 0.05], [0.05, 0.25]])
    a.shock_cov = Q
    b.shock_cov = Q
    np.testing.assert_allclose(large.irf(b, 10)["value"], a.irf(10)["value"], rtol=1e-8, atol=1e-12)
    names, arr = large.irf_array(b, 10, ["e_r"])
    assert names == ["e_r"] and arr.shape == (1, 10, 4)


def _edge_cases():
    back = (np.array([[-0.5, -0.2, 0], [0.1, -0.7, 0], [0, 0, 0]]), np.array([[1, 0, 0], [0, 1, 0], [-1, -2, 1.0]]),
            np.zeros((3, 3)), np.array([[1, 0], [0, 1], [0, 0.0]]))
    fwd = (np.zeros((2, 2)), np.array([[1, 0.3], [0, 1.0]]), np.array([[-0.5, 0], [0.2, -0.4]]), np.eye(2))
    static = (np.zeros((2, 2)), np.array([[1, 2], [3, 4.0]]), np.zeros((2, 2)), np.eye(2))
    nk = (np.array([[0, 0, 0], [0, 0, 0], [0, 0, -0.5]]), np.array([[1, 0, 1], [-0.1, 1, 0], [-0.0625, -0.75, 1]]),
          np.array([[-1, -1, 0], [0, -0.99, 0], [0, 0, 0]]), np.array([[0, -1], [0, 0], [-1, 0.0]]))
    return {"purely-backward": (back, 3), "purely-forward": (fwd, 0), "static": (static, 2), "no-exogenous": (nk, 0)}


@pytest.mark.parametrize("name", list(_edge_cases()))
def test_edge_structures(name):
    mats, n_exo = _edge_cases()[name]
    T, R, _ = solve_matrices(*mats)
    res = large.solve_large(*mats, qz_fallback=False)
    assert res.stats["n_exogenous"] == n_exo
    np.testing.assert_allclose(res.transition(), T, atol=1e-13)
    np.testing.assert_allclose(res.ghu, R, atol=1e-13)


def test_info_without_qz(monkeypatch):
    """Above QZ_DIAGNOSTICS_MAX the Solution's diagnostics come from CR: the stable roots only."""
    import pickle
    m = load("models/nk3.yaml")
    a = solve(m, method="qz")
    monkeypatch.setattr(large, "QZ_DIAGNOSTICS_MAX", 0)
    b = solve(m, method="large")
    assert b.bk["determinate"] and b.bk["n_forward"] == a.bk["n_forward"]
    assert b.bk["n_states"] == a.bk["n_states"]
    ev_a = np.sort(np.abs(a.eigenvalues[(np.abs(a.eigenvalues) < 1) & (np.abs(a.eigenvalues) > 1e-12)]))
    np.testing.assert_allclose(np.sort(np.abs(b.eigenvalues)), ev_a, rtol=1e-8)
    b2 = pickle.loads(pickle.dumps(b))
    np.testing.assert_allclose(b2.ghx.to_numpy(), b.ghx.to_numpy())
    assert b2.bk == b.bk


def test_mid_size_models_get_numpy_code_qz_and_a_numpy_resolver(monkeypatch):
    """Above NUMBA_THRESHOLD equations a model gets the NumPy code path (fast to build) but is
    still solved by QZ up to LARGE_THRESHOLD; the re-solve hot path feeds the NumPy Jacobian to
    the compiled cyclic reduction. Independent checks: the same model on the Numba code path
    (QZ, and the fused Numba re-solver)."""
    from dsge_agents.linear import Resolver
    from dsge_agents.model import compiled

    numba_model = load("models/fs2000.mod")
    assert not numba_model.compiled.large
    ref = solve(numba_model)                          # Numba code, QZ
    fused = Resolver(numba_model)
    assert fused.fn is not None
    monkeypatch.setattr(compiled, "NUMBA_THRESHOLD", 2)
    m = load("models/fs2000.mod")
    assert m.compiled.large                           # NumPy code path by default now
    sol = solve(m)
    assert sol.method == "qz"
    np.testing.assert_allclose(sol.T, ref.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.R, ref.R, rtol=1e-10, atol=1e-12)
    r = Resolver(m)
    assert r.fn is None and r._solve_at == r._numpy_solve_at
    for params in (None, {"alp": 0.36}, {"bet": 1.2}):
        got, want = r(r.theta(params)), fused(fused.theta(params))
        assert got[3] == want[3]
        if params and "bet" in params:
            assert got[3] == 5                        # β > 1: no finite steady state; both say so
            continue
        assert got[3] == 0
        for a, b in zip(got[:3], want[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        qz = solve(numba_model, params=params)
        np.testing.assert_allclose(got[1], qz.T, rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(
    bool(os.environ.get("DSGE_AGENTS_NUMBA_THRESHOLD") or os.environ.get("DSGE_AGENTS_LARGE_THRESHOLD")),
    reason="thresholds moved by the environment",
)
def test_default_code_path_switch_by_size():
    """With the shipped thresholds: 117 equations -> NumPy code, dense QZ; matches the sparse
    structured solver (an independent algorithm) on the same model."""
    from dsge_agents.economy import builder
    from dsge_agents.model import compiled

    assert compiled.NUMBA_THRESHOLD < 117 <= compiled.LARGE_THRESHOLD
    m = builder.build_model(builder.synthetic_config(12, "chain"))
    assert len(m.equations) == 117 and m.compiled.large
    a = solve(m)
    assert a.method == "qz"
    b = solve(m, method="large")
    _assert_close_rowscaled(a.T, b.T)
