"""Numba kernels of the Kalman filter, smoother and simulation smoother.

State space (time invariant)::

    s_t = T s_{t-1} + R u_t,        u_t ~ N(0, Q)
    y_t = d + Z s_t + e_t,          e_t ~ N(0, H)

``a1, P1`` are the mean and covariance of ``s_1`` given no data (the
*predicted* moments for the first period, as Dynare's ``kalman_filter.m``
receives them). Missing observations are NaN; in each period the rows of
``Z``, ``d`` and ``H`` (and the rows/columns of ``H``) of the missing entries are
dropped (Durbin & Koopman 2012, *Time Series Analysis by State Space Methods*,
2nd ed., §4.10).

All kernels are small, pure and compiled with ``@njit(cache=True)``; they take
C-contiguous float64 arrays.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LOG2PI = math.log(2.0 * math.pi)


@njit(cache=True)
def _chol_inplace(F, n):
    """Cholesky factor L (lower) of the leading n×n block of F, in place.

    Returns False when F is not numerically positive definite.
    Algorithm: Cholesky–Banachiewicz (Golub & Van Loan 2013, Alg. 4.2.1).
    """
    for j in range(n):
        s = F[j, j]
        for k in range(j):
            s -= F[j, k] * F[j, k]
        if not (s > 0.0):
            return False
        ljj = math.sqrt(s)
        F[j, j] = ljj
        for i in range(j + 1, n):
            s = F[i, j]
            for k in range(j):
                s -= F[i, k] * F[j, k]
            F[i, j] = s / ljj
    for j in range(n):
        for i in range(j):
            F[i, j] = 0.0
    return True


@njit(cache=True)
def _chol_solve_vec(L, n, b):
    """Solve (L L') x = b for the leading n×n factor L; b overwritten."""
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * b[k]
        b[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= L[k, i] * b[k]
        b[i] = s / L[i, i]


@njit(cache=True)
def _chol_inverse(L, n, out):
    """out[:n,:n] = (L L')^{-1} from the Cholesky factor."""
    e = np.zeros(n)
    for j in range(n):
        for i in range(n):
            e[i] = 0.0
        e[j] = 1.0
        _chol_solve_vec(L, n, e)
        for i in range(n):
            out[i, j] = e[i]


@njit(cache=True)
def lyapunov_doubling(T, V, tol=1e-15, maxit=200):
    """Unconditional covariance Σ solving Σ = T Σ T' + V (discrete Lyapunov).

    Doubling algorithm (Anderson & Moore 1979, *Optimal Filtering*, §6.7;
    Smith 1968): Σ_{k+1} = Σ_k + A_k Σ_k A_k', A_{k+1} = A_k², with Σ_0 = V,
    A_0 = T, which sums the series Σ = Σ_j T^j V T'^j in log2 steps.
    Returns (Σ, converged). Requires all eigenvalues of T inside the unit circle.
    """
    m = T.shape[0]
    S = V.copy()
    A = T.copy()
    for it in range(maxit):
        AS = A @ S
        inc = AS @ A.T
        S = S + inc
        A = A @ A
        big = 0.0
        for i in range(m):
            for j in range(m):
                v = abs(inc[i, j])
                if v > big:
                    big = v
        scale = 0.0
        for i in range(m):
            v = abs(S[i, i])
            if v > scale:
                scale = v
        if big <= tol * max(scale, 1e-300):
            return 0.5 * (S + S.T), True
        if not np.isfinite(big):
            return S, False
    return 0.5 * (S + S.T), False


@njit(cache=True)
def kf_loglik_chandrasekhar(y, T, RQR, Z, d, H, a1, P1, presample, contrib):
    """Exact Gaussian log-likelihood by the Chandrasekhar recursions.

    Valid for a time-invariant system with no missing data and ``P1`` the
    stationary covariance (P1 = T P1 T' + RQR'), in which case
    ΔP_2 = P_2 − P_1 = −K̄_1 F_1^{-1} K̄_1' has rank ≤ p and the Riccati
    recursion can be propagated in factored form ΔP_{t+1} = W_t M_t W_t'
    at O(m² p) cost per period instead of O(m³) (Morf, Sidhu & Kailath 1974,
    IEEE TAC 19(4); Herbst 2015, *Comput. Econ.* 45, "Using the Chandrasekhar
    recursions for likelihood evaluation of DSGE models"):

        F_{t+1} = F_t + Z W_t M_t W_t' Z'
        K̄_{t+1} = K̄_t + T W_t M_t W_t' Z'            (K̄_t = T P_t Z')
        M_{t+1} = M_t + M_t W_t' Z' F_t^{-1} Z W_t M_t
        W_{t+1} = (T − K̄_{t+1} F_{t+1}^{-1} Z) W_t

    with W_1 = K̄_1, M_1 = −F_1^{-1}. Per-period log-likelihood contributions
    −½(p log 2π + log|F_t| + v_t' F_t^{-1} v_t) are written into ``contrib``;
    the sum over t ≥ presample is returned (−inf if some F_t is not PD).
    m-vectors are stored as rows (Wt = W', Kt = K̄') so that every inner loop
    runs over contiguous memory.
    """
    n, p = y.shape
    m = T.shape[0]
    Tt = np.ascontiguousarray(T.T)
    a = a1.copy()
    a_new = np.empty(m)
    # P1 Z' stored transposed: ZP[i, :] = (Z P1)[i, :]
    ZP = np.zeros((p, m))
    for i in range(p):
        for k in range(m):
            zik = Z[i, k]
            if zik != 0.0:
                for j in range(m):
                    ZP[i, j] += zik * P1[k, j]
    F = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            s = H[i, j]
            for k in range(m):
                s += ZP[i, k] * Z[j, k]
            F[i, j] = s
    # K̄' = Z P T'  (p×m): Kt[i, :] = Σ_k ZP[i,k] T[:,k] = Σ_k ZP[i,k] Tt[k,:]
    Kt = np.zeros((p, m))
    for i in range(p):
        for k in range(m):
            c = ZP[i, k]
            for j in range(m):
                Kt[i, j] += c * Tt[k, j]
    L = F.copy()
    if not _chol_inplace(L, p):
        return -np.inf
    Finv = np.empty((p, p))
    _chol_inverse(L, p, Finv)
    Wt = Kt.copy()
    M = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            M[i, j] = -Finv[i, j]
    v = np.empty(p)
    w = np.empty(p)
    ZW = np.empty((p, p))
    ZWM = np.empty((p, p))
    TWt = np.empty((p, m))
    tmp = np.empty((p, p))
    tmp2 = np.empty((p, p))
    big = m >= 16                     # BLAS for the m×m product of larger systems
    big_all = False                   # (BLAS for the p-sized products measured slower)
    Zt = np.ascontiguousarray(Z.T)
    ZWt = np.empty((p, p))
    bufpm = np.empty((p, m))
    total = 0.0
    converged = False
    for t in range(n):
        for i in range(p):
            s = y[t, i] - d[i]
            for j in range(m):
                s -= Z[i, j] * a[j]
            v[i] = s
            w[i] = s
        _chol_solve_vec(L, p, w)
        logdet = 0.0
        quad = 0.0
        for i in range(p):
            logdet += 2.0 * math.log(L[i, i])
            quad += v[i] * w[i]
        c = -0.5 * (p * LOG2PI + logdet + quad)
        contrib[t] = c
        if t >= presample:
            total += c
        # a_{t+1} = T a_t + K̄_t F_t^{-1} v_t
        for j in range(m):
            a_new[j] = 0.0
        for k in range(m):
            ak = a[k]
            if ak != 0.0:
                for j in range(m):
                    a_new[j] += ak * Tt[k, j]
        for i in range(p):
            wi = w[i]
            for j in range(m):
                a_new[j] += wi * Kt[i, j]
        for j in range(m):
            a[j] = a_new[j]
        if t == n - 1 or converged:
            continue
        # ZW = Z W (p×p): ZW[i,j] = Z[i,:]·Wt[j,:]
        if big_all:
            np.dot(Wt, Zt, ZWt)
            for i in range(p):
                for j in range(p):
                    ZW[i, j] = ZWt[j, i]
        else:
            for i in range(p):
                for j in range(p):
                    s = 0.0
                    for k in range(m):
                        s += Z[i, k] * Wt[j, k]
                    ZW[i, j] = s
        # ZWM = ZW M
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += ZW[i, k] * M[k, j]
                ZWM[i, j] = s
        # TWt = (T W)' = Wt T'  (BLAS for larger systems, loops for small ones)
        if big:
            np.dot(Wt, Tt, TWt)
        else:
            for i in range(p):
                for j in range(m):
                    TWt[i, j] = 0.0
                for k in range(m):
                    c = Wt[i, k]
                    if c != 0.0:
                        for j in range(m):
                            TWt[i, j] += c * Tt[k, j]
        # M += ZWM' Finv ZWM   (old F)
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += Finv[i, k] * ZWM[k, j]
                tmp[i, j] = s
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += ZWM[k, i] * tmp[k, j]
                M[i, j] += s
        # F += ZWM ZW'
        dF = 0.0
        Fmax = 0.0
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += ZWM[i, k] * ZW[j, k]
                F[i, j] += s
                if abs(s) > dF:
                    dF = abs(s)
                if abs(F[i, j]) > Fmax:
                    Fmax = abs(F[i, j])
        # increments below the rounding unit of F: the recursion has converged to machine
        # precision; further updates cannot change F or K̄ (exact, not Dynare's riccati_tol)
        if dF <= 1e-16 * Fmax:
            converged = True
        # K̄' += (T W M W' Z')' = ZWM (T W)' = ZWM TWt
        if big_all:
            np.dot(ZWM, TWt, bufpm)
            for i in range(p):
                for j in range(m):
                    Kt[i, j] += bufpm[i, j]
        else:
            for i in range(p):
                for k in range(p):
                    c = ZWM[i, k]
                    for j in range(m):
                        Kt[i, j] += c * TWt[k, j]
        for i in range(p):
            for j in range(p):
                L[i, j] = F[i, j]
        if not _chol_inplace(L, p):
            return -np.inf
        _chol_inverse(L, p, Finv)
        # W_{t+1}' = TWt − (Finv ZW)' K̄'
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += Finv[i, k] * ZW[k, j]
                tmp2[i, j] = s
        if big_all:
            for i in range(p):
                for k in range(p):
                    tmp[i, k] = tmp2[k, i]
            np.dot(tmp, Kt, bufpm)
            for i in range(p):
                for j in range(m):
                    Wt[i, j] = TWt[i, j] - bufpm[i, j]
        else:
            for i in range(p):
                for j in range(m):
                    Wt[i, j] = TWt[i, j]
                for k in range(p):
                    c = tmp2[k, i]
                    for j in range(m):
                        Wt[i, j] -= c * Kt[k, j]
    return total


@njit(cache=True)
def kf_loglik_standard(y, T, RQR, Z, d, H, a1, P1, presample, riccati_tol, contrib):
    """Exact Gaussian log-likelihood, conventional Kalman filter, NaN = missing.

    Prediction-error decomposition (Harvey 1989, *Forecasting, Structural Time
    Series Models and the Kalman Filter*, eq. 3.4.9; Durbin & Koopman 2012
    §4.3 and §7.2), with per-period rows selected for missing data (§4.10):

        v_t = y_t − d − Z a_t,  F_t = Z P_t Z' + H,  K_t = P_t Z' F_t^{-1}
        a_{t+1} = T (a_t + K_t v_t),  P_{t+1} = T (P_t − K_t Z P_t) T' + RQR'
        ℓ_t = −½ (p_t log 2π + log|F_t| + v_t' F_t^{-1} v_t)

    If ``riccati_tol > 0``, once the largest absolute change of the gain K_t
    between two periods falls below ``riccati_tol`` the covariance recursion
    stops and the steady-state gain and F are used thereafter (Dynare's
    ``riccati_tol``). As in Dynare 5.3 (``missing_observations_kalman_filter.m``),
    the test runs only in the periods after the last one with a missing value
    (a gain of the complete observation vector cannot serve a period with fewer
    observations), its first such period being compared with nothing. Returns
    (sum of ℓ_t for t ≥ presample, period at which the switch occurred or −1).
    −inf when some F_t is not positive definite.
    """
    n, p = y.shape
    m = T.shape[0]
    a = a1.copy()
    P = P1.copy()
    total = 0.0
    idx = np.empty(p, np.int64)
    # the non-zero columns of each row of Z (DSGE observation matrices pick one or two states per
    # observable): the Z products below skip the zeros, which leaves every sum unchanged
    nzc = np.empty((p, m), np.int64)
    nnz = np.zeros(p, np.int64)
    for i in range(p):
        for j in range(m):
            if Z[i, j] != 0.0:
                nzc[i, nnz[i]] = j
                nnz[i] += 1
    F = np.empty((p, p))
    v = np.empty(p)
    w = np.empty(p)
    K = np.zeros((m, p))
    Kold = np.zeros((m, p))
    PZt = np.zeros((m, p))
    row = np.empty(p)
    steady = False
    switched = -1
    logdet_ss = 0.0
    # first period after the last one with a missing value: the steady-state test starts there
    start_ss = 0
    for t in range(n):
        for i in range(p):
            if math.isnan(y[t, i]):
                start_ss = t + 1
                break
    have_old = False
    for t in range(n):
        po = 0
        for i in range(p):
            if not math.isnan(y[t, i]):
                idx[po] = i
                po += 1
        if po == 0:
            contrib[t] = 0.0
            a = T @ a
            if not steady:
                P = T @ P @ T.T + RQR
            continue
        for k in range(po):
            i = idx[k]
            s = y[t, i] - d[i]
            for q in range(nnz[i]):
                j = nzc[i, q]
                s -= Z[i, j] * a[j]
            v[k] = s
            w[k] = s
        if not steady:
            for r in range(m):
                for k in range(po):
                    i = idx[k]
                    s = 0.0
                    for q in range(nnz[i]):
                        j = nzc[i, q]
                        s += P[r, j] * Z[i, j]
                    PZt[r, k] = s
            for k in range(po):
                i = idx[k]
                for l in range(po):
                    s = H[i, idx[l]]
                    for q in range(nnz[i]):
                        j = nzc[i, q]
                        s += Z[i, j] * PZt[j, l]
                    F[k, l] = s
            if not _chol_inplace(F, po):
                return -np.inf, switched
            logdet = 0.0
            for k in range(po):
                logdet += 2.0 * math.log(F[k, k])
            # K = P Z' F^{-1}  (row by row: solve F x = (PZ')[r,:])
            for r in range(m):
                for k in range(po):
                    row[k] = PZt[r, k]
                _chol_solve_vec(F, po, row)
                for k in range(po):
                    K[r, k] = row[k]
            if riccati_tol > 0.0 and t >= start_ss:
                diff = 0.0
                for r in range(m):
                    for k in range(p):
                        dd = abs(K[r, k] - Kold[r, k])
                        if dd > diff:
                            diff = dd
                for r in range(m):
                    for k in range(p):
                        Kold[r, k] = K[r, k]
                if have_old and diff < riccati_tol:
                    steady = True
                    switched = t
                    logdet_ss = logdet
                have_old = True
        else:
            logdet = logdet_ss
        _chol_solve_vec(F, po, w)
        quad = 0.0
        for k in range(po):
            quad += v[k] * w[k]
        c = -0.5 * (po * LOG2PI + logdet + quad)
        contrib[t] = c
        if t >= presample:
            total += c
        # update
        au = a.copy()
        for r in range(m):
            s = 0.0
            for k in range(po):
                s += K[r, k] * v[k]
            au[r] += s
        a = T @ au
        if not steady:
            # P - K Z P = P - K (P Z')'
            Pu = P.copy()
            for r in range(m):
                for c2 in range(m):
                    s = 0.0
                    for k in range(po):
                        s += K[r, k] * PZt[c2, k]
                    Pu[r, c2] -= s
            P = T @ Pu @ T.T + RQR
            P = 0.5 * (P + P.T)
    return total, switched


@njit(cache=True)
def kf_full(y, T, RQR, Z, d, H, a1, P1):
    """Conventional Kalman filter storing what the smoothers need.

    Same recursion as :func:`kf_loglik_standard` (exact, NaN = missing), and
    stores for each period the predicted state a_t, P_t, the innovations v_t,
    F_t^{-1} and the gain K_t = P_t Z' F_t^{-1} (rows padded with zeros for
    missing observations so that padded quantities contribute nothing), the
    filtered state a_{t|t}, P_{t|t} and ℓ_t. Returns a tuple of arrays; ok=False
    if some F_t is not positive definite.
    """
    n, p = y.shape
    m = T.shape[0]
    a_pred = np.zeros((n + 1, m))
    P_pred = np.zeros((n + 1, m, m))
    a_filt = np.zeros((n, m))
    P_filt = np.zeros((n, m, m))
    v_all = np.zeros((n, p))
    Finv_all = np.zeros((n, p, p))
    K_all = np.zeros((n, m, p))
    contrib = np.zeros(n)
    nobs = np.zeros(n, np.int64)
    a = a1.copy()
    P = P1.copy()
    idx = np.empty(p, np.int64)
    ok = True
    for t in range(n):
        a_pred[t] = a
        P_pred[t] = P
        po = 0
        for i in range(p):
            if not math.isnan(y[t, i]):
                idx[po] = i
                po += 1
        nobs[t] = po
        if po == 0:
            a_filt[t] = a
            P_filt[t] = P
            a = T @ a
            P = T @ P @ T.T + RQR
            continue
        Zo = np.empty((po, m))
        vo = np.empty(po)
        Ho = np.empty((po, po))
        for k in range(po):
            i = idx[k]
            s = y[t, i] - d[i]
            for j in range(m):
                Zo[k, j] = Z[i, j]
                s -= Z[i, j] * a[j]
            vo[k] = s
            for l in range(po):
                Ho[k, l] = H[i, idx[l]]
        PZt = P @ Zo.T
        F = Zo @ PZt + Ho
        L = F.copy()
        if not _chol_inplace(L, po):
            ok = False
            break
        Fi = np.empty((po, po))
        _chol_inverse(L, po, Fi)
        logdet = 0.0
        for k in range(po):
            logdet += 2.0 * math.log(L[k, k])
        w = Fi @ vo
        quad = 0.0
        for k in range(po):
            quad += vo[k] * w[k]
        contrib[t] = -0.5 * (po * LOG2PI + logdet + quad)
        K = PZt @ Fi
        for k in range(po):
            v_all[t, idx[k]] = vo[k]
            for l in range(po):
                Finv_all[t, idx[k], idx[l]] = Fi[k, l]
            for r in range(m):
                K_all[t, r, idx[k]] = K[r, k]
        au = a + K @ vo
        Pu = P - K @ PZt.T
        Pu = 0.5 * (Pu + Pu.T)
        a_filt[t] = au
        P_filt[t] = Pu
        a = T @ au
        P = T @ Pu @ T.T + RQR
        P = 0.5 * (P + P.T)
    a_pred[n] = a
    P_pred[n] = P
    return a_pred, P_pred, a_filt, P_filt, v_all, Finv_all, K_all, contrib, nobs, ok


@njit(cache=True)
def dk_smoother(y, T, RQR, R, Q, Z, a_pred, P_pred, v_all, Finv_all, K_all, nobs):
    """Fixed-interval (Rauch–Tung–Striebel) smoother in Durbin–Koopman form.

    Backward recursion (de Jong 1989; Durbin & Koopman 2012 §4.4–4.5, with
    missing rows §4.10), which gives the RTS estimates without inverting P_t:

        r_{t−1} = Z_t' F_t^{-1} v_t + L_t' r_t,   L_t = T (I − K_t Z_t)
        N_{t−1} = Z_t' F_t^{-1} Z_t + L_t' N_t L_t
        ŝ_t = a_t + P_t r_{t−1},   V_t = P_t − P_t N_{t−1} P_t

    Smoothed shocks û_t = Q R' r̃_t, with the convention s_t = T s_{t−1} + R u_t
    (u_t enters s_t): û_1 = Q R' r_0 (exact when P_1 = T P_0 T' + RQR'),
    û_{t+1} = Q R' r_t. States are rebuilt forward, ŝ_1 = a_1 + P_1 r_0,
    ŝ_{t+1} = T ŝ_t + R û_{t+1} (Durbin & Koopman 2012 §4.6.2, fast state
    smoother), so that the smoothed states and shocks satisfy the transition
    equation exactly. Returns (ŝ (n×m), V (n×m×m), û (n×k), r (n+1×m)).
    """
    n, p = y.shape
    m = T.shape[0]
    k = R.shape[1]
    r = np.zeros(m)
    N = np.zeros((m, m))
    r_all = np.zeros((n + 1, m))   # r_all[t] = r_t, t = 0..n
    V = np.zeros((n, m, m))
    QRt = Q @ R.T
    I = np.eye(m)
    for t in range(n - 1, -1, -1):
        r_all[t + 1] = r
        if nobs[t] == 0:
            Lt = T
            r = T.T @ r
            N = T.T @ N @ T
        else:
            Fi = Finv_all[t]
            Kt = K_all[t]
            ZtFi = Z.T @ Fi                       # m×p (zeros where missing)
            # rows of Z for missing obs are multiplied by zero Fi rows/cols
            Lt = T @ (I - Kt @ Z)
            r = ZtFi @ v_all[t] + Lt.T @ r
            N = ZtFi @ Z + Lt.T @ N @ Lt
            N = 0.5 * (N + N.T)
        Pt = P_pred[t]
        V[t] = Pt - Pt @ N @ Pt
    r_all[0] = r
    u_hat = np.zeros((n, k))
    s_hat = np.zeros((n, m))
    for t in range(n):
        u_hat[t] = QRt @ r_all[t]
    s_hat[0] = a_pred[0] + P_pred[0] @ r_all[0]
    for t in range(1, n):
        s_hat[t] = T @ s_hat[t - 1] + R @ u_hat[t]
    return s_hat, V, u_hat, r_all
