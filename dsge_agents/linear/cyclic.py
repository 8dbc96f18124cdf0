"""Cyclic reduction for the first-order matrix quadratic equation (Numba).

Solves :math:`A_+ X^2 + A_0 X + A_- = 0` for the minimal (stable) solvent,
the transition matrix of the first-order solution, by the cyclic reduction of
Bini, Iannazzo & Meini (2012), *Numerical Solution of Algebraic Riccati
Equations*, SIAM, §5.3 (originally Buzbee, Golub & Nielson 1970; applied to
quasi-birth–death processes by Latouche & Ramaswami 1993; Dynare's
``dr_cycle_reduction``). With :math:`S_k = (A_0^{(k)})^{-1}`:

.. math::

    A_-^{(k+1)} &= -A_-^{(k)} S_k A_-^{(k)}, \\qquad
    A_+^{(k+1)} = -A_+^{(k)} S_k A_+^{(k)}, \\\\
    A_0^{(k+1)} &= A_0^{(k)} - A_-^{(k)} S_k A_+^{(k)} - A_+^{(k)} S_k A_-^{(k)}, \\\\
    \\hat A^{(k+1)} &= \\hat A^{(k)} - A_+^{(k)} S_k A_-^{(k)}, \\qquad
    \\tilde A^{(k+1)} = \\tilde A^{(k)} - A_-^{(k)} S_k A_+^{(k)},

with :math:`\\hat A^{(0)} = \\tilde A^{(0)} = A_0`. When the 2n eigenvalues of
the quadratic pencil split as :math:`|\\lambda_n| < 1 < |\\lambda_{n+1}|`,
:math:`A_-^{(k)} = O(|\\lambda_n|^{2^k})` and :math:`A_+^{(k)} =
O(|\\lambda_{n+1}|^{-2^k})`, and

* :math:`X = -(\\hat A^{(\\infty)})^{-1} A_-` is the minimal solvent (eigenvalues
  :math:`\\lambda_1..\\lambda_n`), and
* :math:`Y = -(\\tilde A^{(\\infty)})^{-1} A_+` is the minimal solvent of the *dual*
  (reversed) equation :math:`A_- Y^2 + A_0 Y + A_+ = 0` (eigenvalues
  :math:`1/\\lambda_{2n}..1/\\lambda_{n+1}`).

Blanchard–Kahn from the CR solution (cheap, no QZ). Counting the 2n eigenvalues
of the quadratic pencil (the trivial zeros of non-state columns and infinities
of non-lead columns included), the model is determinate iff exactly n of them
have modulus ≤ ``qz_criterium`` — equivalent to Dynare's count on its reduced
pencil, because the trivial eigenvalues add n − nspred zeros and n − nsfwrd
infinities. Hence: ``spectral_radius(X) > crit`` ⇒ fewer than n stable
eigenvalues (no stable solution); ``spectral_radius(Y) >= 1/crit`` ⇒ more than n
(indeterminacy). Both spectral radii come from ``np.linalg.eigvals`` of two
n × n matrices.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["cyclic_reduction", "cr_solve", "CR_OK", "CR_INDETERMINATE", "CR_NO_STABLE",
           "CR_NO_CONVERGENCE", "CR_SINGULAR", "CR_NONFINITE", "CR_MESSAGES", "CR_TOL", "CR_MAX_ITER"]

#: convergence tolerance and iteration cap of cyclic reduction (defaults of every caller)
CR_TOL, CR_MAX_ITER = 1e-13, 100

CR_OK = 0
CR_INDETERMINATE = 1
CR_NO_STABLE = 2
CR_NO_CONVERGENCE = 3
CR_SINGULAR = 4
CR_NONFINITE = 5
CR_MESSAGES = {
    CR_OK: "ok",
    CR_INDETERMINATE: "indeterminacy (more stable eigenvalues than predetermined directions)",
    CR_NO_STABLE: "no stable solution (too many explosive eigenvalues)",
    CR_NO_CONVERGENCE: "cyclic reduction did not converge (eigenvalue on or near the unit circle?)",
    CR_SINGULAR: "singular matrix in cyclic reduction or in the impact matrix",
    CR_NONFINITE: "non-finite steady state or Jacobian",
}


# ---------------------------------------------------------------------------
# small dense linear algebra: at DSGE sizes (n ~ 5-50) the LAPACK/BLAS call
# overhead of np.linalg.solve / @ inside Numba dominates; plain loops are faster.
_SMALL = 24


@njit(cache=True)
def _matmul(A, B):
    """C = A @ B; explicit loops for small operands, BLAS otherwise."""
    n, k = A.shape
    m = B.shape[1]
    if n > _SMALL or m > _SMALL or k > _SMALL:
        return np.ascontiguousarray(A) @ np.ascontiguousarray(B)
    C = np.zeros((n, m))
    for i in range(n):
        for p in range(k):
            a = A[i, p]
            if a != 0.0:
                for j in range(m):
                    C[i, j] += a * B[p, j]
    return C


@njit(cache=True)
def lu_factor(A):
    """LU factorization with partial pivoting (Golub & Van Loan 2013, Alg. 3.4.1).

    Returns ``(LU, piv, ok)``; ``ok`` is False when a pivot is exactly zero or
    smaller than ``1e-14 * max|A|`` (numerically singular), or A is not finite.
    A copying wrapper of :func:`_lu_inplace`.
    """
    LU = A.copy()
    piv = np.arange(A.shape[0])
    ok = _lu_inplace(LU, piv)
    return LU, piv, ok


@njit(cache=True)
def lu_solve(LU, piv, B):
    """Solve ``A X = B`` given :func:`lu_factor` of A (an allocating wrapper of :func:`_lu_solve_into`)."""
    X = np.empty((LU.shape[0], B.shape[1]))
    _lu_solve_into(LU, piv, B, X)
    return X


@njit(cache=True)
def solve_small(A, B):
    """``(X, ok)`` with ``A X = B`` by :func:`lu_factor` / :func:`lu_solve`."""
    LU, piv, ok = lu_factor(A)
    if not ok:
        return np.zeros((A.shape[0], B.shape[1])), False
    return lu_solve(LU, piv, B), True


@njit(cache=True)
def _norm1(M):
    """Induced 1-norm (max column sum)."""
    best = 0.0
    for j in range(M.shape[1]):
        s = 0.0
        for i in range(M.shape[0]):
            s += abs(M[i, j])
        if s > best:
            best = s
    return best


@njit(cache=True)
def _all_finite(M):
    for v in M.ravel():
        if not np.isfinite(v):
            return False
    return True


@njit(cache=True)
def _spectral_radius(M):
    if M.shape[0] == 0:
        return 0.0
    ev = np.linalg.eigvals(M.astype(np.complex128))  # real eigvals in Numba rejects complex results
    r = 0.0
    for v in ev:
        a = abs(v)
        if a > r:
            r = a
    return r


@njit(cache=True)
def _nonzero_columns(M):
    """Indices of the columns of M with a non-zero entry."""
    n, m = M.shape
    keep = np.zeros(m, dtype=np.bool_)
    for i in range(n):
        for j in range(m):
            if M[i, j] != 0.0:
                keep[j] = True
    return np.flatnonzero(keep)


@njit(cache=True)
def _take_cols(M, cols):
    out = np.empty((M.shape[0], cols.shape[0]))
    for i in range(M.shape[0]):
        for k in range(cols.shape[0]):
            out[i, k] = M[i, cols[k]]
    return out


@njit(cache=True)
def _take_rows(M, rows):
    out = np.empty((rows.shape[0], M.shape[1]))
    for k in range(rows.shape[0]):
        for j in range(M.shape[1]):
            out[k, j] = M[rows[k], j]
    return out


@njit(cache=True)
def _sub_cols(M, cols, V):
    """M[:, cols] -= V in place."""
    for i in range(M.shape[0]):
        for k in range(cols.shape[0]):
            M[i, cols[k]] -= V[i, k]


@njit(cache=True)
def _lu_inplace(LU, piv):
    """In-place LU with partial pivoting of LU (Golub & Van Loan Alg. 3.4.1); False if (near) singular."""
    n = LU.shape[0]
    amax = 0.0
    for i in range(n):
        for j in range(n):
            a = abs(LU[i, j])
            if a > amax:
                amax = a
    if not np.isfinite(amax):
        return False
    thresh = 1e-14 * amax
    for k in range(n):
        piv[k] = k
    for k in range(n):
        p = k
        best = abs(LU[k, k])
        for i in range(k + 1, n):
            a = abs(LU[i, k])
            if a > best:
                best = a
                p = i
        if best <= thresh or best == 0.0:
            return False
        if p != k:
            for j in range(n):
                tmp = LU[k, j]
                LU[k, j] = LU[p, j]
                LU[p, j] = tmp
            t = piv[k]
            piv[k] = piv[p]
            piv[p] = t
        inv = 1.0 / LU[k, k]
        for i in range(k + 1, n):
            f = LU[i, k] * inv
            LU[i, k] = f
            if f != 0.0:
                for j in range(k + 1, n):
                    LU[i, j] -= f * LU[k, j]
    return True


@njit(cache=True)
def _lu_solve_into(LU, piv, B, X):
    """X = A^{-1} B given the in-place LU of A (no allocation)."""
    n = LU.shape[0]
    m = B.shape[1]
    for i in range(n):
        for j in range(m):
            X[i, j] = B[piv[i], j]
    for i in range(n):
        for p in range(i):
            f = LU[i, p]
            if f != 0.0:
                for j in range(m):
                    X[i, j] -= f * X[p, j]
    for i in range(n - 1, -1, -1):
        for p in range(i + 1, n):
            f = LU[i, p]
            if f != 0.0:
                for j in range(m):
                    X[i, j] -= f * X[p, j]
        inv = 1.0 / LU[i, i]
        for j in range(m):
            X[i, j] *= inv


@njit(cache=True)
def cyclic_reduction(A_lag, A_cur, A_lead, tol=CR_TOL, max_iter=CR_MAX_ITER):
    """Cyclic reduction (Bini, Iannazzo & Meini 2012, §5.3) for ``A_lead X² + A_cur X + A_lag = 0``.

    The iteration preserves the column support of ``A_-^{(k)}`` (columns of the
    variables with a lag, "states", s of them) and of ``A_+^{(k)}`` (variables
    with a lead, f of them): ``A_-^{(k+1)} = -A_-^{(k)} (S_k A_-^{(k)})`` only
    reads the state rows of ``S_k A_-^{(k)}``. The iterates are therefore kept
    as n×s and n×f blocks, so one step costs an n×n LU plus O(n²(s+f)) instead
    of several n³ products; all work arrays are allocated once.

    Parameters
    ----------
    A_lag, A_cur, A_lead : ndarray (n, n), float64
    tol : float
        Stop when ``max(|A_-^{(k)}|_1, |A_+^{(k)}|_1) <= tol * scale`` with
        ``scale = max(1, |A_-|_1, |A_0|_1, |A_+|_1)``.
    max_iter : int

    Returns
    -------
    X : ndarray (n, n)   minimal solvent (transition matrix), zero outside the state columns
    Y : ndarray (n, n)   minimal solvent of the dual equation ``A_lag Y² + A_cur Y + A_lead = 0``
    code : int           0 ok, 3 no convergence (or divergence), 4 singular A_0^{(k)} or hat-A
    """
    n = A_cur.shape[0]
    X = np.zeros((n, n))
    Y = np.zeros((n, n))
    sc = _nonzero_columns(A_lag)     # states
    fc = _nonzero_columns(A_lead)    # forward-looking
    ns = sc.shape[0]
    nf = fc.shape[0]
    m = ns + nf
    scale = max(1.0, max(_norm1(A_lag), max(_norm1(A_cur), _norm1(A_lead))))
    # rhs = [a0 | a2] (n x (ns+nf)) holds the current A_-^{(k)}, A_+^{(k)} column blocks
    rhs = np.empty((n, m))
    for i in range(n):
        for k in range(ns):
            rhs[i, k] = A_lag[i, sc[k]]
        for k in range(nf):
            rhs[i, ns + k] = A_lead[i, fc[k]]
    a1 = A_cur.copy()
    ahat = A_cur.copy()
    atil = A_cur.copy()
    LU = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    sol = np.empty((n, m))
    p02 = np.empty((n, nf))
    p20 = np.empty((n, ns))
    row0 = np.empty(ns)
    row2 = np.empty(nf)
    n0 = np.empty(ns)
    n2 = np.empty(nf)
    crit = tol * scale
    converged = max(_norm1(rhs[:, :ns]), _norm1(rhs[:, ns:])) <= crit
    it = 0
    while not converged and it < max_iter:
        it += 1
        LU[:, :] = a1
        if not _lu_inplace(LU, piv):          # singular A_0^{(k)}
            return X, Y, 4
        _lu_solve_into(LU, piv, rhs, sol)     # sol = [S a0 | S a2]
        # products through the state / forward rows of S a0, S a2
        for i in range(n):
            for k in range(nf):
                acc = 0.0
                for p in range(ns):
                    acc += rhs[i, p] * sol[sc[p], ns + k]
                p02[i, k] = acc                  # a0 S a2  (forward columns)
            for k in range(ns):
                acc = 0.0
                for p in range(nf):
                    acc += rhs[i, ns + p] * sol[fc[p], k]
                p20[i, k] = acc                  # a2 S a0  (state columns)
        # new a0 = -a0 S a0 and a2 = -a2 S a2, row by row (each row reads only its own old row)
        n0[:] = 0.0
        n2[:] = 0.0
        for i in range(n):
            for k in range(ns):
                acc = 0.0
                for p in range(ns):
                    acc += rhs[i, p] * sol[sc[p], k]
                row0[k] = -acc
            for k in range(nf):
                acc = 0.0
                for p in range(nf):
                    acc += rhs[i, ns + p] * sol[fc[p], ns + k]
                row2[k] = -acc
            for k in range(ns):
                rhs[i, k] = row0[k]
                n0[k] += abs(row0[k])
            for k in range(nf):
                rhs[i, ns + k] = row2[k]
                n2[k] += abs(row2[k])
        for i in range(n):
            for k in range(nf):
                a1[i, fc[k]] -= p02[i, k]
                atil[i, fc[k]] -= p02[i, k]
            for k in range(ns):
                a1[i, sc[k]] -= p20[i, k]
                ahat[i, sc[k]] -= p20[i, k]
        nrm = 0.0
        for k in range(ns):
            if n0[k] > nrm or not np.isfinite(n0[k]):
                nrm = n0[k]
        for k in range(nf):
            if n2[k] > nrm or not np.isfinite(n2[k]):
                nrm = n2[k]
        if not np.isfinite(nrm):
            return X, Y, 3   # diverged: no splitting at the unit circle
        converged = nrm <= crit
    if not converged:
        return X, Y, 3
    Xs, ok1 = solve_small(ahat, _take_cols(A_lag, sc))
    Ys, ok2 = solve_small(atil, _take_cols(A_lead, fc))
    if not (ok1 and ok2):
        return X, Y, 4
    for i in range(n):
        for k in range(ns):
            X[i, sc[k]] = -Xs[i, k]
        for k in range(nf):
            Y[i, fc[k]] = -Ys[i, k]
    if not (_all_finite(X) and _all_finite(Y)):
        return X, Y, 4
    return X, Y, 0


@njit(cache=True)
def _block_spectral_radius(M, cols):
    """Spectral radius of M when M is zero outside ``cols``: that of ``M[cols, cols]``."""
    return _spectral_radius(_take_cols(_take_rows(M, cols), cols))


@njit(cache=True)
def cr_solve(A_lag, A_cur, A_lead, A_u, qz_criterium=1.0 + 1e-6, tol=CR_TOL, max_iter=CR_MAX_ITER):
    """First-order solution by cyclic reduction with a cheap Blanchard–Kahn check.

    ``T`` is the minimal solvent of ``A_lead T² + A_cur T + A_lag = 0``
    (:func:`cyclic_reduction`), ``R = -(A_lead T + A_cur)^{-1} A_u`` (Dynare's
    ghu). The BK verdict uses the spectral radii of ``T`` and of the dual solvent
    (see the module docstring).

    Returns
    -------
    T : ndarray (n, n), R : ndarray (n, n_u), code : int
        code 0 ok, 1 indeterminacy, 2 no stable solution, 3 no convergence,
        4 singular, 5 non-finite input.
    """
    n = A_cur.shape[0]
    R = np.zeros((n, A_u.shape[1]))
    if not (_all_finite(A_lag) and _all_finite(A_cur) and _all_finite(A_lead) and _all_finite(A_u)):
        return np.zeros((n, n)), R, 5
    T, Y, code = cyclic_reduction(A_lag, A_cur, A_lead, tol, max_iter)
    if code != 0:
        # CR cannot converge when an eigenvalue sits inside the annulus it needs; the dual
        # problem tells which side failed only when it is available, so report as given.
        return T, R, code
    # T (resp. Y) vanishes outside the state (resp. forward) columns, so its
    # non-zero eigenvalues are those of the state (forward) principal block
    if _block_spectral_radius(T, _nonzero_columns(A_lag)) > qz_criterium:
        return T, R, 2
    if _block_spectral_radius(Y, _nonzero_columns(A_lead)) * qz_criterium >= 1.0:
        return T, R, 1
    M = _matmul(A_lead, T) + A_cur
    Rs, ok = solve_small(M, A_u)
    if not ok:
        return T, R, 4
    R = -Rs
    if not _all_finite(R):
        return T, R, 4
    return T, R, 0
