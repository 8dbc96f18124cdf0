"""Welfare theorems and K-convergence as functions returning numbers (DESIGN §5.1).

* :func:`first_welfare_gap` — |S(eq) − S*| / |S*| with S the planner objective (social surplus);
  S(eq) is the consumer's welfare U = …+ m at the market equilibrium minus the money endowment M
  (m − M = priced headroom + profits − spending, computed without adding M), so the budget
  accounting (profits paid out, endowment priced) enters the check.
* :func:`allocation_gap` — max relative distance between the equilibrium and planner allocations.
* :func:`second_welfare_gap` — decentralise the planner optimum: at its multipliers (p_a, p_ℓ) the
  firms' closed-form supply and the consumer's logit demand must reproduce it; returns the max
  relative deviation of flows, supplies and latency loads.
* :func:`k_convergence` — p*_K for K = 4 … 64 against the pointwise equilibrium on a fine grid,
  with fitted spectral (error ∝ e^{−αK}) and algebraic (error ∝ K^{−γ}) rates.
"""
from __future__ import annotations

import numpy as np

from .agents import latency_load
from .basis import PiecewiseConstantBasis

__all__ = ["first_welfare_gap", "allocation_gap", "second_welfare_gap", "k_convergence"]


def _need_static(economy, what: str):
    """The welfare theorems and K-convergence are statements about the agent economy on V_K."""
    if not hasattr(economy, "basis") or not hasattr(economy, "check_feasible"):
        from dsge_agents.errors import EconomyError
        raise EconomyError(f"{what} needs a StaticEconomy (agents, orchestrator, basis of V_K), got "
                           f"{type(economy).__name__}; an exchange economy has no planner or time basis")


def _solve(eco, method):
    from .equilibrium import equilibrium
    return equilibrium(eco, method=method)


def first_welfare_gap(economy, result=None, planner=None, method: str = "tatonnement") -> float:
    """Relative welfare gap between the market equilibrium and the polished planner optimum."""
    _need_static(economy, 'first_welfare_gap')
    from .planner import solve_planner
    res = result if result is not None else _solve(economy, method)
    eco = res._economy if res._economy is not None else economy
    pl = planner if planner is not None else solve_planner(eco)
    s_eq = res.surplus if res.surplus is not None else res.welfare - eco.money
    return float(abs(s_eq - pl.objective) / max(abs(pl.objective), 1e-300))


def allocation_gap(economy, result=None, planner=None, method: str = "tatonnement") -> float:
    """max_{q,a} |x_eq − x*| / (λ v_s) (flows relative to stage demand)."""
    _need_static(economy, 'allocation_gap')
    from .planner import solve_planner
    res = result if result is not None else _solve(economy, method)
    eco = res._economy if res._economy is not None else economy
    pl = planner if planner is not None else solve_planner(eco)
    scale = eco.demand_stage[:, eco.stage_index]
    return float(max(np.max(np.abs(res.demand - pl.x) / scale), np.max(np.abs(res.supply - pl.x) / scale)))


def second_welfare_gap(economy, planner=None) -> float:
    """Decentralise the planner allocation at its multipliers; max relative deviation (see module)."""
    _need_static(economy, 'second_welfare_gap')
    from .planner import solve_planner
    pl = planner if planner is not None else solve_planner(economy)
    eco = economy
    s, ell, _, _ = eco.supply(pl.p, pl.pl)
    x, _, _ = eco.demand(pl.p, pl.pl)
    scale = eco.demand_stage[:, eco.stage_index]
    ell_pl = latency_load(pl.x, eco.tau, eco.kq, eco.mu)
    return float(max(np.max(np.abs(s - pl.x) / scale), np.max(np.abs(x - pl.x) / scale),
                     np.max(np.abs(ell.sum(1) - ell_pl.sum(1)) / eco.lbar)))


def k_convergence(economy, Ks=(4, 8, 16, 32, 64), basis: str = "legendre", method: str = "newton",
                  n_ref: int = 256) -> dict:
    """Convergence of the equilibrium price functions p*_K as K grows.

    The V_K economy separates by node, so p*_K interpolates the pointwise equilibrium p*(t) at the
    nodes; the error is measured against p*(t) computed exactly on the midpoints of ``n_ref`` bins
    (the piecewise-constant economy with K = n_ref), as the RMS over the grid of
    |p_K(t) − p*(t)| / RMS|p*|, stacking agent and latency prices (each scaled by its RMS).
    Returns Ks, errors, the fitted spectral rate α (log err ≈ a − αK, on errors above 1e-12)
    and algebraic order γ (log err ≈ b − γ log K), and whether the SLO binds everywhere.
    """
    _need_static(economy, 'k_convergence')
    Ks = tuple(Ks)
    if len(Ks) < 2:
        from dsge_agents.errors import EconomyError
        raise EconomyError(f"k_convergence needs at least two basis sizes Ks to fit a rate, got {list(Ks)}")
    ref_eco = economy.with_basis(PiecewiseConstantBasis(n_ref, economy.basis.T))
    ref = _solve(ref_eco, method)
    tg = ref_eco.t
    Pref = np.concatenate([ref.prices, ref.latency_price[:, None]], axis=1)
    scale = np.sqrt(np.mean(Pref ** 2, axis=0))
    errors, binding = [], bool(np.all(ref.slo_binding))
    for K in Ks:
        eco = economy.with_basis(basis, int(K))
        r = _solve(eco, method)
        pa = eco.basis.evaluate(r.price_coefficients.T, tg)
        plv = eco.basis.evaluate(r.latency_price_coefficients, tg)
        PK = np.concatenate([pa, plv[:, None]], axis=1)
        errors.append(float(np.sqrt(np.mean(((PK - Pref) / scale) ** 2))))
        binding = binding and bool(np.all(r.slo_binding))
    Ks_a, err = np.asarray(Ks, float), np.asarray(errors)
    use = err > 1e-12
    alpha = gamma = float("nan")
    if use.sum() >= 2:
        alpha = float(-np.polyfit(Ks_a[use], np.log(err[use]), 1)[0])
        gamma = float(-np.polyfit(np.log(Ks_a[use]), np.log(err[use]), 1)[0])
    return {"basis": basis, "Ks": [int(k) for k in Ks], "errors": errors, "spectral_rate": alpha,
            "algebraic_order": gamma, "slo_binding_everywhere": binding, "n_ref": n_ref}
