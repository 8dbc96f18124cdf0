"""Determinacy and stability maps over policy-rule coefficients.

For each point of a grid of rule coefficients the model is linearized at its
steady state, ``A_lag y_{t-1} + A_cur y_t + A_lead E_t y_{t+1} + A_u u_t = 0``,
and classified by the Blanchard–Kahn (1980) counting rule on the generalized
eigenvalues of the first-order pencil (as Dynare does, DYNARE_NOTES "Solution";
DESIGN §4):

* ``determinate``  — exactly as many explosive eigenvalues as forward-looking
  variables: a unique stable solution;
* ``indeterminate`` — fewer explosive eigenvalues (a continuum of stable solutions);
* ``unstable``     — more explosive eigenvalues (no stable solution).

Points whose steady state or pencil fails (singular pencil, steady state not
found) get status ``error`` with the message in the ``error`` column.

The pencil. With P(λ) = A_lag + λ A_cur + λ² A_lead the stable roots of
det P(λ) = 0 are those of the linear pencil in x = (v, w), w = λ v_f
(f = variables with a lead, n_f of them)::

    [A_lag 0 ] x = λ [-A_cur  -A_lead[:, f]] x
    [0    I_f]       [ S_f     0           ]

(size n + n_f: a companion linearization of the quadratic matrix polynomial,
cf. Tisseur & Meerbergen 2001, SIAM Review 43, §3.4, reduced to the columns
that carry a lead). Zero columns of A_lag give zero (stable) roots, zero columns
of A_lead infinite ones, exactly as the static / purely forward variables do in
Dynare's reduced QZ (Villemot 2011, "Solving rational expectations models at
first order: what Dynare does"). The solution is unique iff exactly n of the
n + n_f eigenvalues are stable, |λ| < qz_criterium = 1 + 1e-6.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.linalg as sla

from ..errors import PolicyError, SingularPencilError
from .rules import apply_changes, check_fast_parameters, check_parameters
from .sweep import make_grid, sweep

__all__ = ["BKResult", "bk_classify", "classify", "determinacy_map", "DeterminacyMap", "STATUSES"]

STATUSES = ("determinate", "indeterminate", "unstable")
QZ_CRITERIUM = 1.0 + 1e-6


@dataclass(frozen=True)
class BKResult:
    """Blanchard–Kahn counts of one linearized model."""

    status: str            # determinate | indeterminate | unstable
    n_explosive: int       # eigenvalues with |λ| > qz_criterium (incl. infinite)
    n_forward: int         # forward-looking variables (columns of A_lead that are nonzero)
    n_stable: int
    n_var: int
    eigenvalues: np.ndarray = field(repr=False, default=None)


def _eliminate_static(A_lag, A_cur, A_lead, atol):
    """Remove static variables (only dated t) by a QR of their columns of A_cur.

    With A_cur[:, S] = Q [R1; 0] (R1 square, full rank), the rows of Qᵀ·(system)
    below the first |S| involve the dynamic variables only; the top rows then
    give the static variables from the dynamic ones (Villemot 2011, §3). The
    generalized eigenvalues of the dynamic block are those of the full pencil
    minus one zero (stable) eigenvalue per static variable, so the BK rule
    "stable count = number of variables" carries over.
    """
    n = A_cur.shape[1]
    static = (np.abs(A_lag).max(axis=0, initial=0) <= atol) & (np.abs(A_lead).max(axis=0, initial=0) <= atol)
    ns = int(static.sum())
    if ns == 0 or ns == n:
        return A_lag, A_cur, A_lead
    S = np.flatnonzero(static)
    D = np.flatnonzero(~static)
    Qm, Rm = np.linalg.qr(A_cur[:, S], mode="complete")
    d = np.abs(np.diag(Rm[:ns, :ns]))
    if d.min(initial=np.inf) <= 1e-10 * max(d.max(initial=0), 1e-300):
        raise SingularPencilError("singular pencil: the static variables are not determined "
                                  "(rank-deficient columns)")
    rows = Qm[:, ns:].T
    return rows @ A_lag[:, D], rows @ A_cur[:, D], rows @ A_lead[:, D]


def bk_classify(A_lag: np.ndarray, A_cur: np.ndarray, A_lead: np.ndarray,
                qz_criterium: float = QZ_CRITERIUM, tol: float = 1e-12,
                return_eigenvalues: bool = False, reduce_static: bool = True) -> BKResult:
    """Classify ``A_lag y_{t-1} + A_cur y_t + A_lead E y_{t+1} = 0`` by the BK counts.

    Implements the counting rule of Blanchard & Kahn (1980, Econometrica 48(5))
    on the companion pencil described in the module docstring, using LAPACK's
    generalized eigenvalue routine (QZ, ``ggev``) in homogeneous form (α, β) so
    that infinite eigenvalues (β = 0) are counted as explosive without overflow.

    Raises
    ------
    SingularPencilError
        If some α and β vanish together (det P(λ) ≡ 0: the model does not pin
        down its variables at any λ).
    """
    A_lag = np.asarray(A_lag, float)
    A_cur = np.asarray(A_cur, float)
    A_lead = np.asarray(A_lead, float)
    scale = max(np.abs(A_lag).max(initial=0), np.abs(A_cur).max(initial=0),
                np.abs(A_lead).max(initial=0), 1e-300)
    if reduce_static:
        A_lag, A_cur, A_lead = _eliminate_static(A_lag, A_cur, A_lead, tol * scale)
    n = A_cur.shape[1]
    fwd = np.flatnonzero(np.abs(A_lead).max(axis=0, initial=0) > tol * scale)
    nf = fwd.size
    N = n + nf
    E = np.zeros((N, N))
    G = np.zeros((N, N))
    E[:n, :n] = A_lag
    E[n:, n:] = np.eye(nf)
    G[:n, :n] = -A_cur
    G[:n, n:] = -A_lead[:, fwd]
    G[n + np.arange(nf), fwd] = 1.0
    # balance rows of the first block: a row scale leaves the eigenvalues unchanged
    rs = np.maximum(np.abs(E[:n]).max(axis=1), np.abs(G[:n]).max(axis=1))
    rs[rs == 0] = 1.0
    E[:n] /= rs[:, None]
    G[:n] /= rs[:, None]
    ab = sla.eigvals(E, G, homogeneous_eigvals=True, check_finite=False, overwrite_a=True)
    alpha, beta = np.abs(ab[0]), np.abs(ab[1])
    if np.any((alpha < 1e-11) & (beta < 1e-11)):
        raise SingularPencilError("singular pencil: some generalized eigenvalues are 0/0 "
                                  "(the model does not determine all variables)",
                                  n_forward=nf)
    explosive = alpha > qz_criterium * beta
    n_exp = int(explosive.sum())
    n_stable = N - n_exp  # of the (possibly reduced) pencil
    if n_exp == nf:
        status = "determinate"
    elif n_exp < nf:
        status = "indeterminate"
    else:
        status = "unstable"
    eig = None
    if return_eigenvalues:
        with np.errstate(divide="ignore", invalid="ignore"):
            eig = np.where(np.abs(ab[1]) > 0, ab[0] / np.where(ab[1] == 0, 1, ab[1]), np.inf)
    return BKResult(status, n_exp, nf, n_stable, n, eig)


# ---------------------------------------------------------------------------
# one model point
# ---------------------------------------------------------------------------
def _pencil(model, params: Mapping[str, float] | None = None):
    """Jacobian blocks of ``model`` at its steady state for ``params`` (model layer contract)."""
    comp = model.compiled
    p = dict(model.parameters)
    if params:
        p.update({k: float(v) for k, v in params.items()})
    theta = comp.theta(p)
    ss = comp.steady_state_at(theta)
    A_lag, A_cur, A_lead, _ = comp.jacobian(ss, theta)
    return A_lag, A_cur, A_lead


def classify(model, params: Mapping[str, float] | None = None,
             qz_criterium: float = QZ_CRITERIUM) -> BKResult:
    """BK classification of ``model`` (with ``params`` overriding its calibration)."""
    if params:
        check_parameters(model, list(params))
    return bk_classify(*_pencil(model, params), qz_criterium=qz_criterium)


_WORKER_MODELS: dict[str, Any] = {}


class _DeterminacyPoint:
    """Picklable per-point classifier; keeps one compiled model per worker process."""

    def __init__(self, model, qz_criterium: float = QZ_CRITERIUM, reduce_static: bool = True):
        self.model = model
        self.token = uuid.uuid4().hex
        self.qz_criterium = qz_criterium
        self.reduce_static = reduce_static
        # forked worker processes inherit this entry, compiled functions included
        model.compiled  # noqa: B018 - compile (or load from the disk cache) once, here
        _WORKER_MODELS.clear()
        _WORKER_MODELS[self.token] = model

    def __getstate__(self):
        return {"model": self.model, "token": self.token, "qz_criterium": self.qz_criterium,
                "reduce_static": self.reduce_static}

    def __setstate__(self, state):
        self.token = state["token"]
        self.qz_criterium = state["qz_criterium"]
        self.reduce_static = state.get("reduce_static", True)
        cached = _WORKER_MODELS.get(self.token)
        if cached is None:
            cached = state["model"]
            _WORKER_MODELS.clear()
            _WORKER_MODELS[self.token] = cached
        self.model = cached

    def __call__(self, point: Mapping[str, float]) -> dict:
        r = bk_classify(*_pencil(self.model, point), qz_criterium=self.qz_criterium,
                        reduce_static=self.reduce_static)
        return {"status": r.status, "n_explosive": r.n_explosive, "n_forward": r.n_forward}


# ---------------------------------------------------------------------------
# the map
# ---------------------------------------------------------------------------
@dataclass
class DeterminacyMap:
    """Result of :func:`determinacy_map`: one row per grid point.

    ``frame`` columns: the grid parameters, ``status``
    (determinate|indeterminate|unstable|error), ``n_explosive``, ``n_forward``,
    ``error``.
    """

    frame: pd.DataFrame
    parameters: list[str]
    model_name: str = ""
    form: str | None = None

    def table(self) -> pd.DataFrame:
        """Grid columns and ``status`` (the CLI's CSV layout)."""
        return self.frame[self.parameters + ["status"]].copy()

    def counts(self) -> pd.Series:
        return self.frame["status"].value_counts()

    def status_grid(self) -> pd.DataFrame:
        """For a 2-D map: statuses pivoted (rows = first parameter, columns = second)."""
        if len(self.parameters) != 2:
            raise PolicyError("status_grid needs a two-parameter map")
        a, b = self.parameters
        return self.frame.pivot(index=a, columns=b, values="status")

    def boundaries(self) -> pd.DataFrame:
        """For a 1-D map: the intervals between consecutive grid points where the status changes."""
        if len(self.parameters) != 1:
            raise PolicyError("boundaries needs a one-parameter map")
        p = self.parameters[0]
        f = self.frame.sort_values(p)
        rows = []
        s, v = f["status"].to_numpy(), f[p].to_numpy()
        for k in range(1, len(f)):
            if s[k] != s[k - 1]:
                rows.append({"lower": v[k - 1], "upper": v[k], "from": s[k - 1], "to": s[k]})
        return pd.DataFrame(rows, columns=["lower", "upper", "from", "to"])

    def summary(self) -> str:
        c = self.counts().to_dict()
        head = f"determinacy map of {self.model_name or 'model'} over {', '.join(self.parameters)}"
        if self.form:
            head += f" (rule form {self.form})"
        return head + ": " + ", ".join(f"{k} {v}" for k, v in c.items())

    def plot(self, ax=None, **kw):
        """Region figure (see :func:`dsge_agents.plots.policy.plot_determinacy`)."""
        from ..plots.policy import plot_determinacy
        if len(self.parameters) > 2:
            raise PolicyError(f"a determinacy figure shows one or two parameters; this map has "
                              f"{len(self.parameters)} ({', '.join(self.parameters)}): use table()")
        return plot_determinacy(self, ax=ax, **kw)


def determinacy_map(model, grid: Any, executor: Any = "serial", *, form: str | None = None,
                    chunksize: int | None = None, progress: bool = False,
                    qz_criterium: float = QZ_CRITERIUM) -> DeterminacyMap:
    """Classify every point of ``grid`` (rule coefficients) as determinate / indeterminate / unstable.

    Parameters
    ----------
    model : Model
        A model whose parameters include every grid name.
    grid : mapping name -> values (Cartesian product), DataFrame or list of dicts
        One or two rule coefficients usually; any number works.
    executor : see :func:`dsge_agents.policy.sweep.sweep`
        ``"serial"`` (default) runs in-process; ``None``/int for local processes,
        a scheduler address or ``distributed.Client`` for Dask.
    form : str, optional
        Rule form to map (``current``/``expected``/``integral`` for the SLO rule);
        the model is rebuilt once with that form.
    """
    df = make_grid(grid)
    names = list(df.columns)
    check_parameters(model, names, what="grid parameter")
    check_fast_parameters(model, names, what="grid parameter")
    if form is not None:
        model = apply_changes(model, {"form": form})
    res = sweep(_DeterminacyPoint(model, qz_criterium), df, executor=executor,
                chunksize=chunksize, progress=progress, desc="determinacy")
    if "status" not in res:
        res["status"] = None
    res["status"] = res["status"].where(res["error"].isna(), "error")
    for c in ("n_explosive", "n_forward"):
        if c not in res:
            res[c] = np.nan
    return DeterminacyMap(res, names, model_name=getattr(model, "name", ""), form=form)
