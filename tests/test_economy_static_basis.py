"""Bases of V_K and the SFSL streaming projector (DESIGN §5.1)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from dsge_agents.economy.basis import LegendreBasis, PiecewiseConstantBasis, make_basis
from dsge_agents.economy.sfsl import SFSL
from dsge_agents.errors import EconomyError


@pytest.mark.parametrize("name", ["legendre", "pwc"])
@pytest.mark.parametrize("K", [1, 4, 17, 64])
def test_gram_identity(name, K):
    b = make_basis(name, K, T=7.5)
    assert np.allclose(b.gram(), np.eye(K), atol=1e-12)
    assert np.isclose(b.weights.sum(), 7.5)
    assert np.all((b.nodes > 0) & (b.nodes < 7.5))


def test_legendre_matches_numpy_legendre():
    b = LegendreBasis(6, T=3.0)
    t = np.linspace(0, 3, 11)
    x = 2 * t / 3 - 1
    for k in range(6):
        ref = np.polynomial.legendre.legval(x, np.eye(6)[k]) * np.sqrt((2 * k + 1) / 3.0)
        assert np.allclose(b.functions(t)[:, k], ref, atol=1e-12)


def test_project_evaluate_exact_on_VK():
    b = LegendreBasis(8, T=2.0)
    poly = np.polynomial.Polynomial([0.3, -1.0, 2.0, 0.5, -0.25, 0.1, 0.0, 0.05])   # degree 7 < K
    c = b.project(poly)
    t = np.linspace(0, 2, 101)
    assert np.allclose(b.evaluate(c, t), poly(t), atol=1e-12)
    # inner products in coefficients equal quadrature on nodes and the exact integral
    q = np.polynomial.Polynomial([1.0, 0.5, -0.3])
    exact = (poly * q).integ()
    assert np.isclose(b.inner(c, b.project(q)), exact(2.0) - exact(0.0), rtol=1e-12)


def test_pwc_project_is_midpoint_value():
    b = PiecewiseConstantBasis(5, T=10.0)
    c = b.project(lambda t: t ** 2)
    assert np.allclose(b.evaluate(c, b.nodes), b.nodes ** 2)
    assert np.allclose(b.evaluate(c, [0.1, 1.9]), [1.0, 1.0])     # constant on the first bin


def test_basis_errors():
    with pytest.raises(EconomyError, match="K"):
        LegendreBasis(0)
    with pytest.raises(EconomyError, match="unknown basis"):
        make_basis("chebyshev", 4)
    with pytest.raises(EconomyError, match=r"\[0, T\]"):
        LegendreBasis(4, T=1.0).evaluate(np.zeros(4), [1.5])


@pytest.mark.parametrize("K", [2.5, "a", True, None, 100_000])
def test_basis_size_is_a_positive_integer_of_reasonable_size(K):
    """K = 100000 used to die with a NumPy MemoryError allocating the dense 75 GiB basis matrix;
    K = 2.5 was silently truncated to 2."""
    for name in ("legendre", "pwc"):
        with pytest.raises(EconomyError, match="basis size K"):
            make_basis(name, K, 1.0)
    with pytest.raises(EconomyError, match="horizon T"):
        make_basis("pwc", 4, "x")


# ------------------------------------------------------------------------------------------ SFSL
@pytest.mark.parametrize("name", ["legendre", "pwc"])
def test_sfsl_exact_on_VK(name):
    """Samples of an f ∈ V_K: the least-squares estimator recovers its coefficients exactly."""
    rng = np.random.default_rng(1)
    b = make_basis(name, 7, T=4.0)
    c_true = rng.normal(size=7)
    ts = rng.uniform(0, 4, 500)
    s = SFSL(b).update_many(ts, b.evaluate(c_true, ts))
    assert np.allclose(s.coefficients(), c_true, atol=1e-10)
    sm = s.second_moments()
    assert sm["residual_variance"] < 1e-12 * sm["variance"]   # rounding of Σv² − ĉᵀb only


def test_sfsl_polynomial_degree_below_K():
    rng = np.random.default_rng(2)
    b = LegendreBasis(6, T=1.0)
    poly = np.polynomial.Polynomial([1.0, -2.0, 0.5, 3.0, -1.0])      # degree 4 < 6
    ts = rng.uniform(0, 1, 64)
    s = SFSL(b)
    for t in ts:                                                   # one sample at a time
        s.update(t, poly(t))
    grid = np.linspace(0, 1, 33)
    assert np.allclose(s.evaluate(grid), poly(grid), atol=1e-10)
    assert np.allclose(s.coefficients(), b.project(poly), atol=1e-10)


def test_sfsl_not_exact_beyond_VK():
    """The exactness test can fail: a degree-K polynomial is not in V_K."""
    rng = np.random.default_rng(3)
    b = LegendreBasis(4, T=1.0)
    ts = rng.uniform(0, 1, 200)
    s = SFSL(b).update_many(ts, ts ** 5)
    assert np.max(np.abs(s.evaluate(ts) - ts ** 5)) > 1e-4


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_parts=st.integers(1, 7), name=st.sampled_from(["legendre", "pwc"]))
@example(seed=426, n_parts=3, name="pwc")  # 41 samples leave a bin empty: both must refuse
def test_sfsl_merge_equals_one_pass(seed, n_parts, name):
    rng = np.random.default_rng(seed)
    b = make_basis(name, 5, T=3.0)
    n = int(rng.integers(20, 300))
    ts = rng.uniform(0, 3, n)
    vs = np.sin(ts) + rng.normal(0, 0.1, n)
    one = SFSL(b).update_many(ts, vs)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n_parts - 1, n - 1), replace=False))
    parts = [SFSL(b).update_many(t, v) for t, v in zip(np.split(ts, cuts), np.split(vs, cuts))]
    order = rng.permutation(len(parts))
    merged = parts[order[0]]
    for i in order[1:]:
        merged = merged.merge(parts[i])
    # associativity: ((a+b)+c) == (a+(b+c)) to rounding
    assert merged.n == one.n
    try:
        expected = one.coefficients()
    except EconomyError:
        # too few samples to determine V_K (e.g. an empty piecewise-constant bin): the merged
        # state holds the same sums, so it must refuse in the same way
        with pytest.raises(EconomyError, match="singular"):
            merged.coefficients()
        return
    assert np.allclose(merged.coefficients(), expected, rtol=1e-10, atol=1e-12)
    assert np.allclose(merged.second_moments()["m2_coefficients"], one.second_moments()["m2_coefficients"],
                       rtol=1e-10, atol=1e-12)


def test_sfsl_projection_estimator_monte_carlo():
    """The O(K) projection estimator (T/n)Σφ(t_i)v_i converges to ⟨f, φ_k⟩ for uniform times (CLT rate)."""
    rng = np.random.default_rng(4)
    b = LegendreBasis(5, T=2.0)
    ts = rng.uniform(0, 2, 200_000)
    s = SFSL(b, estimator="projection").update_many(ts, np.cos(ts))
    fine = LegendreBasis(40, T=2.0)
    exact = b.functions(fine.nodes).T @ (fine.weights * np.cos(fine.nodes))
    assert np.max(np.abs(s.coefficients() - exact)) < 0.02
    assert np.max(np.abs(s.coefficients() - exact)) > 1e-8          # not exact at finite n


def test_sfsl_roundtrip_and_errors():
    b = PiecewiseConstantBasis(4, T=1.0)
    s = SFSL(b).update_many([0.1, 0.3, 0.6, 0.9], [1.0, 2.0, 3.0, 4.0])
    d = json.loads(json.dumps(s.to_dict()))
    s2 = SFSL.from_dict(d)
    assert np.allclose(s2.coefficients(), s.coefficients())
    assert np.allclose(s.evaluate([0.1, 0.9]), [1.0, 4.0])
    with pytest.raises(EconomyError, match="singular"):
        SFSL(b).update_many([0.1, 0.2], [1.0, 2.0]).coefficients()       # empty bins
    with pytest.raises(EconomyError, match="different bases"):
        s.merge(SFSL(LegendreBasis(4, T=1.0)))
    with pytest.raises(EconomyError, match="finite"):
        SFSL(b).update_many([0.1], [np.nan])
    with pytest.raises(EconomyError, match=r"\[0, T\]"):
        SFSL(b).update(2.0, 1.0)


@pytest.mark.parametrize("name", ["legendre", "pwc"])
def test_sfsl_update_refuses_a_nan_time_and_bad_input(name):
    """update(NaN, v) used to pass the [0, T] check: on Legendre it poisoned the Gram matrix with NaN
    (every later solve: a misleading 'singular' error), on bins it counted the sample in bin 0."""
    good = SFSL(name, K=2, T=1.0).update_many([0.1, 0.2, 0.7, 0.9], [1.0, 2.0, 3.0, 4.0])
    s = SFSL(name, K=2, T=1.0).update_many([0.1, 0.2, 0.7, 0.9], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(EconomyError, match="finite"):
        s.update(float("nan"), 100.0)
    assert s.n == 4
    np.testing.assert_allclose(s.coefficients(), good.coefficients(), rtol=1e-15)
    for t, v in (("a", 1.0), (0.5, "b"), (None, 1.0)):
        with pytest.raises(EconomyError, match="numbers"):
            s.update(t, v)
    with pytest.raises(EconomyError, match="numeric"):
        s.update_many(["a"], [1.0])
    with pytest.raises(EconomyError, match="another SFSL"):
        s.merge(3)
    with pytest.raises(EconomyError, match="not an SFSL state"):
        SFSL.from_dict("x")
    with pytest.raises(EconomyError, match="not an SFSL state"):
        SFSL.from_dict({**s.to_dict(), "n": "many"})


# --------------------------------------------------- SFSL: undetermined (rank-deficient) Gram matrices
def _legendre_numpy(K, T, t):
    """Orthonormal shifted Legendre basis from numpy's Legendre series (independent of basis.py)."""
    x = 2 * np.asarray(t, float) / T - 1
    return np.stack([np.sqrt((2 * k + 1) / T) * np.polynomial.legendre.legval(x, np.eye(K)[k])
                     for k in range(K)], axis=1)


def test_sfsl_rank_deficient_refused_in_every_partition_order():
    """K=4 with 3 distinct times: G has rank 3 (cond ~1e16). Before, Cholesky succeeded on rounding
    noise and the coefficients changed with the partition / merge order; now every order refuses."""
    rng = np.random.default_rng(1)
    K, T = 4, 3600.0
    b = LegendreBasis(K, T=T)
    ts = np.repeat([100.0, 1800.0, 3000.0], 10)
    vs = rng.uniform(1, 2, ts.size)
    assert np.linalg.matrix_rank(_legendre_numpy(K, T, ts)) == 3
    states = [SFSL(b).update_many(ts, vs), SFSL(b).update_many(ts[::-1], vs[::-1])]
    for seed in range(6):
        perm = np.random.default_rng(seed).permutation(ts.size)
        parts = [SFSL(b).update_many(ts[i], vs[i]) for i in np.array_split(perm, 1 + seed % 4)]
        merged = parts[0]
        for p in parts[1:]:
            merged = p.merge(merged) if seed % 2 else merged.merge(p)
        states.append(merged)
    for s in states:
        with pytest.raises(EconomyError, match="singular"):
            s.coefficients()


@pytest.mark.parametrize("K", [3, 4, 8, 16])
def test_sfsl_fewer_distinct_times_than_K_always_refused(K):
    """Random states with m < K distinct times (each repeated): none may give coefficients
    (the QA repro found 5-25 % finite before)."""
    rng = np.random.default_rng(K)
    b = LegendreBasis(K, T=3600.0)
    for _ in range(300):
        m = int(rng.integers(1, K))
        reps = rng.integers(1, 5, m)
        t = np.repeat(rng.uniform(0, 3600, m), reps)
        s = SFSL(b).update_many(t, rng.uniform(1, 2, t.size))
        with pytest.raises(EconomyError, match="singular"):
            s.coefficients()


def test_sfsl_well_conditioned_merge_equals_one_pass_and_lstsq():
    rng = np.random.default_rng(7)
    K, T = 6, 3600.0
    b = LegendreBasis(K, T=T)
    ts = rng.uniform(0, T, 400)
    vs = np.sin(ts / 600) + rng.normal(0, 0.1, ts.size)
    one = SFSL(b).update_many(ts, vs).coefficients()
    ref = np.linalg.lstsq(_legendre_numpy(K, T, ts), vs, rcond=None)[0]   # QR/SVD on Φ, not G
    np.testing.assert_allclose(one, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    for seed in range(4):
        perm = np.random.default_rng(seed).permutation(ts.size)
        parts = [SFSL(b).update_many(ts[i], vs[i]) for i in np.array_split(perm, 3 + seed)]
        merged = parts[-1]
        for p in parts[-2::-1]:
            merged = merged.merge(p)
        np.testing.assert_allclose(merged.coefficients(), one, rtol=0, atol=1e-12 * np.abs(one).max())


def test_sfsl_unbalanced_bins_are_determined():
    """The test is on the unit-diagonal Gram matrix: bins of 1 and 1e10 samples (cond(G) = 1e10, above
    the unscaled bound 2K(n+K)eps ~ 9e-6) are still solved, each coefficient = bin mean * sqrt(h)."""
    h = 0.5
    s = SFSL.from_dict({"basis": "pwc", "K": 2, "T": 1.0, "n": 10**10 + 1, "S_v": 0.0, "S_vv": 0.0,
                        "b": [3.0 / np.sqrt(h), 1e10 * 5.0 / np.sqrt(h)], "b2": [0.0, 0.0],
                        "G": [[1.0 / h, 0.0], [0.0, 1e10 / h]]})
    np.testing.assert_allclose(s.coefficients(), [3.0 * np.sqrt(h), 5.0 * np.sqrt(h)], rtol=1e-14)


def test_sfsl_merge_refuses_other_estimator():
    b = LegendreBasis(2, T=1.0)
    a = SFSL(b).update_many([0.1, 0.9], [1.0, 2.0])
    p = SFSL(b, estimator="projection").update_many([0.1, 0.9], [1.0, 2.0])
    for x, y in [(a, p), (p, a)]:
        with pytest.raises(EconomyError, match="different estimators"):
            x.merge(y)
