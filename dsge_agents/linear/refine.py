"""Refinement of a first-order solution in working precision.

Ordered QZ (:mod:`.qz`) is normwise backward stable: the computed solvent ``T`` of
:math:`A_+ T^2 + A_0 T + A_- = 0` is exact for a pencil perturbed by about
``eps × ‖pencil‖``. When the units of equations and variables differ by many orders of
magnitude (the agent economy: SLO-violation rates of 1e-5 next to capacities of 600 and
demand of 1e7 requests per period), such a perturbation is large next to the small
entries, and the decision rules of the weakly linked variables lose up to ten digits
(measured: 5e-8 of the IRF scale on the default economy, 1e-5 with λ̄ = 1e7) although the
problem itself is well conditioned (componentwise perturbations of 1e-16 in the Jacobian move
the exact solution by 1e-15). Dynare 5.3's QZ loses the same digits.

Two classical remedies, applied after the QZ:

* **Newton's method on the matrix quadratic** (Higham & Kim 2001, "Solving a quadratic matrix
  equation by Newton's method with exact line searches", SIAM J. Matrix Anal. Appl. 23(2),
  303–316, §2–3; proposed there to refine a solvent computed by another method). With
  ``X`` non-zero only in the state columns ``S`` (``X_S``, ``G = X[S, S]``), the residual is
  :math:`F = A_+ X_S G + A_0 X_S + A_{-,S}` and the Newton correction solves the generalized
  Sylvester equation

  .. math::  M\\,\\Delta + A_+ \\Delta\\, G = -F, \\qquad M = A_0 + A_+ X.

  Only the rows ``f`` of the variables with a lead enter :math:`A_+ \\Delta`, so with
  :math:`P = -M^{-1} F` and :math:`Q = M^{-1} A_{+,f}` the unknown
  :math:`W = \\Delta_f` solves the small Stein equation :math:`W + Q_f W G = P_f`
  (n_fwd × n_states; by a Kronecker system when small, else column by column on the
  complex Schur form of G, Bartels & Stewart 1972) and :math:`\\Delta = P - Q W G`.
  The residual is computed in working precision, which is enough for the iteration to
  reach a componentwise backward error of order eps (fixed-precision iterative
  refinement; Higham 2002, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §12.2).
  A step is kept only if it lowers the backward error; at most :data:`MAX_NEWTON` steps.

* **One step of iterative refinement** of the impact matrix
  :math:`R = -M^{-1} A_u` of a rescaled model (Skeel 1980, "Iterative refinement implies numerical stability for
  Gaussian elimination", Math. Comp. 35, 817–832), on the row/column-equilibrated LU of ``M``.

The eigenvalues and Blanchard–Kahn counts are those of the QZ (unchanged, as Dynare's).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

__all__ = ["EquilibratedLU", "impact", "backward_error", "refine_solvent", "MAX_NEWTON", "NEWTON_TOL"]

#: most Newton steps taken (each is one LU of M and a small Stein equation)
MAX_NEWTON = 4
#: componentwise backward error below which a solvent is kept as computed (≈ 60 unit roundoffs)
NEWTON_TOL = 2.0 ** -46
#: a Newton step below this (relative, in equilibrated units) ends the iteration: the next would
#: only move rounding residue
STOP = 2.0 ** -43
#: Stein equations up to this many unknowns are solved as one Kronecker system
_KRON_MAX = 600


class EquilibratedLU:
    """LU of ``M`` after equilibrating rows and columns by their largest entries (``M = D_r M̃ D_c``).

    The singularity test on the pivots of M̃ does not depend on the units of equations and
    variables (an economy with λ̄ = 1e-6 requests per period has entries from 1e-6 to 1e12 and is
    as regular as λ̄ = 330; Dynare 5.3 solves both). Raises ``np.linalg.LinAlgError`` when a pivot
    of M̃ is below 1e-14.
    """

    def __init__(self, M: np.ndarray):
        d_r = np.max(np.abs(M), axis=1)
        d_r[~(d_r > 0)] = 1.0
        Ms = M / d_r[:, None]
        d_c = np.max(np.abs(Ms), axis=0)
        d_c[~(d_c > 0)] = 1.0
        Ms /= d_c[None, :]
        self.lu = sla.lu_factor(Ms, check_finite=False)
        if not np.min(np.abs(np.diag(self.lu[0])), initial=1.0) > 1e-14:
            raise np.linalg.LinAlgError("singular")
        self.d_r, self.d_c = d_r, d_c

    def solve(self, B: np.ndarray) -> np.ndarray:
        """``M⁻¹ B`` = D_c⁻¹ M̃⁻¹ D_r⁻¹ B."""
        return sla.lu_solve(self.lu, B / self.d_r[:, None], check_finite=False) / self.d_c[:, None]


def impact(M: np.ndarray, A_u: np.ndarray, refine: bool = True) -> np.ndarray:
    """``R = −M⁻¹ A_u``, with one step of iterative refinement (Skeel 1980) when ``refine``."""
    fac = EquilibratedLU(M)
    R = -fac.solve(A_u)
    if refine and R.size:
        R -= fac.solve(M @ R + A_u)
    if not np.all(np.isfinite(R)):
        raise np.linalg.LinAlgError("non-finite impact matrix")
    return R


def backward_error(A_lag_S, A_cur, A_lead_f, Xs, S, f):
    """Residual ``F = A_+ X_S G + A_0 X_S + A_{-,S}`` and its componentwise backward error.

    ``max |F_ij| / (|A_+||X_S||G| + |A_0||X_S| + |A_{-,S}|)_ij`` (0/0 counted as 0): the smallest
    relative perturbation of the entries of the Jacobians (and of X) that makes X exact
    (Oettli & Prager 1964 for linear systems). Invariant to the units of equations and variables.
    """
    G = Xs[S]
    Xf = Xs[f]
    F = A_lead_f @ (Xf @ G) + A_cur @ Xs + A_lag_S
    den = np.abs(A_lead_f) @ (np.abs(Xf) @ np.abs(G)) + np.abs(A_cur) @ np.abs(Xs) + np.abs(A_lag_S)
    ratio = np.divide(np.abs(F), den, out=np.zeros_like(den), where=den > 0)
    bad = (den == 0) & (F != 0)
    omega = np.inf if np.any(bad) else float(np.max(ratio, initial=0.0))
    return F, omega


def _stein(K: np.ndarray, G: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Solve ``W + K W G = C`` (K: p × p, G: q × q, C: p × q)."""
    p, q = C.shape
    if p * q <= _KRON_MAX:
        # vec(K W G) = (Gᵀ ⊗ K) vec(W), column-major vec
        L = np.eye(p * q) + np.kron(G.T, K)
        return np.linalg.solve(L, C.reshape(-1, order="F")).reshape(p, q, order="F")
    # Bartels–Stewart sweep on the complex Schur form G = V Tg Vᴴ: Z = W V solves Z + K Z Tg = C V,
    # column j: (I + Tg[j, j] K) z_j = (C V)_j − K Σ_{i<j} z_i Tg[i, j]
    Tg, V = sla.schur(G, output="complex")
    CV = C @ V
    Z = np.zeros((p, q), dtype=complex)
    eye = np.eye(p)
    for j in range(q):
        rhs = CV[:, j] - K @ (Z[:, :j] @ Tg[:j, j]) if j else CV[:, j]
        Z[:, j] = np.linalg.solve(eye + Tg[j, j] * K, rhs)
    return (Z @ V.conj().T).real


def refine_solvent(A_lag, A_cur, A_lead, T, states, tol: float = NEWTON_TOL, max_steps: int = MAX_NEWTON):
    """Newton refinement of the stable solvent ``T`` (non-zero only in the columns ``states``).

    Skipped when the componentwise backward error of ``T`` is already below ``tol``. Corrections
    are measured in the units in which ``M = A_0 + A_+ T`` is equilibrated (variable k scaled by
    the column factor ``d_c[k]`` of :class:`EquilibratedLU`, so entry (k, j) of T by
    ``d_c[k] / d_c[S_j]``), relative to the largest entry of T there: the first step is kept
    unless it is non-finite or larger than 10 % (then the QZ solution is returned as is), later
    steps while they shrink by half at least; the iteration stops after a step below :data:`STOP`
    (1.1e-13). (The backward error itself cannot steer the iteration: an entry that is exactly
    zero in the solution carries rounding residue relative to which every residual is of order one.)

    Returns ``(T, steps, omega)``: the refined transition matrix (``T`` itself when no step was
    taken), the number of Newton steps kept and the backward error of the input ``T``.
    """
    S = np.asarray(states, dtype=np.int64)
    if len(S) == 0:
        return T, 0, 0.0
    f = np.flatnonzero(np.any(A_lead != 0, axis=0))
    A_lag_S, A_lead_f = A_lag[:, S], A_lead[:, f]
    Xs = T[:, S].copy()
    F, omega0 = backward_error(A_lag_S, A_cur, A_lead_f, Xs, S, f)
    if not omega0 > tol:
        return T, 0, omega0
    steps, last, weight, x_size = 0, np.inf, None, 1.0
    while steps < max_steps:
        G = Xs[S]
        M = A_cur.copy()
        M[:, S] += A_lead_f @ Xs[f]
        try:
            fac = EquilibratedLU(M)
        except (np.linalg.LinAlgError, ValueError):
            break
        P = -fac.solve(F)
        if len(f):
            Q = fac.solve(A_lead_f)
            W = _stein(Q[f], G, P[f])
            D = P - Q @ (W @ G)
        else:
            D = P
        if weight is None:      # scale-free size of an n x n_states matrix: entries times d_c[k] / d_c[S_j]
            weight = fac.d_c[:, None] / fac.d_c[S][None, :]
            x_size = float(np.max(np.abs(Xs) * weight, initial=0.0)) or 1.0
        size = float(np.max(np.abs(D) * weight, initial=0.0)) / x_size
        if not np.isfinite(size) or size > (0.1 if steps == 0 else 0.5 * last):
            break
        Xs = Xs + D
        steps, last = steps + 1, size
        if size <= STOP:
            break
        G = Xs[S]
        F = A_lead_f @ (Xs[f] @ G) + A_cur @ Xs + A_lag_S
    if steps == 0:
        return T, 0, omega0
    T = np.zeros_like(T)
    T[:, S] = Xs
    return T, steps, omega0
