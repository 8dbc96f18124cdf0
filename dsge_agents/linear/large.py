"""First-order solution of *large* sparse linear rational-expectations models.

The model is :math:`A_- y_{t-1} + A_0 y_t + A_+ E_t y_{t+1} + A_u u_t = 0` and its
stable solution :math:`y_t = G y_{t-1} + H u_t` (G non-zero only in the columns
of the variables with a lag) solves :math:`A_+ G^2 + A_0 G + A_- = 0`. Dense
ordered QZ (:mod:`.qz`) costs O(n³) on a pencil of the size of the states plus
the forward variables, hopeless at a few thousand variables. This module
exploits structure that it *detects from the sparsity of the matrices* (never
from variable names):

1. **Exogenous blocks** (block-triangular structure). A perfect matching of
   equations to variables on the pattern of :math:`A_0` and the strongly
   connected components of the resulting dependency graph give the
   block-triangular form used by Dynare's ``block`` option (Duff & Reid 1978,
   Tarjan 1972). The largest set of blocks that contain no lead and depend only
   on blocks of the same kind is *exogenous*: it follows
   :math:`z_t = P z_{t-1} + R_z u_t` with :math:`P = -A_{0,zz}^{-1} A_{-,zz}`
   (a sparse LU), whatever the rest of the model does. The remaining
   ("endogenous") system e is solved without z (:math:`G_e`), then the loadings
   on z: with :math:`e_t = G_e e_{t-1} + D z_{t-1} + H_e u_t`,
   :math:`M = A_{0,ee} + A_{+,ee} G_e` and :math:`C = A_{0,ez} + A_{+,ez} P`,

   .. math::  M D + A_{+,ee} D P = -(C P + A_{-,ez}), \\qquad
              H_e = -M^{-1} [(A_{+,ee} D + C) R_z + A_{u,e}],

   a generalized Sylvester equation. For diagonal P (AR(1) shocks) its columns
   decouple, :math:`(M + p_j A_{+,ee}) d_j = -r_j`, one sparse LU per distinct
   :math:`p_j`; for a general P the complex Schur form
   :math:`P = Q T Q^*` makes it triangular and the columns are solved in order
   (Bartels & Stewart 1972; Golub, Nash & Van Loan 1979, "A Hessenberg–Schur
   method for the problem AX + XB = C").

2. **Low-rank cyclic reduction.** On the endogenous system, cyclic reduction
   (Bini, Iannazzo & Meini 2012, *Numerical Solution of Algebraic Riccati
   Equations*, §5.3; Dynare's ``dr_cycle_reduction``) keeps
   :math:`A_-^{(k)} = U_- C_k V_-^T` and :math:`A_+^{(k)} = U_+ D_k V_+^T`
   with the rank factorizations :math:`A_- = U_- V_-^T`,
   :math:`A_+ = U_+ V_+^T` fixed (the recursions
   :math:`A_\\pm^{(k+1)} = -A_\\pm^{(k)} S_k A_\\pm^{(k)}` preserve both
   factors), while :math:`A_0^{(k)} = A_0 + U W_k V^T` is a low-rank update of
   the *sparse* :math:`A_0`, :math:`U = [U_-, U_+]`, :math:`V = [V_-, V_+]`,
   :math:`W_k = \\begin{pmatrix} 0 & X_k \\\\ Y_k & 0 \\end{pmatrix}`. By the
   Sherman–Morrison–Woodbury identity every quantity the iteration needs is an
   m × m matrix (m = rank A_- + rank A_+):

   .. math::  \\Sigma_k = V^T (A_0^{(k)})^{-1} U = K (I + W_k K)^{-1},
              \\qquad K = V^T A_0^{-1} U,

   .. math::  C_{k+1} = -C_k \\Sigma^{--}_k C_k,\\; D_{k+1} = -D_k \\Sigma^{++}_k D_k,\\;
              X_{k+1} = X_k - C_k \\Sigma^{-+}_k D_k,\\; Y_{k+1} = Y_k - D_k \\Sigma^{+-}_k C_k.

   At convergence :math:`\\hat A = A_0 + U_+ Y V_-^T` and
   :math:`G = -\\hat A^{-1} U_- V_-^T`; the non-zero eigenvalues of G are those of
   the r × r matrix :math:`-V_-^T \\hat A^{-1} U_-`, and those of the dual solvent
   :math:`-\\tilde A^{-1} A_+` (:math:`\\tilde A = A_0 + U_- X V_+^T`) decide
   indeterminacy (see :mod:`.cyclic`). Only one sparse LU of :math:`A_0` and
   dense m × m algebra (BLAS/LAPACK, multi-threaded) are needed; static
   variables never enter the iteration (they are eliminated implicitly by the
   sparse LU, the role of Dynare's QR step, Villemot 2011, "Solving rational
   expectations models at first order: what Dynare does", §3).

The rank factorizations come from the connected components of the bipartite
row/column graph of :math:`A_\\pm` (a dense SVD per component; components are
small in models built from many similar units).

Result: :class:`LargeSolution` with ``ghx`` (n × n_states, the state columns
of G) and ``ghu`` (n × n_u); IRFs and simulations run on the states only
(:meth:`LargeSolution.irf_array`), never on a dense n × n transition.
Failures raise the named errors of :mod:`dsge_agents.errors` with what is
known (spectral radii, number of unstable roots found).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla
from numba import njit

from dsge_agents.errors import (DSGEError, IndeterminacyError, NoStableSolutionError,
                                SingularPencilError)
from dsge_agents.linear.qz import SolveInfo

__all__ = ["solve_large", "LargeSolution", "exogenous_blocks", "rank_factor", "lowrank_cyclic_reduction"]

_RANK_TOL = 1e-12


# ---------------------------------------------------------------------------- helpers
def _as_csr(M, n_rows=None, n_cols=None) -> sp.csr_matrix:
    """CSR float64 copy of a dense array, a SciPy sparse matrix or a ``(rows, cols, vals)`` triple."""
    if isinstance(M, tuple) and len(M) == 3:
        r, c, v = (np.asarray(x) for x in M)
        if n_rows is None or n_cols is None:
            raise DSGEError("a (rows, cols, values) triple needs the matrix shape")
        return sp.csr_matrix((v.astype(float), (r.astype(np.int64), c.astype(np.int64))),
                             shape=(n_rows, n_cols))
    if sp.issparse(M):
        out = sp.csr_matrix(M, dtype=float)
    else:
        out = sp.csr_matrix(np.asarray(M, dtype=float))
    out.sum_duplicates()
    out.eliminate_zeros()
    return out


def _nonzero_cols(M: sp.spmatrix) -> np.ndarray:
    M = M.tocsc()
    return np.flatnonzero(np.diff(M.indptr) > 0)


def _nonzero_rows(M: sp.spmatrix) -> np.ndarray:
    M = M.tocsr()
    return np.flatnonzero(np.diff(M.indptr) > 0)


@njit(cache=True)
def _lu_solve_inplace(Lp, Li, Lx, Up, Ui, Ux, Ud, X):
    """``X ← U⁻¹ L⁻¹ X`` for CSR factors (L unit lower, strictly lower part; U strictly upper + diagonal Ud).

    Forward and back substitution by rows (Golub & Van Loan 2013, Alg. 3.1.1–3.1.2), each
    row update a vector operation over all right-hand sides: O(nnz(L+U) · k) for k columns.
    """
    n, k = X.shape
    for i in range(n):
        for p in range(Lp[i], Lp[i + 1]):
            j = Li[p]
            a = Lx[p]
            for c in range(k):
                X[i, c] -= a * X[j, c]
    for i in range(n - 1, -1, -1):
        for p in range(Up[i], Up[i + 1]):
            j = Ui[p]
            a = Ux[p]
            for c in range(k):
                X[i, c] -= a * X[j, c]
        inv = 1.0 / Ud[i]
        for c in range(k):
            X[i, c] *= inv


class _SparseLU:
    """SuperLU factorization with a singularity check (Demmel et al. 1999, SuperLU).

    ``ok`` is False when the matrix is (numerically) singular: SuperLU fails or
    the smallest |u_ii| is below ``1e-13 * max|A|``.
    """

    def __init__(self, A: sp.spmatrix):
        A = sp.csc_matrix(A)
        self.n = A.shape[0]
        self.ok = True
        self.lu = None
        self.dtype = A.dtype
        if self.n == 0:
            return
        try:
            self.lu = spla.splu(A, permc_spec="COLAMD", diag_pivot_thresh=1.0)
        except RuntimeError:
            self.ok = False
            return
        d = np.abs(self.lu.U.diagonal())
        scale = max(float(abs(A).max()) if A.nnz else 0.0, 1e-300)
        if not np.all(np.isfinite(d)) or d.min(initial=np.inf) <= 1e-13 * scale:
            self.ok = False
            return
        self.fast = None
        if A.dtype == np.float64:
            Lc = sp.tril(self.lu.L, k=-1, format="csr")
            Uc = self.lu.U.tocsr()
            Ud = Uc.diagonal().copy()
            Uc = sp.triu(Uc, k=1, format="csr")
            self.fast = (Lc.indptr.astype(np.int64), Lc.indices.astype(np.int64), Lc.data,
                         Uc.indptr.astype(np.int64), Uc.indices.astype(np.int64), Uc.data, Ud)
            self.perm_r, self.perm_c = self.lu.perm_r, self.lu.perm_c

    def _solve_real(self, B):
        """``A⁻¹ B`` for real B: ``Pr A Pc = L U`` (SuperLU) ⇒ ``x = Pc U⁻¹ L⁻¹ Pr b``."""
        one = B.ndim == 1
        B2 = B[:, None] if one else B
        X = np.empty((self.n, B2.shape[1]))
        X[self.perm_r] = B2
        _lu_solve_inplace(*self.fast, X)
        out = X[self.perm_c]
        return out[:, 0] if one else out

    def solve(self, B: np.ndarray) -> np.ndarray:
        B = np.asarray(B)
        if self.n == 0:
            return np.zeros_like(B, dtype=np.result_type(B, self.dtype))
        if B.ndim == 2 and B.shape[1] == 0:
            return np.zeros((self.n, 0), dtype=np.result_type(B, self.dtype))
        if getattr(self, "fast", None) is not None:
            if np.iscomplexobj(B):
                return self._solve_real(np.ascontiguousarray(B.real)) + 1j * self._solve_real(
                    np.ascontiguousarray(B.imag))
            return self._solve_real(np.asarray(B, dtype=float))
        return self.lu.solve(np.asarray(B, dtype=np.result_type(B, self.dtype), order="F"))


def rank_factor(M: sp.spmatrix, tol: float = _RANK_TOL) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """Sparse rank factorization ``M = U Vᵀ`` by connected components.

    The rows and non-zero columns of M form a bipartite graph; M is block
    diagonal over its connected components, and each block (small in models
    built from many similar units) is factored by a dense SVD
    ``B = Û Σ V̂ᵀ`` keeping singular values above ``tol * σ_max(M)``:
    ``U_block = Û Σ``, ``V_block = V̂`` (orthonormal columns).

    Returns ``(U, Vcols, V)``: U dense (n_rows × r), V sparse (n_cols × r) and
    ``Vcols`` the column indices where V is non-zero.
    """
    M = sp.csr_matrix(M)
    n_r, n_c = M.shape
    cols = _nonzero_cols(M)
    if len(cols) == 0:
        return np.zeros((n_r, 0)), cols, sp.csr_matrix((n_c, 0))
    rows = _nonzero_rows(M)
    sub = M[rows][:, cols].tocoo()
    nr, nc = len(rows), len(cols)
    # bipartite graph: nodes 0..nr-1 rows, nr..nr+nc-1 columns
    g = sp.coo_matrix((np.ones(sub.nnz), (sub.row, sub.col + nr)), shape=(nr + nc, nr + nc))
    ncomp, lab = csgraph.connected_components(g, directed=False)
    # tolerance relative to the Frobenius norm (≥ the 2-norm, within √rank of it)
    thresh = tol * max(float(np.sqrt(np.sum(sub.data ** 2))), 1e-300)
    rlab, clab = lab[:nr], lab[nr:]
    r_order = np.argsort(rlab, kind="stable")
    c_order = np.argsort(clab, kind="stable")
    r_bounds = np.searchsorted(rlab[r_order], np.arange(ncomp + 1))
    c_bounds = np.searchsorted(clab[c_order], np.arange(ncomp + 1))
    # local index of each row / column inside its component
    r_loc = np.empty(nr, np.int64)
    r_loc[r_order] = np.arange(nr) - r_bounds[rlab[r_order]]
    c_loc = np.empty(nc, np.int64)
    c_loc[c_order] = np.arange(nc) - c_bounds[clab[c_order]]
    e_comp = rlab[sub.row]
    e_order = np.argsort(e_comp, kind="stable")
    e_bounds = np.searchsorted(e_comp[e_order], np.arange(ncomp + 1))
    er_loc, ec_loc, e_val = r_loc[sub.row][e_order], c_loc[sub.col][e_order], sub.data[e_order]
    V_rows, V_cols, V_vals = [], [], []
    U_rows_idx, U_cols_idx, U_vals = [], [], []
    r = 0
    for k in range(ncomp):
        ri = r_order[r_bounds[k]:r_bounds[k + 1]]
        ci = c_order[c_bounds[k]:c_bounds[k + 1]]
        if len(ri) == 0 or len(ci) == 0:
            continue
        B = np.zeros((len(ri), len(ci)))
        sl = slice(e_bounds[k], e_bounds[k + 1])
        B[er_loc[sl], ec_loc[sl]] = e_val[sl]
        if B.shape[0] == 1:                      # rank one: B = ‖b‖ · (b/‖b‖)ᵀ
            nv = np.linalg.norm(B[0])
            if nv <= thresh:
                continue
            q, uu, vv = 1, np.array([[nv]]), (B[0] / nv)[:, None]
        elif B.shape[1] == 1:
            if np.linalg.norm(B[:, 0]) <= thresh:
                continue
            q, uu, vv = 1, B.copy(), np.ones((1, 1))
        else:
            Ub, s, Vt = np.linalg.svd(B, full_matrices=False)
            q = int(np.sum(s > thresh))
            if q == 0:
                continue
            uu = Ub[:, :q] * s[:q]
            vv = Vt[:q].T
        rr, cc = np.meshgrid(rows[ri], np.arange(r, r + q), indexing="ij")
        U_rows_idx.append(rr.ravel()); U_cols_idx.append(cc.ravel()); U_vals.append(uu.ravel())
        vr, vc = np.meshgrid(cols[ci], np.arange(r, r + q), indexing="ij")
        V_rows.append(vr.ravel()); V_cols.append(vc.ravel()); V_vals.append(vv.ravel())
        r += q
    if r == 0:
        return np.zeros((n_r, 0)), np.zeros(0, np.int64), sp.csr_matrix((n_c, 0))
    U = np.zeros((n_r, r))
    U[np.concatenate(U_rows_idx), np.concatenate(U_cols_idx)] = np.concatenate(U_vals)
    V = sp.csr_matrix((np.concatenate(V_vals), (np.concatenate(V_rows), np.concatenate(V_cols))),
                      shape=(n_c, r))
    return U, cols, V


# ---------------------------------------------------------------------------- exogenous blocks
def exogenous_blocks(A_lag, A_cur, A_lead, A_u=None) -> tuple[np.ndarray, np.ndarray]:
    """Equations and variables of the exogenous (lead-free, upstream-closed) part of the model.

    A maximum matching of equations to variables on the pattern of ``A_cur``
    (Hopcroft–Karp via :func:`scipy.sparse.csgraph.maximum_bipartite_matching`)
    assigns each variable its equation; the strongly connected components of
    "variable j's equation involves variable k" (any timing) are the diagonal
    blocks of the block-triangular form (Tarjan 1972; Duff & Reid 1978). A block
    is exogenous when its equations contain no lead and every block it depends
    on is exogenous.

    Returns ``(rows, cols)`` (ascending int arrays; empty when ``A_cur`` has no
    perfect matching).
    """
    A_lag, A_cur, A_lead = (_as_csr(M) for M in (A_lag, A_cur, A_lead))
    n = A_cur.shape[0]
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if n == 0:
        return empty
    pat0 = A_cur.copy()
    pat0.data[:] = 1.0
    match = csgraph.maximum_bipartite_matching(sp.csr_matrix(pat0), perm_type="column")  # row i -> column
    if np.any(match < 0):
        return empty
    eq_of = np.empty(n, np.int64)
    eq_of[match] = np.arange(n)
    pat = (abs(A_lag) + abs(A_cur) + abs(A_lead)).tocsr()
    pat.data[:] = 1.0
    # dependency graph on variables: j -> k if eq_of[j] involves k
    dep = pat[eq_of]                         # row j = equation matched to variable j
    ncomp, lab = csgraph.connected_components(dep, directed=True, connection="strong")
    lead_rows = np.zeros(n, bool)
    lead_rows[_nonzero_rows(A_lead)] = True
    bad_comp = np.zeros(ncomp, bool)
    bad_comp[lab[lead_rows[eq_of]]] = True
    # condensed graph: comp(j) -> comp(k); propagate "bad" to every block that depends on a bad one
    dc = dep.tocoo()
    src, dst = lab[dc.row], lab[dc.col]
    keep = src != dst
    rev = sp.csr_matrix((np.ones(int(keep.sum())), (dst[keep], src[keep])), shape=(ncomp, ncomp))
    if bad_comp.any():
        # multi-source BFS: add a virtual source node connected to every bad component
        srcs = np.flatnonzero(bad_comp)
        rev2 = sp.bmat([[rev, None], [sp.csr_matrix((np.ones(len(srcs)), (np.zeros(len(srcs), np.int64), srcs)),
                                                   shape=(1, ncomp)), None]], format="csr")
        rev2 = sp.csr_matrix((rev2.data, rev2.indices, rev2.indptr), shape=(ncomp + 1, ncomp + 1))
        reach = csgraph.breadth_first_order(rev2, ncomp, directed=True, return_predecessors=False)
        bad_comp[reach[reach < ncomp]] = True
    good_var = ~bad_comp[lab]
    cols = np.flatnonzero(good_var)
    rows = np.sort(eq_of[cols])
    return rows, cols


# ---------------------------------------------------------------------------- low-rank CR
@dataclass
class _CRResult:
    Y: np.ndarray           # accumulated A_+ S A_- part: hat A = A0 + U_+ Y V_-ᵀ
    X: np.ndarray           # tilde A = A0 + U_- X V_+ᵀ
    iterations: int


def lowrank_cyclic_reduction(K: np.ndarray, r_lag: int, tol: float = 1e-13, max_iter: int = 100,
                             scale: tuple[float, float] = (1.0, 1.0)) -> _CRResult:
    """Cyclic reduction in the m-dimensional space of the rank factors (module docstring, item 2).

    ``K = Vᵀ A_0⁻¹ U`` (m × m) with the first ``r_lag`` columns/rows belonging
    to the lag factor. ``scale`` = (‖U_-‖, ‖U_+‖) so that convergence is judged
    on ‖A_±^{(k)}‖ ≈ ‖U_±‖ ‖C_k‖ relative to the matrices. Returns the
    accumulated X, Y. Raises :class:`NoStableSolutionError` (through
    :class:`_CRFailure`) when the iteration diverges or stalls.
    """
    m = K.shape[0]
    rl, rf = r_lag, m - r_lag
    C = np.eye(rl)
    D = np.eye(rf)
    X = np.zeros((rl, rf))
    Y = np.zeros((rf, rl))
    Kl, Kf = K[:rl], K[rl:]               # rows of K: V_-ᵀ..., V_+ᵀ...
    it = 0
    sl, sf = scale
    crit = tol
    nl = sl * np.abs(C).sum(axis=0).max(initial=0.0)
    nf = sf * np.abs(D).sum(axis=0).max(initial=0.0)
    nrm = max(nl, nf)
    while nrm > crit and it < max_iter:
        with np.errstate(over="ignore", invalid="ignore"):
            C, D, X, Y, nl, nf = _cr_step(K, Kl, Kf, C, D, X, Y, rl, rf, sl, sf, it, nl, nf)
        it += 1
        nrm = max(nl, nf)
        if not np.isfinite(nrm) or nrm > 1e200:
            raise _CRFailure("diverged", it, nl, nf)
    if nrm > crit:
        raise _CRFailure("no convergence", it, nl, nf)
    return _CRResult(Y=Y, X=X, iterations=it)


def _cr_step(K, Kl, Kf, C, D, X, Y, rl, rf, sl, sf, it, nl, nf):
    """One step of :func:`lowrank_cyclic_reduction`."""
    m = K.shape[0]
    # I + W K with W = [[0, X], [Y, 0]]:  rows of W K: [X Kf ; Y Kl]
    IWK = np.empty((m, m))
    if rl:
        IWK[:rl] = X @ Kf if rf else 0.0
    if rf:
        IWK[rl:] = Y @ Kl if rl else 0.0
    IWK[np.diag_indices(m)] += 1.0
    # Σ = K (I + W K)^{-1}  ⇔  Σᵀ = (I + W K)^{-ᵀ} Kᵀ
    try:
        Sig = sla.solve(IWK.T, K.T, check_finite=False).T
    except (np.linalg.LinAlgError, ValueError):
        raise _CRFailure("singular", it, nl, nf) from None
    if not np.all(np.isfinite(Sig)):
        raise _CRFailure("singular", it, nl, nf)
    S_ll, S_lf = Sig[:rl, :rl], Sig[:rl, rl:]
    S_fl, S_ff = Sig[rl:, :rl], Sig[rl:, rl:]
    CS = C @ S_lf
    DS = D @ S_fl
    X = X - CS @ D
    Y = Y - DS @ C
    C = -(C @ S_ll) @ C
    D = -(D @ S_ff) @ D
    nl = sl * np.abs(C).sum(axis=0).max(initial=0.0)
    nf = sf * np.abs(D).sum(axis=0).max(initial=0.0)
    return C, D, X, Y, nl, nf


class _CRFailure(Exception):
    def __init__(self, kind, it, nl=np.nan, nf=np.nan):
        super().__init__(kind)
        self.kind, self.iterations, self.nl, self.nf = kind, it, nl, nf


# ---------------------------------------------------------------------------- result
@dataclass
class LargeSolution:
    """Solution ``y_t = ghx · y^s_{t-1} + ghu · u_t`` (deviations) from :func:`solve_large`.

    Attributes
    ----------
    n : number of variables (equations)
    states : int array — indices of the state variables (lag incidence), ascending; ``ghx`` columns
    ghx : ndarray (n, n_states) — state columns of the transition G (all other columns are zero)
    ghu : ndarray (n, n_u) — impact matrix H
    stats : dict — sizes of the blocks (``n_exogenous``, ``n_exo_states``, ``n_endogenous``,
        ``rank_lag``, ``rank_lead``, ``n_static``, ...), CR iterations, spectral radii,
        residuals, timings (seconds) of each step
    stable_eigenvalues : complex array — non-zero eigenvalues of G (those of P and of the
        r × r reduced solvent), i.e. the stable roots the solution selects
    """

    n: int
    states: np.ndarray
    ghx: np.ndarray
    ghu: np.ndarray
    stats: dict = field(default_factory=dict)
    _small: tuple = field(default=(np.zeros((0, 0)), np.zeros((0, 0))), repr=False)
    _eig: np.ndarray | None = field(default=None, repr=False)

    @property
    def stable_eigenvalues(self) -> np.ndarray:
        """Non-zero eigenvalues of G sorted by modulus: those of the reduced solvent and of P
        (computed on first access: a dense eigenvalue problem of size rank A_- + n_exo_states)."""
        if self._eig is None:
            Gs, Ps = self._small
            ev = np.concatenate([np.linalg.eigvals(Gs) if Gs.size else np.zeros(0, complex),
                                 np.diag(Ps).astype(complex) if _is_diag(Ps) else np.linalg.eigvals(Ps)])
            self._eig = ev[np.argsort(np.abs(ev), kind="stable")]
        return self._eig

    def transition(self) -> np.ndarray:
        """Dense n × n transition T (zero outside the state columns) — O(n²) memory."""
        T = np.zeros((self.n, self.n))
        T[:, self.states] = self.ghx
        return T

    def irf_array(self, impulses: np.ndarray, periods: int = 40) -> np.ndarray:
        """Impulse responses on the state space: ``(n_impulses, periods, n)``.

        ``impulses`` is (n_u, k): one impulse vector per column (e.g. columns of the
        lower Cholesky factor of the shock covariance). Period 1 is the impact
        ``y_1 = H e``; then ``y_h = ghx · y^s_{h-1}`` — only the n_states rows of
        the previous response are carried (Dynare's first-order IRF, ``irf.m``),
        O(periods · n · n_states) per shock as a matrix product over all shocks at once.
        """
        E = np.asarray(impulses, float)
        if E.ndim == 1:
            E = E[:, None]
        k = E.shape[1]
        out = np.empty((k, periods, self.n))
        if periods == 0:
            return out
        y1 = self.ghu @ E                                   # n × k, impact
        out[:, 0, :] = y1.T
        if periods > 1:
            # states only: x_h = G_ss x_{h-1} (G_ss sparse when the exogenous rows make it so),
            # then all later periods of all variables in one product ghx @ [x_1 .. x_{P-1}]
            Gss = _RowSplit(self.ghx[self.states])
            X = np.empty((periods - 1, len(self.states), k))
            x = y1[self.states]
            for h in range(periods - 1):
                X[h] = x
                if h < periods - 2:
                    x = Gss @ x
            Y = _RowSplit(self.ghx) @ X.transpose(1, 0, 2).reshape(len(self.states), -1)   # n × ((P-1)·k)
            out[:, 1:, :] = Y.reshape(self.n, periods - 1, k).transpose(2, 1, 0)
        return out


# ---------------------------------------------------------------------------- solver
def solve_large(A_lag, A_cur, A_lead, A_u, qz_criterium: float = 1 + 1e-6, lag_mask=None, lead_mask=None,
                tol: float = 1e-13, max_iter: int = 100, check: bool = True,
                qz_fallback: bool = True, blas_threads: int | None = None) -> LargeSolution:
    """Stable first-order solution of a large sparse model (module docstring).

    Parameters
    ----------
    A_lag, A_cur, A_lead : (n, n) dense arrays, SciPy sparse matrices or ``(rows, cols, values)``
        Jacobians w.r.t. y_{t-1}, y_t, y_{t+1} at the steady state (equations × variables).
    A_u : (n, n_u) likewise — Jacobian w.r.t. the shocks.
    qz_criterium : float
        An eigenvalue of modulus above it is explosive (Dynare: 1 + 1e-6).
    lag_mask, lead_mask : bool (n,), optional
        Structural lag / lead incidence (adds state / forward columns with zero coefficients).
    tol, max_iter : cyclic reduction stopping rule (relative to the matrices' norms).
    qz_fallback : bool
        When A_0 of the endogenous block is singular or cyclic reduction fails and
        ``n <= QZ_DIAGNOSTICS_MAX``, solve by dense ordered QZ instead (its named error
        carries the eigenvalue counts); ``stats["fallback"]`` says why.
    blas_threads : int, optional
        BLAS threads for the dense algebra (threadpoolctl). Default: all cores when the
        1-minute load average leaves a core free, else 1 — on this 2-core machine under a
        load of ~5, the cyclic reduction of the N = 600 economy took 1.7–4.1 s with one
        OpenBLAS thread and 2.9–9.9 s with two (threads spin-waiting for busy cores).
    check : bool
        Verify ‖A_+G²+A_0G+A_-‖ and ‖(A_+G+A_0)H+A_u‖ relative to the matrices' norms on
        four random probe vectors (:func:`residuals`; ``stats["residual_quadratic"]``,
        ``stats["residual_impact"]``); above 1e-8 → :class:`SingularPencilError`.

    Raises
    ------
    NoStableSolutionError, IndeterminacyError, SingularPencilError (A_0 or a Sylvester
    matrix singular, cyclic reduction stalled: the caller may fall back to QZ).
    """
    from threadpoolctl import threadpool_limits
    if blas_threads is None:
        blas_threads = _auto_threads()
    with threadpool_limits(limits=int(blas_threads), user_api="blas"):
        out = _solve_large(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask, tol, max_iter, check,
                           qz_fallback)
    out.stats["blas_threads"] = int(blas_threads)
    return out


def _auto_threads() -> int:
    """All cores if the 1-minute load average leaves one free, else 1 (see ``solve_large``)."""
    import os
    n = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - platforms without getloadavg
        return n
    return n if load + 1.0 <= n else 1


def _solve_large(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask, tol, max_iter, check,
                 qz_fallback) -> LargeSolution:
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if isinstance(A_cur, tuple):
        raise DSGEError("pass A_cur as an array or a SciPy sparse matrix (its shape is needed)")
    n = A_cur.shape[0]
    if A_cur.shape != (n, n):
        raise DSGEError(f"A_cur has shape {A_cur.shape}, expected a square (equations × variables) matrix")
    n_u = A_u.shape[1] if hasattr(A_u, "shape") and len(A_u.shape) == 2 else None
    Al, A0, Af = (_as_csr(M, n, n) for M in (A_lag, A_cur, A_lead))
    for nm, M in (("A_lag", Al), ("A_lead", Af)):
        if M.shape != (n, n):
            raise DSGEError(f"{nm} has shape {M.shape}, expected ({n}, {n})")
    Bu = _as_csr(A_u, n, n_u if n_u is not None else 0)
    if Bu.shape[0] != n:
        raise DSGEError(f"A_u has {Bu.shape[0]} rows, expected {n}")
    n_u = Bu.shape[1]
    for nm, M in (("A_lag", Al), ("A_cur", A0), ("A_lead", Af), ("A_u", Bu)):
        if not np.all(np.isfinite(M.data)):
            raise SingularPencilError(f"the Jacobian {nm} contains non-finite values (NaN/Inf)")
    has_lag = np.zeros(n, bool)
    has_lag[_nonzero_cols(Al)] = True
    has_lead = np.zeros(n, bool)
    has_lead[_nonzero_cols(Af)] = True
    if lag_mask is not None:
        has_lag |= np.asarray(lag_mask, bool)
    if lead_mask is not None:
        has_lead |= np.asarray(lead_mask, bool)
    states = np.flatnonzero(has_lag)
    n_fwd = int(has_lead.sum())
    timings["setup"] = time.perf_counter() - t

    # ---- 1. exogenous block z: z_t = P z_{t-1} + R_z u_t
    t = time.perf_counter()
    zr, zc = exogenous_blocks(Al, A0, Af)
    in_z = np.zeros(n, bool)
    in_z[zc] = True
    er = np.setdiff1d(np.arange(n), zr)
    ec = np.flatnonzero(~in_z)
    zs = zc[has_lag[zc]]                      # exogenous states
    es = ec[has_lag[ec]]                      # endogenous states
    Pz = np.zeros((len(zc), len(zs)))         # z_t (all z) on z_{t-1} (z states)
    Rz = np.zeros((len(zc), n_u))
    if len(zc):
        lu_z = _SparseLU(A0[zr][:, zc])
        if not lu_z.ok:
            raise SingularPencilError("the current-period Jacobian of the exogenous block is singular")
        rhs = sp.hstack([Al[zr][:, zs], Bu[zr]]).toarray()
        sol = -lu_z.solve(rhs)
        Pz, Rz = sol[:, :len(zs)], sol[:, len(zs):]
    zpos = np.full(n, -1)
    zpos[zc] = np.arange(len(zc))
    P_ss = Pz[zpos[zs]] if len(zs) else np.zeros((0, 0))      # z states on z states
    rho_P = float(np.max(np.abs(np.linalg.eigvals(P_ss)))) if len(zs) and not _is_diag(P_ss) else (
        float(np.max(np.abs(np.diag(P_ss)))) if len(zs) else 0.0)
    timings["exogenous"] = time.perf_counter() - t
    if rho_P > qz_criterium:
        raise NoStableSolutionError(
            f"Blanchard-Kahn conditions are not satisfied: no stable equilibrium. The exogenous block "
            f"({len(zc)} variables without leads that do not depend on the rest of the model) has an "
            f"explosive root (spectral radius {rho_P:.6g} > {qz_criterium}).", n_explosive=None, n_forward=n_fwd)

    # ---- 2. endogenous system e (rows er, columns ec), inputs from z
    t = time.perf_counter()
    Al_e, A0_e, Af_e = (M[er][:, ec].tocsr() for M in (Al, A0, Af))
    ne = len(ec)
    lu0 = _SparseLU(A0_e)
    if ne and not lu0.ok:
        if qz_fallback and n <= QZ_DIAGNOSTICS_MAX:
            return _qz_solution(Al, A0, Af, Bu, qz_criterium, has_lag, has_lead,
                                "A_0 of the endogenous block is singular")
        raise SingularPencilError(
            "the current-period Jacobian A_0 of the endogenous block is singular; cyclic reduction needs it "
            "invertible (use method='qz')", n_explosive=None, n_forward=n_fwd)
    U_l, lcols, V_l = rank_factor(Al_e)
    U_f, fcols, V_f = rank_factor(Af_e)
    rl, rf = U_l.shape[1], U_f.shape[1]
    U = np.hstack([U_l, U_f])
    A0inv_U = lu0.solve(U) if ne else np.zeros((0, rl + rf))
    Vt = sp.vstack([V_l.T, V_f.T]).tocsr()                   # m × ne
    K = Vt @ A0inv_U
    timings["factor"] = time.perf_counter() - t

    # ---- 3. low-rank cyclic reduction
    t = time.perf_counter()
    nrm = max(_norm1(Al_e), _norm1(A0_e), _norm1(Af_e), 1.0)
    sl = np.abs(U_l).sum(axis=0).max(initial=0.0) / nrm
    sf = np.abs(U_f).sum(axis=0).max(initial=0.0) / nrm
    try:
        cr = lowrank_cyclic_reduction(K, rl, tol, max_iter, (max(sl, 1e-300), max(sf, 1e-300)))
    except _CRFailure as exc:
        if qz_fallback and n <= QZ_DIAGNOSTICS_MAX:
            return _qz_solution(Al, A0, Af, Bu, qz_criterium, has_lag, has_lead,
                                f"cyclic reduction {exc.kind} after {exc.iterations} iterations")
        # A_-^{(k)} → 0 iff the n-th smallest root is inside the unit circle, A_+^{(k)} → 0 iff the
        # (n+1)-th is outside (Bini, Iannazzo & Meini 2012, Thm 5.6): the sequence that fails tells which
        small = 1e-6
        if exc.kind != "singular" and exc.nl <= small < exc.nf:
            raise IndeterminacyError(
                f"Blanchard-Kahn conditions are not satisfied: indeterminacy. Cyclic reduction: A_+^(k) does not "
                f"vanish ({exc.kind} after {exc.iterations} iterations) while A_-^(k) does, so more roots lie "
                f"inside the unit circle than there are predetermined directions; {n_fwd} forward-looking "
                f"variable(s).", n_explosive=None, n_forward=n_fwd) from None
        if exc.kind != "singular" and exc.nf <= small < exc.nl:
            raise NoStableSolutionError(
                f"Blanchard-Kahn conditions are not satisfied: no stable equilibrium. Cyclic reduction: A_-^(k) "
                f"does not vanish ({exc.kind} after {exc.iterations} iterations) while A_+^(k) does, so too few "
                f"roots lie inside the unit circle; {n_fwd} forward-looking variable(s).",
                n_explosive=None, n_forward=n_fwd) from None
        raise SingularPencilError(
            f"cyclic reduction failed ({exc.kind} after {exc.iterations} iterations): a root on or near the "
            "unit circle, or a singular pencil; use method='qz' for the eigenvalues",
            n_explosive=None, n_forward=n_fwd) from None
    timings["cyclic_reduction"] = time.perf_counter() - t

    # ---- 4. G_e from hat A = A0 + U_f Y V_lᵀ (Woodbury), Blanchard-Kahn from the r × r solvents
    t = time.perf_counter()
    Kll, Klf, Kfl, Kff = K[:rl, :rl], K[:rl, rl:], K[rl:, :rl], K[rl:, rl:]
    A0inv_Ul, A0inv_Uf = A0inv_U[:, :rl], A0inv_U[:, rl:]
    # hat A^{-1} U_l = A0^{-1}U_l - A0^{-1}U_f (I + Y V_lᵀ A0^{-1} U_f)^{-1} Y V_lᵀ A0^{-1} U_l
    if rl:
        if rf:
            Mh = np.eye(rf) + cr.Y @ Klf
            Zh = _solve_dense(Mh, cr.Y @ Kll, "hat A")
            hatinv_Ul = A0inv_Ul - A0inv_Uf @ Zh
        else:
            hatinv_Ul = A0inv_Ul
        Gsmall = -(Kll - Klf @ Zh) if rf else -Kll    # = -V_lᵀ hat A⁻¹ U_l (r_l × r_l): non-zero spectrum of G_e
    else:
        hatinv_Ul = np.zeros((ne, 0))
        Gsmall = np.zeros((0, 0))
    rho_G = spectral_radius(Gsmall)
    if rf:
        # V_fᵀ tilde A⁻¹ U_f = K_ff - K_fl (I + X K_fl)⁻¹ X K_ff  (Woodbury in the m-space)
        if rl:
            Mt = np.eye(rl) + cr.X @ Kfl
            Zt = _solve_dense(Mt, cr.X @ Kff, "tilde A")
            Ysmall = -(Kff - Kfl @ Zt)
        else:
            Ysmall = -Kff                              # r_f × r_f: non-zero spectrum of the dual solvent
    else:
        Ysmall = np.zeros((0, 0))
    rho_Y = spectral_radius(Ysmall)
    timings["bk_check"] = time.perf_counter() - t
    if rho_G > qz_criterium:
        eig_G = np.linalg.eigvals(Gsmall)
        n_unstable_G = int(np.sum(np.abs(eig_G) > qz_criterium))
        raise NoStableSolutionError(
            f"Blanchard-Kahn conditions are not satisfied: no stable equilibrium. The cyclic-reduction solvent "
            f"has {n_unstable_G} root(s) outside the unit circle (spectral radius {rho_G:.6g}); there are "
            f"{n_fwd} forward-looking variable(s).", n_explosive=None, n_forward=n_fwd,
            eigenvalues=np.sort_complex(eig_G))
    if rho_Y * qz_criterium >= 1.0:
        eig_Y = np.linalg.eigvals(Ysmall)
        eig_G = np.linalg.eigvals(Gsmall)
        n_extra = int(np.sum(np.abs(eig_Y) * qz_criterium >= 1.0))
        raise IndeterminacyError(
            f"Blanchard-Kahn conditions are not satisfied: indeterminacy. The dual solvent has {n_extra} "
            f"root(s) of modulus >= 1/qz_criterium (spectral radius {rho_Y:.6g}): more stable roots than "
            f"predetermined directions; there are {n_fwd} forward-looking variable(s).",
            n_explosive=None, n_forward=n_fwd, eigenvalues=np.sort_complex(eig_G))

    # G_e restricted to endogenous state columns: G[:, es] = -hat A^{-1} U_l V_lᵀ[:, es]
    t = time.perf_counter()
    epos = np.full(n, -1)
    epos[ec] = np.arange(ne)
    es_loc = epos[es]                                   # ⊇ lcols (mask may add zero columns)
    Vl_es = V_l[es_loc].tocsc() if rl else sp.csc_matrix((len(es), 0))  # n_es × r_l, sparse
    Ge = -np.asarray((Vl_es @ hatinv_Ul.T).T) if rl else np.zeros((ne, len(es)))   # ne × n_es
    timings["G"] = time.perf_counter() - t

    # ---- 5. loadings on z:  M D + A+_ee D P = -(C P + A-_ez),  M = A0_ee + A+_ee G_e
    t = time.perf_counter()
    D = np.zeros((ne, len(zs)))
    He = np.zeros((ne, n_u))
    # M = A0_e + U_f Z E_esᵀ with Z = V_fᵀ G_e[:, es]
    Zf = (V_f.T @ Ge) if rf else np.zeros((0, len(es)))                 # r_f × n_es
    lag_ez = Al[er][:, zs].toarray() if len(zs) else np.zeros((ne, 0))
    # C = A0_ez + A+_ez P_full where P_full (z × z) has columns only at zs
    if len(zc):
        Cmat = (A0[er][:, zc] + Af[er][:, zc] @ _pfull(Pz, zs, zpos, len(zc))).tocsr()
        # P_full[:, zs] = Pz (z × zs)
        if len(zs):
            rhs_D = -(Cmat @ Pz + lag_ez)                                # ne × n_zs
            D = _sylvester_columns(A0_e, Af_e, lu0, U_f, Zf, es_loc, P_ss, rhs_D, timings)
        # H_e = -M^{-1} [ (A+_ee D + C) R_z + B_e ]
        rhsH = Cmat @ Rz + Bu[er].toarray()
        if len(zs):
            # A+_ee D R_z[zs]: (A+ D) has few non-zero rows; R_z[zs] is sparse for AR(1) shocks
            fr = _nonzero_rows(Af_e)
            rhsH[fr] += _dense_times(Af_e[fr] @ D, Rz[zpos[zs]])
        He = -_solve_M(lu0, A0inv_Uf, U_f, Zf, es_loc, rhsH)
    else:
        He = -_solve_M(lu0, A0inv_Uf, U_f, Zf, es_loc, Bu[er].toarray())
    timings["loadings"] = time.perf_counter() - t

    # ---- 6. assemble ghx (n × n_states) and ghu
    t = time.perf_counter()
    spos = np.full(n, -1)
    spos[states] = np.arange(len(states))
    ghx = np.zeros((n, len(states)))
    ghu = np.zeros((n, n_u))
    if len(zc):
        ghx[np.ix_(zc, spos[zs])] = Pz
        ghu[zc] = Rz
    if ne:
        ghx[np.ix_(ec, spos[es])] = Ge
        if len(zs):
            ghx[np.ix_(ec, spos[zs])] = D
        ghu[ec] = He
    timings["assemble"] = time.perf_counter() - t

    stats = {"n": n, "n_shocks": n_u, "n_states": len(states), "n_forward": n_fwd,
             "n_exogenous": len(zc), "n_exo_states": len(zs), "n_endogenous": ne, "n_endo_states": len(es),
             "rank_lag": rl, "rank_lead": rf, "cr_dimension": rl + rf, "cr_iterations": cr.iterations,
             "spectral_radius": max(rho_G, rho_P), "dual_spectral_radius": rho_Y,
             "nnz_A0": int(A0.nnz), "nnz_lu_A0": int(lu0.lu.L.nnz + lu0.lu.U.nnz) if lu0.lu is not None else 0}
    out = LargeSolution(n=n, states=states, ghx=ghx, ghu=ghu, stats=stats, _small=(Gsmall, P_ss))
    if check:
        t = time.perf_counter()
        rq, ri = residuals(out, Al, A0, Af, Bu, probes=4)
        stats["residual_quadratic"], stats["residual_impact"] = rq, ri
        timings["check"] = time.perf_counter() - t
        if not (rq <= 1e-8 and ri <= 1e-8):
            raise SingularPencilError(
                f"the large-model solution does not satisfy the model equations (relative residuals "
                f"{rq:.3g} for A+G²+A0G+A-, {ri:.3g} for the impact); ill-conditioned — use method='qz'",
                n_explosive=None, n_forward=n_fwd)
    timings["total"] = time.perf_counter() - t_all
    stats["timings"] = timings
    return out


def _qz_solution(Al, A0, Af, Bu, qz_criterium, has_lag, has_lead, reason) -> LargeSolution:
    """Dense ordered-QZ solution (:func:`dsge_agents.linear.qz.solve_matrices`) as a LargeSolution."""
    from dsge_agents.linear.qz import solve_matrices
    T, R, info = solve_matrices(Al.toarray(), A0.toarray(), Af.toarray(), Bu.toarray(), qz_criterium,
                                has_lag, has_lead)
    states = np.flatnonzero(has_lag)
    stats = {"n": T.shape[0], "n_shocks": R.shape[1], "n_states": len(states), "n_forward": int(has_lead.sum()),
             "fallback": f"qz ({reason})", "timings": {}}
    ev = info.eigenvalues[np.abs(info.eigenvalues) <= qz_criterium]
    out = LargeSolution(n=T.shape[0], states=states, ghx=T[:, states], ghu=R, stats=stats)
    out._eig = ev[np.abs(ev) > 0]
    return out


def residuals(sol: LargeSolution, Al, A0, Af, Bu, probes: int | None = None, seed: int = 0) -> tuple[float, float]:
    """Relative residuals of ``A_+G²+A_0G+A_-`` and ``(A_+G+A_0)H+A_u``.

    ``probes=None``: the exact max-column-sum norms, computed on the state columns with
    A_+ restricted to its non-zero rows (no n × n product). ``probes=k``: the norms of the
    residuals applied to k random Gaussian vectors (a Freivalds-type check, O(k·(nnz + n·n_states))),
    divided by the norms of the probes. Both are divided by ``scale · max(1, ‖G‖)²``
    (resp. ``scale · max(1, ‖G‖) · max(1, ‖H‖)``), ``scale`` = the largest 1-norm of the matrices.
    """
    st = sol.states
    Gx, H = sol.ghx, sol.ghu
    Al, A0, Af, Bu = (_as_csr(M) for M in (Al, A0, Af, Bu))
    scale = max(_norm1(Al), _norm1(A0), _norm1(Af), 1.0)
    sG = max(1.0, np.abs(Gx).sum(axis=0).max(initial=0.0))
    sH = max(1.0, np.abs(H).sum(axis=0).max(initial=0.0))
    if probes is None:
        fr = _nonzero_rows(Af)
        AfG = Af[fr] @ Gx                                         # |fr| × ns
        res = A0 @ Gx + Al[:, st].toarray()
        res[fr] += AfG @ Gx[st]
        resH = A0 @ H + Bu.toarray()
        resH[fr] += AfG @ H[st]
        rq = np.abs(res).sum(axis=0).max(initial=0.0)
        ri = np.abs(resH).sum(axis=0).max(initial=0.0)
    else:
        rng = np.random.default_rng(seed)
        v = rng.standard_normal((len(st), probes))
        w1 = Gx @ v
        w2 = Gx @ w1[st]
        res = Af @ w2 + A0 @ w1 + Al[:, st] @ v
        rq = (np.abs(res).sum(axis=0) / np.abs(v).sum(axis=0)).max(initial=0.0) if len(st) else 0.0
        q = rng.standard_normal((H.shape[1], probes))
        h = H @ q
        resH = Af @ (Gx @ h[st]) + A0 @ h + Bu @ q
        ri = (np.abs(resH).sum(axis=0) / np.abs(q).sum(axis=0)).max(initial=0.0) if H.shape[1] else 0.0
    return float(rq / (scale * sG * sG)), float(ri / (scale * sG * sH))


# ---------------------------------------------------------------------------- small helpers
def _norm1(M) -> float:
    if sp.issparse(M):
        return float(abs(M).sum(axis=0).max()) if M.nnz else 0.0
    return float(np.abs(M).sum(axis=0).max(initial=0.0))


def spectral_radius(M: np.ndarray) -> float:
    """Largest |eigenvalue| of a dense square matrix.

    Up to 150 × 150 by the full QR algorithm (LAPACK ``geev``); larger by
    implicitly restarted Arnoldi for the few eigenvalues of largest modulus
    (ARPACK, Lehoucq, Sorensen & Yang 1998), falling back to ``geev`` when
    Arnoldi does not converge.
    """
    m = M.shape[0]
    if m == 0:
        return 0.0
    if m <= 150:
        return float(np.max(np.abs(np.linalg.eigvals(M))))
    try:
        ev = spla.eigs(M, k=6, which="LM", tol=1e-10, ncv=min(m - 1, 60), maxiter=20 * m,
                       return_eigenvectors=False, v0=np.ones(m))
        return float(np.max(np.abs(ev)))
    except (spla.ArpackNoConvergence, spla.ArpackError, ValueError):
        return float(np.max(np.abs(np.linalg.eigvals(M))))


class _RowSplit:
    """``M @ X`` with M's dense rows (> 10 % non-zero) as a dense block (BLAS) and the others in CSR.

    The transition of a model with an exogenous block has dense endogenous rows and very
    sparse exogenous rows (an AR(1) state loads on itself only).
    """

    def __init__(self, M: np.ndarray):
        nnz_row = np.count_nonzero(M, axis=1)
        self.shape = M.shape
        dense = nnz_row > 0.1 * M.shape[1]
        self.rd = np.flatnonzero(dense)
        self.rs = np.flatnonzero(~dense & (nnz_row > 0))
        self.D = np.ascontiguousarray(M[self.rd])
        self.S = sp.csr_matrix(M[self.rs])

    def __matmul__(self, X):
        out = np.zeros((self.shape[0],) + X.shape[1:])
        if len(self.rd):
            out[self.rd] = self.D @ X
        if len(self.rs):
            out[self.rs] = self.S @ X
        return out


def _dense_times(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` using the sparsity of B when it is mostly zero (e.g. AR(1) impact loadings)."""
    nnz = np.count_nonzero(B)
    if nnz < 0.05 * B.size:
        Bs = sp.csc_matrix(B)
        return np.asarray((Bs.T @ A.T).T)
    return A @ B


def _is_diag(M: np.ndarray) -> bool:
    return M.size == 0 or not np.any(M - np.diag(np.diag(M)))


def _solve_dense(M, B, what):
    try:
        X = sla.solve(M, B, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        raise SingularPencilError(f"the Woodbury capacitance matrix of {what} is singular") from None
    if not np.all(np.isfinite(X)):
        raise SingularPencilError(f"the Woodbury capacitance matrix of {what} is singular")
    return X


def _embed_cols(zs, zc, zpos):
    """Selector (n_zs × n_z) that scatters z-state columns into all z columns."""
    return sp.csr_matrix((np.ones(len(zs)), (np.arange(len(zs)), zpos[zs])), shape=(len(zs), len(zc)))


def _pfull(Pz, zs, zpos, nz):
    """P_full (z × z): z_t on z_{t-1}, columns only at the z states."""
    return sp.csr_matrix(Pz) @ _embed_cols(zs, np.arange(nz), zpos)


def _solve_M(lu0, A0inv_Uf, U_f, Zf, es_loc, B):
    """``M⁻¹ B`` with ``M = A_0 + U_f Z E_esᵀ`` (Sherman–Morrison–Woodbury on the sparse LU of A_0)."""
    X0 = lu0.solve(B)
    rf = U_f.shape[1]
    if rf == 0 or Zf.shape[1] == 0:
        return X0
    # M^{-1} B = X0 - A0^{-1}U_f (I + Z E_esᵀ A0^{-1} U_f)^{-1} Z E_esᵀ X0
    cap = np.eye(rf) + Zf @ A0inv_Uf[es_loc]
    W = _solve_dense(cap, Zf @ X0[es_loc], "A_0 + A_+ G")
    return X0 - A0inv_Uf @ W


def _sylvester_columns(A0_e, Af_e, lu0, U_f, Zf, es_loc, P_ss, rhs, timings):
    """Solve ``(A_0 + A_+ G) D + A_+ D P = rhs`` for D (module docstring, item 1).

    Diagonal P: columns grouped by equal p_j, one sparse LU of ``A_0 + p A_+`` per
    group plus a Woodbury correction for the rank-r_f term ``A_+ G = U_f Z E_esᵀ``.
    General P: complex Schur ``P = Q T Q*`` (Bartels–Stewart), then column j of
    ``D Q`` solves ``(M + t_jj A_+) x_j = (rhs Q)_j − A_+ Σ_{i<j} x_i t_ij``.
    """
    nz = P_ss.shape[0]
    ne = A0_e.shape[0]
    if _is_diag(P_ss):
        p = np.diag(P_ss)
        D = np.zeros((ne, nz))
        vals, inv = np.unique(p, return_inverse=True)
        timings["sylvester_groups"] = len(vals)
        for g, pv in enumerate(vals):
            cols = np.flatnonzero(inv == g)
            D[:, cols] = _solve_shifted(A0_e, Af_e, lu0, U_f, Zf, es_loc, pv, rhs[:, cols]).real
        return D
    Tm, Q = sla.schur(P_ss.astype(complex), output="complex")
    rq = rhs @ Q
    Xc = np.zeros((ne, nz), complex)
    timings["sylvester_groups"] = nz
    cache: dict = {}
    for j in range(nz):
        b = rq[:, j].copy()
        if j:
            b -= Af_e @ (Xc[:, :j] @ Tm[:j, j])
        key = complex(np.round(Tm[j, j], 14))
        Xc[:, j] = _solve_shifted(A0_e, Af_e, lu0, U_f, Zf, es_loc, Tm[j, j], b[:, None], cache, key)[:, 0]
    D = Xc @ Q.conj().T
    return D.real


def _solve_shifted(A0_e, Af_e, lu0, U_f, Zf, es_loc, p, B, cache=None, key=None):
    """``(A_0 + p A_+ + U_f Z E_esᵀ)⁻¹ B`` — sparse LU of ``A_0 + p A_+`` and Woodbury."""
    if cache is not None and key in cache:
        lu, LinvU = cache[key]
    else:
        if p == 0:
            lu = lu0
        else:
            if np.imag(p) == 0:                   # real root (also a real Schur diagonal entry)
                Mp = A0_e + float(np.real(p)) * Af_e
            else:
                Mp = A0_e.astype(complex) + complex(p) * Af_e
            lu = _SparseLU(Mp)
            if not lu.ok:
                raise SingularPencilError(
                    f"A_0 + A_+ G + {p} A_+ is singular: the exogenous root {p} resonates with the model")
        LinvU = lu.solve(U_f) if U_f.shape[1] else None
        if cache is not None:
            cache[key] = (lu, LinvU)
    X0 = lu.solve(B)
    if LinvU is None or Zf.shape[1] == 0:
        return X0
    cap = np.eye(U_f.shape[1]) + Zf @ LinvU[es_loc]
    W = _solve_dense(cap, Zf @ X0[es_loc], "A_0 + A_+ G + p A_+")
    return X0 - LinvU @ W


# ---------------------------------------------------------------------------- model-level glue
#: Above this many variables a large-path Solution carries the CR-derived diagnostics
#: (:func:`solve_info`) instead of computing the QZ eigenvalues on demand.
QZ_DIAGNOSTICS_MAX = 2000


def large_matrices(model, cm, ss, theta):
    """Sparse ``(A_lag, A_cur, A_lead, A_u)`` (CSR) and the structural ``(lag_mask, lead_mask)`` of a model.

    Uses ``cm.jacobian_coo`` (docs/ARCHITECTURE.md, model layer) when the compiled model
    has it, else the dense ``cm.jacobian``; the incidence from ``model.lead_lag_incidence``
    when present, else :func:`dsge_agents.linear.solution.incidence`.
    """
    if hasattr(cm, "jacobian_coo"):
        J = cm.jacobian_coo(ss, theta)
        n_eq = int(getattr(cm, "n_eq", len(model.equations)))
        n_var = int(getattr(cm, "n_var", len(model.variables)))
        n_u = int(getattr(cm, "n_u", len(model.shocks)))
        mats = []
        for key, ncol in (("lag", n_var), ("cur", n_var), ("lead", n_var), ("u", n_u)):
            r, c, v = J[key]
            M = sp.csr_matrix((np.asarray(v, float), (np.asarray(r), np.asarray(c))), shape=(n_eq, ncol))
            M.eliminate_zeros()
            mats.append(M)
        matrices = tuple(mats)
    else:
        matrices = tuple(_as_csr(a) for a in cm.jacobian(ss, theta))
    inc = getattr(model, "lead_lag_incidence", None)
    if inc is not None and not callable(inc):
        lag_mask, lead_mask = (np.asarray(x, bool) for x in inc)
    else:
        from dsge_agents.linear.solution import incidence
        lag_mask, lead_mask = incidence(model)
    return matrices, lag_mask, lead_mask


def solve_info(res: LargeSolution, qz_criterium: float = 1 + 1e-6):
    """:class:`dsge_agents.linear.qz.SolveInfo` from a large-path solution, or None for moderate n.

    For ``n <= QZ_DIAGNOSTICS_MAX`` returns None (the Solution then computes the exact
    generalized eigenvalues by QZ when asked). Above, QZ is not affordable: the info
    lists only the *stable* roots the solution selected (the non-zero eigenvalues of G,
    sorted by modulus) and sets ``n_explosive = n_forward`` — cyclic reduction verified
    determinacy through the spectral radii of the solvent and of the dual solvent.
    """
    if res.n <= QZ_DIAGNOSTICS_MAX:
        return None
    return _LargeInfo(res, eigenvalues=None, n_explosive=int(res.stats["n_forward"]),
                      n_forward=int(res.stats["n_forward"]), n_states=int(res.stats["n_states"]),
                      state_indices=np.asarray(res.states, np.int64), qz_criterium=qz_criterium)


class LargeSolveInfo(SolveInfo):
    """SolveInfo of a large-path solution: ``eigenvalues`` (the stable roots only) computed on first access."""

    def __init__(self, res, **kw):
        self._res = res
        super().__init__(**kw)

    @property
    def eigenvalues(self):
        if getattr(self, "_ev", None) is None:
            self._ev = self._res.stable_eigenvalues
        return self._ev

    @eigenvalues.setter
    def eigenvalues(self, value):
        self._ev = value


def _LargeInfo(res, **kw):
    return LargeSolveInfo(res, **kw)



def irf_array(sol, periods: int = 40, shocks=None) -> tuple[list[str], np.ndarray]:
    """``Solution.irf_array`` on the state space of a large-path solution (same output).

    One-standard-deviation impulses (columns of the lower Cholesky factor of the
    shock covariance, Dynare's convention), period 1 = impact, declared variables;
    shocks with zero variance are skipped. Uses ``sol._large``
    (:meth:`LargeSolution.irf_array`: O(periods · n · n_states) per shock, all
    shocks in one matrix product) instead of the dense n × n transition; falls back
    to ``sol.irf_array`` for solutions of other methods.
    """
    from threadpoolctl import threadpool_limits
    from dsge_agents.linear.solution import lower_cholesky
    res = getattr(sol, "_large", None)
    if res is None:
        return sol.irf_array(periods, shocks)
    if periods < 1:
        raise DSGEError("periods must be at least 1")
    idx = sol._shock_index(shocks)
    idx = [j for j in idx if sol.shock_cov[j, j] > 1e-13]
    if not idx:
        return [], np.zeros((0, periods, len(sol.declared)))
    Q = np.asarray(sol.shock_cov, float)
    if not np.any(Q - np.diag(np.diag(Q))):          # uncorrelated shocks: L = diag(σ), no factorization
        imp = np.zeros((Q.shape[0], len(idx)))
        imp[idx, np.arange(len(idx))] = np.sqrt(np.diag(Q)[idx])
    else:
        imp = lower_cholesky(Q)[:, idx]
    with threadpool_limits(limits=_auto_threads(), user_api="blas"):
        arr = res.irf_array(imp, periods)[:, :, sol._rows]
    return [sol.shocks[j] for j in idx], arr


def irf(sol, periods: int = 40, shocks=None):
    """Tidy IRF frame (columns ``shock, variable, period, value``); the same as ``sol.irf``, whose
    :meth:`~dsge_agents.linear.solution.Solution.irf_array` runs :func:`irf_array` for large-path solutions."""
    return sol.irf(periods, shocks)
