"""Numba kernels on the solved state space ``y_t = T y_{t-1} + R u_t`` (deviations).

Small pure functions, ``@njit(cache=True)``, float64 C-contiguous inputs:

* :func:`irf` — impulse responses ``y_h = T^{h-1} R e`` (period 1 = impact),
  Dynare's ``irf`` at first order;
* :func:`simulate` — the recursion driven by given shock draws;
* :func:`lyapunov_doubling` — ``Σ = T Σ T' + V`` by the doubling algorithm
  (Anderson & Moore 1979, *Optimal Filtering*, §6; Hansen & Sargent 2013,
  *Recursive Models of Dynamic Linear Economies*, ch. 5);
* :func:`autocovariances` — ``Γ_k = T^k Σ`` (``Cov(y_t, y_{t-k}) = T^k Σ``);
* :func:`variance_decomposition` — unconditional shares, one Lyapunov solve per
  orthogonalized shock ``V_j = (R c_j)(R c_j)'`` with ``c_j`` the j-th column of
  the lower Cholesky factor of the shock covariance (Dynare's convention).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["irf", "simulate", "lyapunov_doubling", "autocovariances", "variance_decomposition"]


@njit(cache=True)
def irf(T, R, impulse, periods):
    """Impulse response to the shock vector ``impulse`` at period 1.

    ``y_1 = R impulse``, ``y_h = T y_{h-1}`` (h = 2..periods), i.e.
    ``y_h = T^{h-1} R impulse`` — the first-order IRF (Dynare's ``oo_.irfs``).

    Returns ndarray (periods, n).
    """
    n = T.shape[0]
    out = np.zeros((periods, n))
    if periods == 0:
        return out
    for i in range(n):
        s = 0.0
        for j in range(R.shape[1]):
            s += R[i, j] * impulse[j]
        out[0, i] = s
    for h in range(1, periods):
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += T[i, j] * out[h - 1, j]
            out[h, i] = s
    return out


@njit(cache=True)
def simulate(T, R, shocks, y0):
    """Simulate ``y_t = T y_{t-1} + R u_t`` for t = 1..N from ``y_0 = y0``.

    ``shocks`` is (N, n_u) (already drawn with the right covariance).
    Returns ndarray (N, n).
    """
    N = shocks.shape[0]
    n = T.shape[0]
    out = np.empty((N, n))
    prev = y0.copy()
    for t in range(N):
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += T[i, j] * prev[j]
            for j in range(R.shape[1]):
                s += R[i, j] * shocks[t, j]
            out[t, i] = s
        for i in range(n):
            prev[i] = out[t, i]
    return out


@njit(cache=True)
def lyapunov_doubling(A, V, tol=1e-15, max_iter=200):
    """Solve the discrete Lyapunov equation ``Σ = A Σ A' + V`` by doubling.

    Doubling algorithm (Anderson & Moore 1979, §6.7; Hansen & Sargent 2013):
    ``Σ_0 = V, A_0 = A``; ``Σ_{k+1} = Σ_k + A_k Σ_k A_k'``, ``A_{k+1} = A_k²``, so
    ``Σ_k = Σ_{j<2^k} A^j V A'^j``. Stops when the increment is below
    ``tol * max|Σ|``. Requires the spectral radius of A < 1; with a unit root in a Jordan block
    (an integral rule with φ = 0 feeding the price level into other variables) Σ_k overflows to
    inf − inf = NaN, which is reported as not converged (NaN entries used to be skipped by the
    max-search, so an all-NaN Σ passed the convergence test).

    Returns ``(Σ, converged)``.
    """
    S = V.copy()
    Ak = A.copy()
    for _ in range(max_iter):
        inc = Ak @ S @ Ak.T
        S = S + inc
        Ak = Ak @ Ak
        smax = 0.0
        imax = 0.0
        finite = True
        for v in S.ravel():
            if not np.isfinite(v):       # a NaN fails every comparison: test it, do not skip it
                finite = False
            elif abs(v) > smax:
                smax = abs(v)
        for v in inc.ravel():
            if not np.isfinite(v):
                finite = False
            elif abs(v) > imax:
                imax = abs(v)
        if not finite:
            return S, False
        if imax <= tol * max(smax, 1e-300):
            S = 0.5 * (S + S.T)
            return S, True
    return S, False


@njit(cache=True)
def autocovariances(T, Sigma, nlags):
    """Autocovariance matrices ``Γ_k = Cov(y_t, y_{t-k}) = T^k Σ`` for k = 0..nlags.

    Returns ndarray (nlags+1, n, n).
    """
    n = T.shape[0]
    out = np.empty((nlags + 1, n, n))
    G = Sigma.copy()
    out[0] = G
    for k in range(1, nlags + 1):
        G = T @ G
        out[k] = G
    return out


@njit(cache=True)
def variance_decomposition(T, R, chol, tol=1e-15):
    """Unconditional variance decomposition in percent.

    For each orthogonalized shock j (column ``c_j`` of the lower Cholesky factor
    of the shock covariance) solve ``Σ_j = T Σ_j T' + (R c_j)(R c_j)'``; the share
    of variable i is ``100 Σ_j[i,i] / Σ_k Σ_k[i,i]``. With uncorrelated shocks
    this is the textbook decomposition; with correlated shocks it is Dynare's
    Cholesky-ordered one. Rows with zero total variance are NaN.

    Returns ``(shares (n, n_u), converged)``.
    """
    n = T.shape[0]
    nu = R.shape[1]
    var = np.zeros((n, nu))
    ok = True
    for j in range(nu):
        b = R @ np.ascontiguousarray(chol[:, j])  # a column is strided; contiguous for BLAS
        V = np.outer(b, b)
        S, conv = lyapunov_doubling(T, V, tol, 200)
        ok = ok and conv
        for i in range(n):
            var[i, j] = S[i, i]
    out = np.empty((n, nu))
    for i in range(n):
        tot = 0.0
        for j in range(nu):
            tot += var[i, j]
        for j in range(nu):
            out[i, j] = 100.0 * var[i, j] / tot if tot > 0 else np.nan
    return out, ok
