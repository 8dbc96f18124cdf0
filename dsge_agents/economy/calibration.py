"""Steady state of the dynamic orchestrated economy and the latency elasticities (DESIGN §5.2).

Closed form given the latency price P (docs/orchestrated_economy.md §5):

* self-hosted agent a (capacity chosen): the Tobin's-q Euler equation at rest
  gives P τ_a k_a (ρ_a/(1−ρ_a))² = u_a with the user cost
  u_a = p^I_a (1/β_d − 1 + δ_a), so ρ_a/(1−ρ_a) = √(u_a/(P τ_a k_a));
* API agent a (capacity = rate limit K̄_a, exogenous): ρ_a = λ̄ v_s π_a / K̄_a
  depends on its own share;
* per stage, logit shares π_a = exp(β MV_a − L_s) with
  MV_a = θ q_a − κ_a − P f_a'(ρ_a), f_a' = τ_a(1 + k_a[(1−ρ_a)^{−2} − 1]),
  and L_s chosen so that Σ_a π_a = 1 (a strictly monotone 1-D root per stage;
  for API agents an inner strictly monotone 1-D root in log(ρ/(1−ρ)));
* end-to-end latency W(P) = Σ_s v_s Σ_a π_a W_a, W_a = τ_a(1 + k_a ρ_a/(1−ρ_a));
  P̄ solves W(P̄) = W* (Brent's method on log P after bracketing);
* s_a = λ̄ v_s π_a, K_a = s_a/ρ_a, I_a = δ_a K_a, Tobin's q_a = p^I_a.

All per-agent work is vectorised (safeguarded Newton with bisection fallback,
vectorised over agents and stages), so N = 600 agents take milliseconds per P.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from dsge_agents.errors import EconomyError, SLOInfeasibleError

from .config import END, EconomyConfig, load_config

__all__ = ["SteadyState", "steady_state", "latency_elasticities", "static_economy", "AgentArrays"]


@dataclass
class AgentArrays:
    """Per-agent calibration as arrays (agent order of the config)."""

    names: list
    stage_idx: np.ndarray
    visits: np.ndarray        # v_s of the agent's stage
    self_hosted: np.ndarray   # bool
    q: np.ndarray
    tau: np.ndarray
    k: np.ndarray
    kappa: np.ndarray
    kbar: np.ndarray          # API rate limit (nan for self-hosted)
    pI: np.ndarray
    delta: np.ndarray
    user_cost: np.ndarray     # u_a = p^I (1/β_d − 1 + δ)
    n_stages: int
    stage_names: list = field(default_factory=list)
    theta_q_minus_kappa: np.ndarray | None = None   # θ q_a − κ_a (set by _arrays_with_value)


def agent_arrays(cfg: EconomyConfig) -> AgentArrays:
    v = cfg.visit_ratios
    sidx = {s: i for i, s in enumerate(cfg.stages)}
    A = cfg.agents
    sh = np.array([a.self_hosted for a in A])
    pI = np.array([a.invest_price for a in A], float)
    dl = np.array([a.depreciation for a in A], float)
    return AgentArrays(
        names=[a.name for a in A],
        stage_idx=np.array([sidx[a.stage] for a in A], dtype=np.int64),
        visits=np.array([v[a.stage] for a in A], float),
        self_hosted=sh,
        q=np.array([a.quality for a in A], float),
        tau=np.array([a.base_latency for a in A], float),
        k=np.array([a.kingman for a in A], float),
        kappa=np.array([a.unit_cost for a in A], float),
        kbar=np.array([np.nan if a.self_hosted else a.capacity for a in A], float),
        pI=pI, delta=dl, user_cost=pI * (1.0 / cfg.discount - 1.0 + dl),
        n_stages=len(cfg.stages), stage_names=list(cfg.stages))


def fprime(rho, tau, k):
    """Marginal latency load f_a'(s) = τ(1 + k[(1−ρ)^{−2} − 1]) (DESIGN §5.1)."""
    return tau * (1.0 + k * ((1.0 - rho) ** -2 - 1.0))


# ------------------------------------------------------------------------------------------- stage solver
def _stage_sums(x, idx, n):
    return np.bincount(idx, weights=x, minlength=n)


def solve_routing(P, lam, arr: AgentArrays, fixed, x_fixed, mu, offset, b, L0=None):
    """Logit routing given the latency price P (one period, or the steady state).

    π_a = exp(o_a + b·MV_a − L_s), MV_a = θq_a − κ_a − P f_a'(ρ_a) [θ, κ folded in ``offset`` by the caller
    through ``arr``], with ρ_a fixed (``fixed``; x = ρ/(1−ρ) given by ``x_fixed``) or ρ_a = λ v_s π_a / μ_a.

    Returns (pi, x, L) with x = ρ/(1−ρ). Algorithm: for each stage, Newton on L_s (Σπ = 1, slope in
    [−1, 0)) with bisection safeguards; for each flexible agent, Newton in y = log x on the increasing
    function g(y) = log σ(y) + log c_a − o_a − b(a_a − P f'(σ(y))) + L_s, c_a = μ_a/(λ v_s).
    """
    n = arr.n_stages
    idx = arr.stage_idx
    a_val = arr.theta_q_minus_kappa  # θq − κ (set by the caller)
    flex = ~fixed
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        logc = np.where(flex, np.log(mu / (lam * arr.visits)), 0.0)
    xf = np.where(fixed, x_fixed, 0.0)
    rho_f = xf / (1.0 + xf)
    w_fixed = offset + b * (a_val - P * fprime(rho_f, arr.tau, arr.k))       # log weight of fixed agents
    w_max = np.where(fixed, w_fixed, offset + b * (a_val - P * arr.tau))       # upper bound of log weights
    wm = np.full(n, -np.inf)
    np.maximum.at(wm, idx, w_max)
    L_hi = wm + np.log(_stage_sums(np.exp(w_max - wm[idx]), idx, n))        # Σπ(L_hi) ≤ 1
    # feasibility: a stage of only flexible agents needs Σ c_a > 1 (rate limits above demand)
    has_fixed = _stage_sums(fixed.astype(float), idx, n) > 0
    cap_share = _stage_sums(np.where(flex, np.exp(logc), 0.0), idx, n)
    y = np.where(flex, 0.0, np.log(np.maximum(xf, 1e-300)))
    bPtk = b * P * arr.tau * arr.k

    def inner(Lvec, y):
        """Newton/bisection for the flexible agents' y = log(ρ/(1−ρ)) at stage normalisers Lvec."""
        const = logc - offset - b * (a_val - P * arr.tau) + Lvec[idx]
        # g(y) >= log σ(y) + const and g(y) <= const + bPtk(e^{2y} + 2e^y): valid brackets
        lo = np.minimum(-50.0, -np.abs(const) - 50.0)
        with np.errstate(divide="ignore"):
            hi = np.maximum(1.0, 0.5 * np.log((np.abs(const) + 50.0) / bPtk) + 1.0)
        hi = np.where(np.isfinite(hi), hi, 700.0)
        y = np.clip(y, lo, hi)
        for _ in range(300):
            ey = np.exp(np.minimum(y, 700.0))
            g = -np.log1p(np.exp(np.minimum(-y, 700.0))) + const + bPtk * (ey * ey + 2.0 * ey)
            dg = 1.0 / (1.0 + ey) + bPtk * 2.0 * (ey * ey + ey)
            lo = np.where(g < 0, y, lo)
            hi = np.where(g > 0, y, hi)
            yn = y - g / dg
            bad = ~((yn >= lo) & (yn <= hi)) | ~np.isfinite(yn)
            yn = np.where(bad, 0.5 * (lo + hi), yn)
            yn = np.where(flex, yn, y)
            step = np.max(np.abs(yn - y), initial=0.0)
            y = yn
            if step <= 1e-14 * (1.0 + np.max(np.abs(y), initial=0.0)):
                break
        return y

    def shares(Lvec, y):
        y = inner(Lvec, y)
        with np.errstate(over="ignore"):
            rho = 1.0 / (1.0 + np.exp(-y))
            pi = np.where(fixed, np.exp(np.minimum(w_fixed - Lvec[idx], 700.0)), np.exp(logc) * rho)
            ey = np.exp(np.minimum(y, 700.0))
            dg = 1.0 / (1.0 + ey) + bPtk * 2.0 * (ey * ey + ey)
            dpi = np.where(fixed, -pi, -np.exp(logc) * rho * (1.0 - rho) / dg)
        return pi, y, dpi

    if np.any(~has_fixed & (cap_share <= 1.0)):
        s = int(np.flatnonzero(~has_fixed & (cap_share <= 1.0))[0])
        sname = arr.stage_names[s] if arr.stage_names else f"#{s}"
        who = ", ".join(arr.names[j] for j in np.flatnonzero(idx == s))
        raise EconomyError(f"stage {sname!r}: the capacities of its agents ({who}) sum to {cap_share[s]:.4g} × "
                           "the stage's demand (utilization ≥ 1 at any routing); raise their capacity (API rate "
                           "limits) above the stage demand or add a self-hosted agent")
    # lower bracket: Σπ(L_lo) ≥ 1 (exists: a fixed agent alone reaches π = 1; flexible ones tend to c_a)
    L_lo = L_hi - 8.0
    step = 8.0
    for _ in range(80):
        pi, y, _ = shares(L_lo, y)
        h = np.log(_stage_sums(pi, idx, n))
        if np.all(h >= 0):
            break
        step *= 2.0
        L_lo = np.where(h < 0, L_hi - step, L_lo)
    L = L_hi.copy() if L0 is None else np.clip(L0, L_lo, L_hi)
    for _ in range(300):
        pi, y, dpi = shares(L, y)
        S = _stage_sums(pi, idx, n)
        h = np.log(S)
        dh = _stage_sums(dpi, idx, n) / S
        if np.max(np.abs(h)) <= 4e-16:
            break
        L_lo = np.where(h > 0, L, L_lo)
        L_hi = np.where(h < 0, L, L_hi)
        Ln = L - h / dh
        bad = ~((Ln >= L_lo) & (Ln <= L_hi)) | ~np.isfinite(Ln)
        Ln = np.where(bad, 0.5 * (L_lo + L_hi), Ln)
        done = np.max(np.abs(Ln - L)) <= 1e-15 * (1.0 + np.max(np.abs(L)))
        L = Ln
        if done:
            break
    pi, y, _ = shares(L, y)
    pi = pi / _stage_sums(pi, idx, n)[idx]
    x = np.where(fixed, xf, np.exp(np.minimum(y, 700.0)))
    return pi, x, L


# ------------------------------------------------------------------------------------------- steady state
@dataclass
class SteadyState:
    """The analytic steady state (DESIGN §5.2) — arrays in the config's agent order."""

    cfg: EconomyConfig
    P: float                      # P̄, the steady-state latency price ($ per request-second)
    demand: float
    agents: list
    stage: list
    visits: np.ndarray
    share: np.ndarray
    util: np.ndarray
    agent_latency: np.ndarray
    fprime: np.ndarray
    marginal_value: np.ndarray
    price: np.ndarray             # p_a = κ_a + P f_a' (the agent's equilibrium price)
    served: np.ndarray
    capacity: np.ndarray          # μ_a (effective = provisioned in steady state)
    provisioned: np.ndarray
    invest: np.ndarray
    tobin_q: np.ndarray
    capital_return: np.ndarray    # P τ k (ρ/(1−ρ))² (= u_a for self-hosted)
    latency: float
    spend: float
    cost: float
    quality: float
    net_value: float
    self_hosted: np.ndarray
    extra: dict = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """Steady-state value of every variable of the built model (builder names)."""
        from .builder import variable_values
        return variable_values(self)

    def table(self):
        import pandas as pd
        return pd.DataFrame({
            "stage": self.stage, "self_hosted": self.self_hosted, "share": self.share, "util": self.util,
            "latency": self.agent_latency, "served": self.served, "capacity": self.capacity,
            "invest": self.invest, "price": self.price, "marginal_value": self.marginal_value},
            index=self.agents)


def _arrays_with_value(cfg, arr):
    arr.theta_q_minus_kappa = cfg.theta * arr.q - arr.kappa
    return arr


def _long_run(cfg, arr, P, lam):
    """Steady-state routing at latency price P and demand λ: (pi, x, W)."""
    fixed = arr.self_hosted.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        x_fixed = np.where(fixed, np.sqrt(arr.user_cost / (P * arr.tau * arr.k)), 0.0)
    mu = np.where(fixed, 1.0, arr.kbar)
    pi, x, L = solve_routing(P, lam, arr, fixed, x_fixed, mu, np.zeros(len(arr.q)), cfg.beta)
    W = float(np.sum(arr.visits * pi * arr.tau * (1.0 + arr.k * x)))
    return pi, x, W


def steady_state(cfg) -> SteadyState:
    """The closed-form steady state (module docstring), with P̄ solving W(P̄) = W*.

    Raises
    ------
    SLOInfeasibleError
        W* at or below the no-load latency Σ_s v_s min_a τ_a, or unreachable at any latency price.
    EconomyError
        the SLO does not bind (P̄ below the value of time η), an API stage whose rate limits cannot
        carry its demand (utilization ≥ 1), or a non-positive flow.
    """
    cfg = load_config(cfg)
    arr = _arrays_with_value(cfg, agent_arrays(cfg))
    where = f"{cfg.source}: " if cfg.source else ""
    Wstar = cfg.slo.slo_target_latency
    lam = cfg.demand_mean
    # no-load latency: every stage at its fastest agent with ρ = 0
    tmin = np.full(arr.n_stages, np.inf)
    np.minimum.at(tmin, arr.stage_idx, arr.tau)
    vis = cfg.visit_ratios
    noload = float(sum(vis[s] * tmin[i] for i, s in enumerate(cfg.stages)))
    if Wstar <= noload * (1 + 1e-9):
        fastest = [arr.names[j] for j in range(len(arr.names)) if arr.tau[j] == tmin[arr.stage_idx[j]]]
        raise SLOInfeasibleError(
            f"{cfg.where_slo()}SLO unreachable: slo_target_latency W* = {Wstar:.4g} s is at or below the no-load latency "
            f"{noload:.4g} s (Σ_s v_s min_a τ_a; fastest agents {', '.join(fastest)}); raise slo_target_latency "
            f"above {noload:.4g} s or lower those agents' base_latency")

    def logW(logP):
        try:
            _, _, W = _long_run(cfg, arr, math.exp(logP), lam)
        except EconomyError as exc:      # the routing solver does not know the file: name it
            if where and not str(exc).startswith(where):
                raise type(exc)(f"{where}{exc}") from None
            raise
        return math.log(W) - math.log(Wstar)

    # bracket: scale guess where self-hosted ρ/(1−ρ) = 1
    sh = arr.self_hosted
    if np.any(sh):
        P0 = float(np.median(arr.user_cost[sh] / (arr.tau[sh] * arr.k[sh])))
    else:
        P0 = float(np.median(np.maximum(cfg.theta * arr.q, arr.kappa) / arr.tau)) / max(cfg.beta, 1.0) + 1e-12
    lo = hi = math.log(P0)
    f_lo = f_hi = logW(lo)
    n = 0
    while f_lo <= 0 and n < 200:
        hi, f_hi = lo, f_lo
        lo -= 2.0
        f_lo = logW(lo)
        n += 1
    # numerically safe ceiling: β·P·τ ≤ 1e6 keeps the logit weights accurate to ~1e-10
    log_pmax = math.log(1e6 / (cfg.beta * float(np.max(arr.tau * arr.k))))
    n = 0
    while f_hi > 0 and n < 200 and hi < log_pmax:
        lo, f_lo = hi, f_hi
        hi = min(hi + 2.0, log_pmax)
        f_hi = logW(hi)
        n += 1
    if f_hi > 0:
        raise SLOInfeasibleError(
            f"{cfg.where_slo()}SLO unreachable: even at a latency price of {math.exp(hi):.3g} $/(request·s) the mean "
            f"end-to-end latency is {Wstar * math.exp(f_hi):.4g} s > W* = {Wstar:.4g} s (self-hosted agents idle, "
            "API agents congested at their rate limits); raise slo_target_latency above that, or raise the API "
            "agents' capacity / lower their base_latency")
    if f_lo <= 0:
        # W(P) ≤ W* down to P ≈ 0: latency cannot rise to W* (only API agents, whose capacity is their fixed
        # rate limit, or self-hosted agents already idle), so no positive latency price makes the SLO bind
        Wmax = Wstar * math.exp(f_lo)
        kinds = "only API agents (their capacity is a fixed rate limit)" if not np.any(sh) else "these agents"
        raise EconomyError(
            f"{cfg.where_slo()}the SLO does not bind: at every latency price (down to {math.exp(lo):.3g} $/(request·s)) "
            f"the mean end-to-end latency is at most {Wmax:.4g} s < W* = {Wstar:.4g} s: with {kinds} it "
            f"cannot rise to W*; lower slo_target_latency below {Wmax:.4g} s, or add a self-hosted agent whose capacity "
            "responds to the latency price (the DSGE steady state is the static equilibrium with a binding SLO)")
    logP = optimize.brentq(logW, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    P = math.exp(logP)
    if P <= cfg.eta:
        raise EconomyError(
            f"{cfg.where_slo()}the SLO does not bind: the latency price that delivers W* = {Wstar:.4g} s is {P:.4g}, below "
            f"the value of time eta = {cfg.eta:.4g}; lower slo_target_latency or eta (the DSGE steady state is "
            "the static equilibrium with a binding SLO)")
    return _assemble(cfg, arr, P)


def _assemble(cfg, arr, P) -> SteadyState:
    lam = cfg.demand_mean
    pi, x, W = _long_run(cfg, arr, P, lam)
    rho = x / (1.0 + x)
    s = lam * arr.visits * pi
    if np.any(~np.isfinite(s)) or np.any(s <= 0) or np.any(pi < 1e-10):
        # a routing share underflows: log(π_best/π_a) = β(MV_best − MV_a) is huge, either because the logit
        # is near-hard (large routing.beta) or because the latency price needed for W* makes the agent's
        # marginal latency load dear; name both numbers and both remedies
        j = int(np.flatnonzero(~(s > 0))[0]) if np.any(~(s > 0)) else int(np.argmin(pi))
        fp_j = fprime(rho, arr.tau, arr.k)
        MVj = cfg.theta * arr.q - arr.kappa - P * fp_j
        same = np.flatnonzero(arr.stage_idx == arr.stage_idx[j])
        best = int(same[np.argmax(MVj[same])])
        gap = cfg.beta * (MVj[best] - MVj[j])
        raise SLOInfeasibleError(
            f"{cfg.where_agent(j)}agent {arr.names[j]!r} (stage {cfg.agents[j].stage!r}) gets a steady-state routing share of "
            f"{pi[j]:.3g}: routing.beta × (MV of {arr.names[best]!r} − MV of {arr.names[j]!r}) = {gap:.4g} at the "
            f"latency price {P:.3g} $/(request·s) that W* = {cfg.slo.slo_target_latency:.4g} s needs, so the "
            f"target is met only by starving it; lower routing.beta (now {cfg.beta:.4g}), raise slo_target_latency, "
            "make the agent competitive (quality, unit_cost, base_latency) or remove it")
    if np.any(rho >= 1.0) or np.any(rho <= 0.0):
        j = int(np.flatnonzero((rho >= 1.0) | (rho <= 0.0))[0])
        raise EconomyError(f"{cfg.where_agent(j)}agent {arr.names[j]!r}: steady-state utilization {rho[j]:.6g} is not in (0, 1);"
                           " raise its capacity (API rate limit) or lower demand")
    sh = arr.self_hosted
    K = np.where(sh, s / rho, arr.kbar)
    I = np.where(sh, arr.delta * K, 0.0)
    Wa = arr.tau * (1.0 + arr.k * x)
    fp = fprime(rho, arr.tau, arr.k)
    MV = cfg.theta * arr.q - arr.kappa - P * fp
    spend = float(np.sum(arr.kappa * s))
    cost = spend + float(np.sum(np.where(sh, arr.pI * I, 0.0)))
    vs = arr.visits
    quality = float(np.sum(vs * pi * arr.q) / sum(cfg.visit_ratios.values()))
    return SteadyState(
        cfg=cfg, P=P, demand=lam, agents=list(arr.names), stage=[a.stage for a in cfg.agents], visits=vs,
        share=pi, util=rho, agent_latency=Wa, fprime=fp, marginal_value=MV, price=arr.kappa + P * fp,
        served=s, capacity=K, provisioned=K, invest=I, tobin_q=np.where(sh, arr.pI, 0.0),
        capital_return=P * arr.tau * arr.k * x ** 2, latency=W, spend=spend, cost=cost, quality=quality,
        net_value=cfg.theta * lam * quality - cost, self_hosted=sh)


# ------------------------------------------------------------------------------------------- elasticities
def _short_run_W(cfg, arr, ss: SteadyState, P, lam=None):
    """Within-period latency at price P with capacities and lagged shares at the steady state."""
    lam = ss.demand if lam is None else lam
    fixed = np.zeros(len(arr.q), dtype=bool)
    offset = cfg.omega * np.log(ss.share)
    pi, x, _ = solve_routing(P, lam, arr, fixed, np.zeros(len(arr.q)), ss.capacity, offset,
                             (1.0 - cfg.omega) * cfg.beta)
    return float(np.sum(arr.visits * pi * arr.tau * (1.0 + arr.k * x))), pi, x


#: below this an elasticity from central differences of step 1e-5 is rounding noise (~ε_mach/h = 2e-11): a
#: latency that does not respond on impact (one agent per stage, all self-hosted: ε_SR = 0) has no
#: expected-rule threshold (+inf), not 1/(−2e-11) = −4.5e10
_EPS_NOISE = 1e-8


def latency_elasticities(cfg, h: float = 1e-5) -> dict:
    """Long- and short-run elasticities of end-to-end latency to its price (docs §6).

    ε_LR = −d log W / d log P along the steady state (capacities and routing adjusted; with retry
    feedback ξ the demand response closes the loop: ε_LR = ε_P / (1 − ξ ε_λ) with ε_λ = ∂log W/∂log λ),
    ε_SR = −∂ log W_t / ∂ log P_t on impact (capacities K_{t−1}, lagged shares and demand at their steady
    state; routing moves by its (1 − ω) share). Central differences of step ``h`` in log P on the
    closed-form maps of this module (accuracy ~h²).

    Returns
    -------
    dict with eps_LR, eps_SR, their cost counterparts (d log C / d log P, long run with I = δK and
    short run spend only), ``current_rule_threshold`` = −1/ε_LR (determinate for φ_W above it, with
    ρ_P < 1 and φ_C = 0) and ``expected_rule_threshold`` ≈ 1/ε_SR (+inf when ε_SR is 0 to rounding:
    latency does not move on impact, so no φ_W makes the expected-latency rule indeterminate that way).
    """
    cfg = load_config(cfg)
    ss = steady_state(cfg)
    arr = _arrays_with_value(cfg, agent_arrays(cfg))
    P, lam = ss.P, ss.demand

    def lr(Pv, lv):
        pi, x, W = _long_run(cfg, arr, Pv, lv)
        return W

    def lr_cost(Pv):
        a = _assemble(cfg, arr, Pv)
        return a.cost
    up, dn = math.exp(h), math.exp(-h)
    eP = (math.log(lr(P * up, lam)) - math.log(lr(P * dn, lam))) / (2 * h)
    eL = (math.log(lr(P, lam * up)) - math.log(lr(P, lam * dn))) / (2 * h)
    eps_lr = -eP / (1.0 - cfg.retry_feedback * eL)
    Wu, _, _ = _short_run_W(cfg, arr, ss, P * up)
    Wd, _, _ = _short_run_W(cfg, arr, ss, P * dn)
    eps_sr = -(math.log(Wu) - math.log(Wd)) / (2 * h)
    c_lr = (math.log(lr_cost(P * up)) - math.log(lr_cost(P * dn))) / (2 * h)
    return {"eps_LR": eps_lr, "eps_SR": eps_sr, "eps_LR_fixed_demand": -eP, "latency_demand_elasticity": eL,
            "cost_elasticity_LR": c_lr,
            "current_rule_threshold": -1.0 / eps_lr if abs(eps_lr) > _EPS_NOISE else -math.inf,
            "expected_rule_threshold": 1.0 / eps_sr if abs(eps_sr) > _EPS_NOISE else math.inf,
            "slo_rate_bar": P}


# ------------------------------------------------------------------------------------------- static link
def static_economy(cfg, K: int = 4, basis: str = "legendre", T: float = 1.0):
    """The DESIGN §5.1 static economy with constant paths at the steady-state capacities.

    μ_a = K_a (self-hosted, steady state) or K̄_a (API), λ = λ̄, W* = slo_target_latency, same θ, β, η,
    q_a, κ_a, τ_a, k_a (ca2 = cs2 = k_a). Its equilibrium latency price is P̄ and its agent prices are
    p_a = κ_a + P̄ f_a'(s_a) (docs/orchestrated_economy.md §5).
    """
    from .agents import Agent
    from .orchestrator import EXIT, Orchestrator
    from .static import StaticEconomy
    cfg = load_config(cfg)
    ss = steady_state(cfg)
    edges = [(e.src, EXIT if e.dst == END else e.dst, e.prob) for e in cfg.edges]
    orch = Orchestrator(cfg.stages, edges, entry=dict(cfg.entry), arrival_rate=cfg.demand_mean,
                        slo=cfg.slo.slo_target_latency, money=10.0 * ss.cost * T + 1.0, theta=cfg.theta,
                        beta=cfg.beta, eta=cfg.eta, name=cfg.name)
    agents = [Agent(name=a.name, stage=a.stage, service_time=a.base_latency, capacity=float(ss.capacity[i]),
                    unit_cost=a.unit_cost, quality=a.quality, ca2=a.kingman, cs2=a.kingman)
              for i, a in enumerate(cfg.agents)]
    return StaticEconomy(orch, agents, basis=basis, K=K, T=T, name=cfg.name)
