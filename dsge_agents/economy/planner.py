"""The social planner of the static economy as a conic program, polished by Newton on its KKT system
(DESIGN §5.1, first and second welfare theorems).

Problem (collocation on V_K, x = s substituted):

    max  Σ_q w_q [ Σ_a (θ q_a − κ_a) x_qa + β⁻¹ Σ_a entr(x_qa) + η h_q ]
    s.t. Σ_{a∈s} x_qa = λ(t_q) v_s                         (stage flows)
         Σ_a f_a(x_qa) + h_q ≤ ℓ̄(t_q),   h_q ≥ 0,  x ≥ 0   (the SLO as a latency budget)

with the queueing load written in DCP form (convex, exponential-cone/SOC representable):

    f_a(x) = τ x (1 + k ρ/(1−ρ)) = τ x + τ k x²/(μ − x) = τ x + τ k (μ² · inv_pos(μ − x) − μ − x).

CVXPY (Diamond & Boyd 2016) with the Clarabel interior-point solver (Goulart & Chen 2024) solves it
to ~1e-8 relative gaps, i.e. prices to ~1e-4. The solution is then polished node by node by Newton's
method on the KKT system in (x, ν, P):

    θq_a − κ_a − (log x_a + 1)/β − P f_a'(x_a) − ν_s = 0,   Σ_{a∈s} x_a = λ v_s,
    min(P − η, ℓ̄ − Σ_a f_a(x_a)) = 0,

solved in O(N) per iteration by eliminating x (diagonal block) and ν (one per stage) — a bordered
diagonal system — with an active-set switch for the complementarity and a fraction-to-boundary
damping keeping 0 < x < μ. The multipliers are the prices: latency P = p_ℓ, served work
p_a = κ_a + P f_a'(x_a) (the multiplier of x = s), stage values ν_s.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dsge_agents.errors import EconomyError

from .agents import latency_load, latency_load_d1, latency_load_d2

__all__ = ["PlannerResult", "solve_planner", "solve_conic", "polish_kkt"]


@dataclass
class PlannerResult:
    x: np.ndarray            # (K, N) flows = supply
    h: np.ndarray            # (K,) unused headroom
    pl: np.ndarray           # (K,) latency multiplier = p_ℓ
    p: np.ndarray            # (K, N) agent prices (multipliers of x = s)
    nu: np.ndarray           # (K, S) stage multipliers
    objective: float
    converged: bool
    iterations: int
    message: str
    kkt_residual: float
    conic_price_error: float = float("nan")
    conic: dict = field(default_factory=dict)


def solve_conic(eco, solver: str = "CLARABEL", verbose: bool = False) -> dict:
    """The conic program of the module docstring with CVXPY, in scaled variables: stage shares
    y_a = x_a/(λ v_s) ∈ [0, 1], the latency budget divided by ℓ̄ and the objective by
    σ = Σ_q w_q λ_q θ (θ ≤ 0: max(|θ| max|q|, max κ, 1/β) for θ); with ρ = x/μ the load reads f_a = τ x + τ k μ (inv_pos(1 − ρ) − 1 − ρ) and
    entr(D y) = D entr(y) − D log D · y. Returns raw x, h and P = σ·dual_q /(w_q ℓ̄_q)."""
    import cvxpy as cp
    K, N = eco.K, eco.N
    w = eco.w
    Dn = eco.demand_stage[:, eco.stage_index]                     # (K, N) stage demand per agent
    # objective scale: flow × a value per request that never vanishes (θ may be 0 or negative: quality
    # not valued; σ = Σ w λ · θ made the problem 1e300-scaled and Clarabel failed)
    value = eco.theta if eco.theta > 0 else max(abs(eco.theta) * float(np.max(np.abs(eco.quality))),
                                                float(np.max(np.abs(eco.kappa))), 1.0 / eco.beta)
    sigma = float(w @ eco.lam) * value
    Y = cp.Variable((K, N), nonneg=True)
    H = cp.Variable(K, nonneg=True)                               # headroom / ℓ̄
    lin = w[:, None] * Dn * ((eco.theta * eco.quality - eco.kappa)[None, :] - np.log(Dn) / eco.beta) / sigma
    ent = w[:, None] * Dn / (eco.beta * sigma)
    obj = cp.sum(cp.multiply(lin, Y)) + cp.sum(cp.multiply(ent, cp.entr(Y))) + eco.eta * ((w * eco.lbar) @ H) / sigma
    a = Dn / eco.mu                                               # ρ = a·y
    rho = cp.multiply(a, Y)
    lb = eco.lbar[:, None]
    load = cp.multiply(eco.tau * Dn / lb, Y) + cp.multiply((eco.tau * eco.kq)[None, :] * eco.mu / lb,
                                                           cp.inv_pos(1 - rho) - 1 - rho)
    cons_flow = Y @ eco._member.T == 1.0
    cons_lat = cp.sum(load, axis=1) + H <= 1.0
    prob = cp.Problem(cp.Maximize(obj), [cons_flow, cons_lat])
    t0 = time.perf_counter()
    try:
        prob.solve(solver=solver, verbose=verbose)
    except cp.error.SolverError as exc:
        raise EconomyError(f"the conic planner failed in {solver}: {exc}") from None
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise EconomyError(f"the conic planner returned status {prob.status!r}")
    y = np.asarray(cons_lat.dual_value, dtype=float).ravel()
    return {"x": np.asarray(Y.value, float) * Dn, "h": np.asarray(H.value, float) * eco.lbar,
            "P": y * sigma / (w * eco.lbar), "status": prob.status, "objective": float(prob.value) * sigma,
            "seconds": time.perf_counter() - t0}


def _kkt_residual(eco, x, nu, P, active):
    d1 = latency_load_d1(x, eco.tau, eco.kq, eco.mu)
    F = eco.theta * eco.quality - eco.kappa - (np.log(x) + 1.0) / eco.beta - P[:, None] * d1 \
        - nu[:, eco.stage_index]
    Gs = x @ eco._member.T - eco.demand_stage
    L = latency_load(x, eco.tau, eco.kq, eco.mu).sum(axis=1)
    Lres = np.where(active, eco.lbar - L, eco.eta - P)
    return F, Gs, Lres, d1


def _res_norm(eco, F, Gs, Lres, active, P):
    """Scaled residual per node: F in units of the value scale, flows relative to demand,
    latency relative to ℓ̄ (active) or price relative to η (inactive)."""
    vscale = max(eco.theta * float(np.max(np.abs(eco.quality))), 1.0 / eco.beta)
    a = np.abs(F).max(axis=1) / vscale
    b = (np.abs(Gs) / eco.demand_stage).max(axis=1)
    c = np.where(active, np.abs(Lres) / eco.lbar, np.abs(Lres) / np.maximum(np.abs(P), 1e-300))
    return np.maximum(np.maximum(a, b), c)


def polish_kkt(eco, x0, P0, tol: float = 1e-14, max_iter: int = 100):
    """Newton on the planner's KKT system (module docstring). Returns (x, ν, P, active, iterations, residual)."""
    S = eco.S
    x = np.clip(np.asarray(x0, float), 1e-12 * eco.mu, (1 - 1e-9) * eco.mu)
    # restore stage totals
    x *= (eco.demand_stage / (x @ eco._member.T))[:, eco.stage_index]
    x = np.minimum(x, (1 - 1e-9) * eco.mu)
    P = np.maximum(np.asarray(P0, float).copy(), eco.eta)
    P = np.where(P > 0, P, 1e-8)
    L = latency_load(x, eco.tau, eco.kq, eco.mu).sum(axis=1)
    active = (P > eco.eta * (1 + 1e-6)) | (L > eco.lbar * (1 - 1e-6))
    d1 = latency_load_d1(x, eco.tau, eco.kq, eco.mu)
    g = eco.theta * eco.quality - eco.kappa - (np.log(x) + 1.0) / eco.beta - P[:, None] * d1
    nu = (g @ eco._member.T) / np.bincount(eco.stage_index, minlength=S)[None, :]
    it_total = 0
    for _switch in range(5):
        for it in range(max_iter):
            F, Gs, Lres, d1 = _kkt_residual(eco, x, nu, P, active)
            r0 = _res_norm(eco, F, Gs, Lres, active, P)
            if r0.max() <= tol:
                break
            it_total += 1
            d2 = latency_load_d2(x, eco.tau, eco.kq, eco.mu)
            dd = -1.0 / (eco.beta * x) - P[:, None] * d2                          # (K, N) < 0
            A = (1.0 / dd) @ eco._member.T                                       # (K, S)
            b = (-F / dd) @ eco._member.T
            c = (d1 / dd) @ eco._member.T
            e = (-F + ((-Gs - b) / A)[:, eco.stage_index]) / dd
            hh = (d1 - (c / A)[:, eco.stage_index]) / dd
            den = (d1 * hh).sum(axis=1)
            # den = 0: the stage flows fix every x (one agent per stage), the latency load cannot be
            # moved by P, so the SLO can only be slack there (P = η) — drop it from the active set
            rigid = ~(np.abs(den) > 1e-14 * np.abs(d1 * d1 / dd).sum(axis=1))
            if np.any(rigid & active):
                active = active & ~rigid
                F, Gs, Lres, d1 = _kkt_residual(eco, x, nu, P, active)
                r0 = _res_norm(eco, F, Gs, Lres, active, P)
                b = (-F / dd) @ eco._member.T
                e = (-F + ((-Gs - b) / A)[:, eco.stage_index]) / dd
            with np.errstate(divide="ignore", invalid="ignore"):
                dP_act = (Lres - (d1 * e).sum(axis=1)) / den
            dP = np.where(active, dP_act, eco.eta - P)
            dx = e + hh * dP[:, None]
            dnu = (-Gs - b - c * dP[:, None]) / A
            # fraction to the boundary 0 < x < μ
            with np.errstate(divide="ignore", invalid="ignore"):
                lim_lo = np.where(dx < 0, -0.99 * x / dx, np.inf)
                lim_hi = np.where(dx > 0, 0.99 * (eco.mu - x) / dx, np.inf)
            alpha = np.minimum(1.0, np.minimum(lim_lo.min(axis=1), lim_hi.min(axis=1)))
            for _ in range(40):
                xn = x + alpha[:, None] * dx
                nun = nu + alpha[:, None] * dnu
                Pn = P + alpha * dP
                r1 = _res_norm(eco, *_kkt_residual(eco, xn, nun, Pn, active)[:3], active, Pn)
                ok = (r1 <= (1 - 1e-4 * alpha) * r0) | (r0 <= tol)
                if ok.all():
                    break
                alpha = np.where(ok, alpha, 0.5 * alpha)
            x, nu, P = xn, nun, Pn
        # active-set consistency: P ≥ η, latency ≤ ℓ̄
        L = latency_load(x, eco.tau, eco.kq, eco.mu).sum(axis=1)
        to_inactive = active & (P < eco.eta)
        to_active = ~active & (L > eco.lbar * (1 + 1e-13))
        if not (to_inactive.any() or to_active.any()):
            break
        active = np.where(to_inactive, False, np.where(to_active, True, active))
        P = np.where(to_inactive, eco.eta, P)
    F, Gs, Lres, _ = _kkt_residual(eco, x, nu, P, active)
    res = float(_res_norm(eco, F, Gs, Lres, active, P).max())
    return x, nu, P, active, it_total, res


def solve_planner(eco, solver: str = "CLARABEL", polish: bool = True, tol: float = 1e-14) -> PlannerResult:
    """Conic planner + KKT polish; multipliers are the equilibrium prices (module docstring)."""
    eco.check_feasible()
    raw = solve_conic(eco, solver=solver)
    x_raw = np.clip(raw["x"], 1e-300, None)
    P_raw = raw["P"]
    p_raw = eco.kappa + P_raw[:, None] * latency_load_d1(np.minimum(x_raw, eco.mu * (1 - 1e-12)),
                                                          eco.tau, eco.kq, eco.mu)
    if not polish:
        L = latency_load(x_raw, eco.tau, eco.kq, eco.mu).sum(axis=1)
        h = np.maximum(eco.lbar - L, 0.0)
        return PlannerResult(x=x_raw, h=h, pl=np.maximum(P_raw, eco.eta), p=p_raw,
                             nu=np.full((eco.K, eco.S), np.nan), objective=raw["objective"], converged=True,
                             iterations=0, message=f"conic solution ({raw['status']}), not polished",
                             kkt_residual=float("nan"), conic=raw)
    x, nu, P, active, its, res = polish_kkt(eco, raw["x"], P_raw, tol=tol)
    p = eco.kappa + P[:, None] * latency_load_d1(x, eco.tau, eco.kq, eco.mu)
    L = latency_load(x, eco.tau, eco.kq, eco.mu).sum(axis=1)
    h = np.where(active, 0.0, np.maximum(eco.lbar - L, 0.0))
    obj = eco.surplus(x, x, h)
    conv = res <= max(tol, 1e-11) * 1e3
    err = float(max(np.max(np.abs(p_raw - p) / np.abs(p)), np.max(np.abs(P_raw - P) / np.abs(P))))
    msg = (f"conic program ({raw['status']}, {raw['seconds']:.2f} s) polished by {its} Newton steps on the "
           f"KKT system; scaled KKT residual {res:.1e}; conic prices were off by {err:.1e} (relative)")
    return PlannerResult(x=x, h=h, pl=P, p=p, nu=nu, objective=obj, converged=bool(conv), iterations=its,
                         message=msg, kkt_residual=res, conic_price_error=err, conic=raw)
