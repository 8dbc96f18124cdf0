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
from dsge_agents.linear.cyclic import cr_solve, cyclic_reduction
from dsge_agents.linear.solution import Solution, solve
from dsge_agents.linear.resolver import Resolver

__all__ = ["solve_matrices", "SolveInfo", "cr_solve", "cyclic_reduction", "solve", "Solution", "Resolver"]
