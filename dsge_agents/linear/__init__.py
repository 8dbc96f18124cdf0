"""First-order solution of linear rational-expectations models (DESIGN §4).

* :func:`solve_matrices` — ordered QZ on ``(A_lag, A_cur, A_lead, A_u)`` with
  Blanchard–Kahn diagnostics (Villemot 2011, Dynare's method);
* :func:`cr_solve` — Numba cyclic reduction of the same matrix quadratic equation;
* :func:`solve` / :class:`Solution` — model-level solution with IRFs, simulation,
  moments, variance decomposition (Numba kernels in :mod:`.kernels`);
* :class:`Resolver` — one-call Numba re-solve θ ↦ (ss, T, R, code) for estimation.
"""
from __future__ import annotations

from dsge_agents.linear.qz import SolveInfo, solve_matrices
from dsge_agents.linear.solution import Solution, solve

__all__ = ["solve_matrices", "SolveInfo", "cr_solve", "cyclic_reduction", "solve", "Solution", "Resolver"]

#: imported on first use: these modules compile Numba kernels, and importing Numba is a large part
#: of the start-up time of a command that only needs a QZ solve (``dsge-agents irf``)
_LAZY = {"cr_solve": "dsge_agents.linear.cyclic", "cyclic_reduction": "dsge_agents.linear.cyclic",
         "Resolver": "dsge_agents.linear.resolver"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dsge_agents.linear' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
