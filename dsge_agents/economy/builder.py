"""Agent DAG → DSGE model builder (DESIGN §5.2; derivation in docs/orchestrated_economy.md).

:func:`build` turns an orchestrated economy (YAML ``kind: orchestrated_economy``,
see :mod:`dsge_agents.economy.config`) into a dict in the DESIGN §3 model schema;
:func:`build_model` passes it to :func:`dsge_agents.model.from_dict`, so solve,
IRFs, moments, estimation and what-if apply unchanged.

The model is written in **levels** (``options: {loglinear: false}``): IRFs are
level deviations from the steady state (seconds for latencies, shares in
[0, 1], requests per minute for capacities, dollars per minute for cost,
$/(request·s) for ``slo_rate``). Logs are impossible for the whole model
(shock processes and API investment are zero in steady state, net value may be
negative); the SLO rule itself is log-linear in P, W and C, as in DESIGN §5.2.

Names (per agent ``a`` at stage ``s``; ``ZC_a``/``ZK_a`` the capacity/cost shock
processes — an AR(1) variable ``a_zcap``/``a_zcost``, the innovation itself when
its persistence is 0, or absent when its std is 0):

=====================  ==========================================================
``demand``             λ_t = λ̄ e^{z^λ_t} (W_{t−1}/W*)^ξ
``a_capacity``         μ_a = e^{ZC_a} K_{a,t−1} (self-hosted) or e^{ZC_a} K̄_a (API)
``a_util``             ρ_a = λ v_s π_a / μ_a
``a_latency``          W_a = τ_a (1 + k_a ρ_a/(1−ρ_a))
``a_share``            logit with partial adjustment ω, log-ratios to the stage's first agent
``a_provisioned``      K_a = (1−δ_a) K_{a,t−1} + I_a (self-hosted); K̄_a, the rate limit (API)
``a_invest``           I_a from the investment FOC (self-hosted); 0 (API: no capacity purchase)
``a_tobin_q``          q_a = p^I_a e^{ZK_a}[1 + ψ(I_a/K_{a,t−1} − δ_a)]   (self-hosted)
``a_return``           P τ k e^{ZC}(ρ/(1−ρ))² + p^I e^{ZK}(ψ/2)((I/K_{−1})² − δ²)  (self-hosted)
``latency``            W = Σ_s v_s Σ_a π_a W_a
``spend``              λ Σ_a κ_a e^{ZK_a} v_s π_a
``cost``               spend + Σ_self p^I e^{ZK}[I + (ψ/2)(I/K_{−1} − δ)² K_{−1}]
``quality``            Σ_s v_s Σ_a π_a q_a / Σ_s v_s
``net_value``          θ λ Q − C
``slo_rate``           the SLO rule (equation named ``slo_rule``)
=====================  ==========================================================

Shocks: ``eps_demand``, ``eps_slo``, ``eps_capacity_<a>``, ``eps_cost_<a>`` (a
positive shock raises demand / raises the latency price = tightens the SLO /
raises capacity / raises the agent's unit price, and for self-hosted agents its
investment price).
"""
from __future__ import annotations

import math
import re

import numpy as np

from dsge_agents.errors import EconomyError

from .calibration import SteadyState, steady_state
from .calibration import latency_elasticities as _latency_elasticities
from .config import EconomyConfig, load_config

__all__ = ["build", "build_model", "latency_elasticities", "variable_values", "residuals", "RULE_PARAMETERS",
           "SS_NEUTRAL_PARAMETERS", "rule_equation"]

RULE_PARAMETERS = ["slo_rho", "slo_phi_latency", "slo_phi_cost"]
#: parameters that do not move the steady state (change them freely with Model.with_parameters)
SS_NEUTRAL_PARAMETERS = ["slo_rho", "slo_phi_latency", "slo_phi_cost", "omega", "psi", "retry_xi",
                         "rho_demand", "rho_slo", "sd_demand", "sd_slo"]
SIGN_CONVENTION = ("slo_rate P is the price of latency ($ per request-second). slo_phi_latency > 0 raises P when "
                   "latency is above slo_target_latency (tightening); slo_phi_cost > 0 raises P when cost is above "
                   "its steady state slo_cost_bar (use < 0 to loosen when spending overshoots); a positive eps_slo "
                   "raises P (tightens the SLO). slo_rate_bar and slo_cost_bar are derived from the steady state.")


def latency_elasticities(cfg) -> dict:
    """ε_LR and ε_SR of end-to-end latency to its price (see :func:`calibration.latency_elasticities`)."""
    return _latency_elasticities(load_config(cfg))


def _shock_terms(a):
    """Expressions for e^{ZC} and e^{ZK} pieces: (zcap_expr, zcost_expr, zcap_var, zcost_var)."""
    n = a.name
    if a.capacity_shock.std > 0:
        zc_var = f"{n}_zcap" if a.capacity_shock.persistence > 0 else None
        zc = zc_var if zc_var else f"eps_capacity_{n}"
    else:
        zc_var, zc = None, None
    if a.cost_shock.std > 0:
        zk_var = f"{n}_zcost" if a.cost_shock.persistence > 0 else None
        zk = zk_var if zk_var else f"eps_cost_{n}"
    else:
        zk_var, zk = None, None
    return zc, zk, zc_var, zk_var


def _exp(z):
    return f"exp({z})*" if z else ""


def rule_equation(form: str, latency_term: str = "latency", cost_term: bool = True) -> str:
    """The SLO rule of DESIGN §5.2 in one of its three forms.

    ``cost_term=False`` leaves out φ_C log(C/C̄): for an economy whose cost is identically zero (API agents
    only, all free) the term is log(0/0)."""
    gap = f"slo_phi_latency*log({latency_term}/slo_target_latency)"
    if cost_term:
        gap += " + slo_phi_cost*log(cost/slo_cost_bar)"
    if form == "integral":
        return f"log(slo_rate) = log(slo_rate(-1)) + {gap} + z_slo"
    if form == "expected":
        gap = gap.replace("log(latency/", "log(latency(+1)/")
    return (f"log(slo_rate) = slo_rho*log(slo_rate(-1)) + (1 - slo_rho)*(log(slo_rate_bar) + {gap}) + z_slo")


def build(cfg, ss: SteadyState | None = None) -> dict:
    """The DESIGN §3 model dict of an orchestrated economy (equations of docs/orchestrated_economy.md).

    The steady state is the closed form of :mod:`dsge_agents.economy.calibration` (P̄ solves
    W(P̄) = W*; C̄ is steady-state cost), given numerically for every variable.
    """
    cfg = load_config(cfg)
    if ss is None:
        ss = steady_state(cfg)
    v = cfg.visit_ratios
    P: dict[str, float] = {}
    P["lam_bar"] = cfg.demand_mean
    P["rho_demand"] = cfg.demand_shock.persistence
    P["retry_xi"] = cfg.retry_feedback
    P["beta_logit"] = cfg.beta
    P["theta"] = cfg.theta
    P["omega"] = cfg.omega
    P["psi"] = cfg.adjustment_cost
    P["beta_d"] = cfg.discount
    P["slo_rho"] = cfg.slo.slo_rho
    P["slo_phi_latency"] = cfg.slo.slo_phi_latency
    P["slo_phi_cost"] = cfg.slo.slo_phi_cost
    P["slo_target_latency"] = cfg.slo.slo_target_latency
    P["slo_rate_bar"] = ss.P
    P["slo_cost_bar"] = ss.cost
    P["rho_slo"] = cfg.slo.shock.persistence
    P["sd_demand"] = cfg.demand_shock.std
    P["sd_slo"] = cfg.slo.shock.std
    P["visits_total"] = float(sum(v.values()))   # not v_<stage>: a stage may be named total
    for s in cfg.stages:
        P[f"v_{s}"] = v[s]
    shocks = {"eps_demand": "sd_demand", "eps_slo": "sd_slo"}
    variables = ["demand", "latency", "cost", "quality", "net_value", "slo_rate", "spend", "z_demand", "z_slo"]
    eqs: list[dict] = []

    def eq(name, text):
        eqs.append({"name": name, "equation": text})

    values = variable_values(ss)
    mv = {}
    agent_vars: dict[str, list[str]] = {}
    for a in cfg.agents:
        n = a.name
        P[f"tau_{n}"] = a.base_latency
        P[f"k_{n}"] = a.kingman
        P[f"q_{n}"] = a.quality
        P[f"kappa_{n}"] = a.unit_cost
        if a.self_hosted:
            P[f"pI_{n}"] = a.invest_price
            P[f"delta_{n}"] = a.depreciation
        else:
            P[f"Kbar_{n}"] = a.capacity
        zc, zk, zc_var, zk_var = _shock_terms(a)
        if a.capacity_shock.std > 0:
            shocks[f"eps_capacity_{n}"] = f"sd_capacity_{n}"
            P[f"sd_capacity_{n}"] = a.capacity_shock.std
        if a.cost_shock.std > 0:
            shocks[f"eps_cost_{n}"] = f"sd_cost_{n}"
            P[f"sd_cost_{n}"] = a.cost_shock.std
        names = [f"{n}_share", f"{n}_util", f"{n}_latency", f"{n}_capacity", f"{n}_provisioned", f"{n}_invest"]
        if a.self_hosted:
            names += [f"{n}_tobin_q", f"{n}_return"]
        if zc_var:
            names.append(zc_var)
            P[f"rho_cap_{n}"] = a.capacity_shock.persistence
        if zk_var:
            names.append(zk_var)
            P[f"rho_cost_{n}"] = a.cost_shock.persistence
        agent_vars[n] = names
        variables += names
        kterm = f"kappa_{n}*exp({zk})" if zk else f"kappa_{n}"
        mv[n] = f"(theta*q_{n} - {kterm} - slo_rate*tau_{n}*(1 + k_{n}*((1 - {n}_util)^(-2) - 1)))"
    # ---------------------------------------------------------------- aggregate blocks
    eq("demand_process", "z_demand = rho_demand*z_demand(-1) + eps_demand")
    eq("demand", "demand = lam_bar*exp(z_demand)*(latency(-1)/slo_target_latency)^retry_xi")
    eq("slo_shock", "z_slo = rho_slo*z_slo(-1) + eps_slo")
    # ---------------------------------------------------------------- per agent
    for a in cfg.agents:
        n, s = a.name, a.stage
        zc, zk, zc_var, zk_var = _shock_terms(a)
        if zc_var:
            eq(f"{n}_capacity_shock", f"{zc_var} = rho_cap_{n}*{zc_var}(-1) + eps_capacity_{n}")
        if zk_var:
            eq(f"{n}_cost_shock", f"{zk_var} = rho_cost_{n}*{zk_var}(-1) + eps_cost_{n}")
        if a.self_hosted:
            eq(f"{n}_capacity", f"{n}_capacity = {_exp(zc)}{n}_provisioned(-1)")
        else:
            eq(f"{n}_capacity", f"{n}_capacity = {_exp(zc)}Kbar_{n}")
        eq(f"{n}_util", f"{n}_util = demand*v_{s}*{n}_share/{n}_capacity")
        eq(f"{n}_latency", f"{n}_latency = tau_{n}*(1 + k_{n}*{n}_util/(1 - {n}_util))")
        if a.self_hosted:
            eq(f"{n}_accumulation", f"{n}_provisioned = (1 - delta_{n})*{n}_provisioned(-1) + {n}_invest")
            eq(f"{n}_investment_foc",
               f"{n}_tobin_q = pI_{n}*{_exp(zk)}(1 + psi*({n}_invest/{n}_provisioned(-1) - delta_{n}))")
            eq(f"{n}_capital_return",
               f"{n}_return = slo_rate*tau_{n}*k_{n}*{_exp(zc)}({n}_util/(1 - {n}_util))^2"
               f" + pI_{n}*{_exp(zk)}(psi/2)*(({n}_invest/{n}_provisioned(-1))^2 - delta_{n}^2)")
            eq(f"{n}_euler", f"{n}_tobin_q = beta_d*({n}_return(+1) + (1 - delta_{n})*{n}_tobin_q(+1))")
        else:
            eq(f"{n}_provisioned", f"{n}_provisioned = Kbar_{n}")
            eq(f"{n}_invest", f"{n}_invest = 0")
    # routing per stage
    groups: dict[str, list] = {s: [] for s in cfg.stages}
    for a in cfg.agents:
        groups[a.stage].append(a)
    for s in cfg.stages:
        members = groups[s]
        r = members[0].name
        if len(members) == 1:
            eq(f"{r}_share", f"{r}_share = 1")
            continue
        for b in members[1:]:
            bn = b.name
            eq(f"{bn}_share",
               f"log({bn}_share/{r}_share) = omega*log({bn}_share(-1)/{r}_share(-1))"
               f" + (1 - omega)*beta_logit*({mv[bn]} - {mv[r]})")
        eq(f"{s}_shares_sum", " + ".join(f"{m.name}_share" for m in members) + " = 1")
    # ---------------------------------------------------------------- aggregates
    eq("latency", "latency = " + " + ".join(f"v_{a.stage}*{a.name}_share*{a.name}_latency" for a in cfg.agents))
    spend_terms = []
    for a in cfg.agents:
        if a.unit_cost == 0.0:
            continue
        zk = _shock_terms(a)[1]
        spend_terms.append(f"kappa_{a.name}*{_exp(zk)}v_{a.stage}*{a.name}_share")
    eq("spend", "spend = demand*(" + (" + ".join(spend_terms) if spend_terms else "0") + ")")
    cap_terms = []
    for a in cfg.agents:
        if not a.self_hosted:
            continue
        n = a.name
        zk = _shock_terms(a)[1]
        cap_terms.append(f"pI_{n}*{_exp(zk)}({n}_invest + (psi/2)*({n}_invest/{n}_provisioned(-1) - delta_{n})^2"
                         f"*{n}_provisioned(-1))")
    eq("cost", "cost = spend" + "".join(f" + {t}" for t in cap_terms))
    eq("quality", "quality = (" + " + ".join(f"v_{a.stage}*q_{a.name}*{a.name}_share" for a in cfg.agents)
       + ")/visits_total")
    eq("net_value", "net_value = theta*demand*quality - cost")
    # cost ≡ 0 (no self-hosted agent and every unit cost 0: spend and capital spending vanish in every state):
    # log(C/C̄) is undefined, so the rule has no cost term and a cost reaction is an error
    zero_cost = ss.cost == 0.0
    if zero_cost and cfg.slo.slo_phi_cost != 0.0:
        where = f"{cfg.source}: " if cfg.source else ""
        raise EconomyError(f"{where}slo.slo_phi_cost = {cfg.slo.slo_phi_cost:g} but the economy's cost is identically "
                           "zero (API agents only, every unit_cost 0): the rule's cost gap log(C/C̄) is undefined; "
                           "set slo_phi_cost: 0 or give the agents their unit_cost")
    eq("slo_rule", rule_equation(cfg.slo.form, cost_term=not zero_cost))
    rule_index = len(eqs) - 1
    _check_name_clashes(cfg, variables, P, shocks)
    d = {
        "name": cfg.name,
        "description": cfg.description or f"orchestrated economy {cfg.name} (built by dsge_agents.economy.builder)",
        "variables": variables,
        "shocks": shocks,
        "parameters": P,
        "equations": eqs,
        "steady_state": {k: values[k] for k in variables},
        "options": {"loglinear": False},
        "policy_rule": {
            "equation": rule_index, "name": "slo_rule", "form": cfg.slo.form, "variable": "slo_rate",
            "parameters": [p for p in RULE_PARAMETERS if not (zero_cost and p == "slo_phi_cost")],
            "target": "slo_target_latency", "intercept": "slo_rate_bar",
            "cost_target": "slo_cost_bar", "shock": "eps_slo", "shock_process": "z_slo",
            "sign_convention": SIGN_CONVENTION,
        },
        "metadata": {
            "kind": "orchestrated_economy",
            "source": cfg.source,
            "period_seconds": cfg.period_seconds,
            "stages": list(cfg.stages),
            "visit_ratios": dict(v),
            "agents": {a.name: {"stage": a.stage, "kind": a.kind, "variables": agent_vars[a.name]}
                       for a in cfg.agents},
            "derived_parameters": {"slo_rate_bar": "P̄ solves steady-state W(P̄) = slo_target_latency",
                                   "slo_cost_bar": "C̄ = steady-state cost"},
            "ss_neutral_parameters": list(SS_NEUTRAL_PARAMETERS)
            + [p for p in P if p.startswith(("sd_", "rho_cap_", "rho_cost_"))],
            "irf_units": "levels (deviations from steady state in model units)",
        },
    }
    if cfg.estimation:
        d["estimation"] = cfg.estimation
    if cfg.observables:
        d["observables"] = cfg.observables
    return d


_PARAM_PREFIXES = ("tau_", "k_", "q_", "kappa_", "pI_", "delta_", "Kbar_", "sd_capacity_", "sd_cost_", "rho_cap_",
                   "rho_cost_")


def _origins(cfg: EconomyConfig, name: str, variables, params, shocks) -> list[str]:
    """Who generates the model name ``name`` (for the clash message)."""
    out = []
    if name in variables:
        owner = [a.name for a in cfg.agents if name.startswith(a.name + "_")]
        out.append(f"variable {name!r}" + (f" of agent {owner[0]!r}" if owner else ""))
    if name in params:
        owner = [a.name for a in cfg.agents for pre in _PARAM_PREFIXES if name == pre + a.name]
        stage = [s for s in cfg.stages if name == f"v_{s}"]
        who = f" of agent {owner[0]!r}" if owner else (f" of stage {stage[0]!r}" if stage else "")
        out.append(f"parameter {name!r}{who}")
    if name in shocks:
        out.append(f"shock {name!r}")
    return out


def _check_name_clashes(cfg: EconomyConfig, variables, params, shocks) -> None:
    """Agent and stage names are glued into model names (``<agent>_share``, ``tau_<agent>``, ``v_<stage>``);
    two different pieces can produce the same name (agents ``tau`` and ``share``: variable and parameter
    ``tau_share``). Name the agents instead of letting the model layer report a bare duplicate."""
    seen: dict[str, int] = {}
    for group in (variables, list(params), list(shocks)):
        for n in set(group):
            seen[n] = seen.get(n, 0) + 1
    dup = sorted(n for n, c in seen.items() if c > 1)
    if dup:
        where = f"{cfg.source}: " if cfg.source else ""
        n = dup[0]
        raise EconomyError(f"{where}the model name {n!r} is generated twice ("
                           + " and ".join(_origins(cfg, n, variables, params, shocks))
                           + "); rename one of those agents or stages")


def build_model(cfg, ss: SteadyState | None = None):
    """:func:`build` then :func:`dsge_agents.model.from_dict` → a ``Model``."""
    from dsge_agents.model import from_dict
    cfg = load_config(cfg)
    return from_dict(build(cfg, ss), source=cfg.source, cache=True)   # warm: no parsing, no SymPy


def variable_values(ss: SteadyState) -> dict[str, float]:
    """Steady-state value of every model variable (names of :func:`build`)."""
    cfg = ss.cfg
    out = {"demand": ss.demand, "latency": ss.latency, "cost": ss.cost, "quality": ss.quality,
           "net_value": ss.net_value, "slo_rate": ss.P, "spend": ss.spend, "z_demand": 0.0, "z_slo": 0.0}
    for i, a in enumerate(cfg.agents):
        n = a.name
        out[f"{n}_share"] = float(ss.share[i])
        out[f"{n}_util"] = float(ss.util[i])
        out[f"{n}_latency"] = float(ss.agent_latency[i])
        out[f"{n}_capacity"] = float(ss.capacity[i])
        out[f"{n}_provisioned"] = float(ss.provisioned[i])
        out[f"{n}_invest"] = float(ss.invest[i])
        if a.self_hosted:
            out[f"{n}_tobin_q"] = float(ss.tobin_q[i])
            out[f"{n}_return"] = float(ss.capital_return[i])
        zc, zk, zc_var, zk_var = _shock_terms(a)
        if zc_var:
            out[zc_var] = 0.0
        if zk_var:
            out[zk_var] = 0.0
    return out


_TIMED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(\s*([+-]\s*\d+)\s*\)")


def residuals(d: dict, values: dict | None = None, params: dict | None = None) -> np.ndarray:
    """Steady-state residuals (lhs − rhs) of the emitted equations, evaluated independently of the engine.

    Timing suffixes ``x(+1)``/``x(-1)`` are dropped (all dates at the steady state), shocks are 0,
    ``^`` is a power; expressions are evaluated with Python floats in a namespace holding only the
    variables, parameters and exp/log/sqrt (the strings are ours, emitted by :func:`build`).
    """
    values = dict(d["steady_state"] if values is None else values)
    ns = {"__builtins__": {}, "exp": math.exp, "log": math.log, "sqrt": math.sqrt}
    ns.update({k: float(x) for k, x in d["parameters"].items()})
    if params:
        ns.update(params)
    ns.update({s: 0.0 for s in d["shocks"]})
    ns.update({k: float(x) for k, x in values.items()})
    out = []
    for e in d["equations"]:
        text = e["equation"] if isinstance(e, dict) else e
        text = _TIMED.sub(r"\1", text).replace("^", "**")
        lhs, rhs = text.split("=")
        out.append(eval(lhs, ns) - eval(rhs, ns))  # noqa: S307 - our own emitted strings, empty builtins
    return np.array(out)


def equation_names(d: dict) -> list[str]:
    return [e["name"] if isinstance(e, dict) else f"eq{i}" for i, e in enumerate(d["equations"])]


def synthetic_config(n_agents: int, topology: str = "chain", seed: int = 0, target_price: float = 1e-4,
                     **overrides) -> EconomyConfig:
    """A scalable economy for benchmarks and scale tests: ``n_agents`` (even) agents, two per stage.

    ``chain``: stages s0 → s1 → … → s_{n/2−1}; ``star``: a hub stage branching with equal probabilities
    to n/2 − 1 leaf stages. Each stage has an API agent and a self-hosted agent whose numbers are the
    default model's, jittered (seeded). The SLO target is set to W(target_price) of the long-run map so
    the steady state is feasible by construction.
    """
    if n_agents < 2 or n_agents % 2:
        raise EconomyError(f"synthetic_config needs an even number of agents ≥ 2, got {n_agents}")
    rng = np.random.default_rng(seed)
    n_st = n_agents // 2
    stages = [f"s{i}" for i in range(n_st)]
    if topology == "chain":
        edges = [{"from": stages[i], "to": stages[i + 1], "prob": 1.0} for i in range(n_st - 1)]
    elif topology == "star":
        if n_st < 2:
            raise EconomyError("a star needs at least 4 agents")
        leaves = stages[1:]
        p = 1.0 / len(leaves)
        edges = [{"from": stages[0], "to": s, "prob": p} for s in leaves[:-1]]
        edges.append({"from": stages[0], "to": leaves[-1], "prob": 1.0 - p * (len(leaves) - 1)})
    else:
        raise EconomyError(f"topology must be 'chain' or 'star', got {topology!r}")
    lam = 330.0
    visits = {stages[0]: 1.0}
    for s in stages[1:]:
        visits[s] = 1.0 if topology == "chain" else 1.0 / (n_st - 1)
    agents = []
    for s in stages:
        j = rng.uniform(0.8, 1.25, size=6)
        agents.append({"name": f"{s}_api", "stage": s, "kind": "api", "quality": 0.70 * j[0] ** 0.1,
                       "base_latency": 2.85 * j[1], "kingman": 1.098, "unit_cost": 0.00045 * j[2],
                       "capacity": 1.25 * lam * visits[s] * j[3]})
        agents.append({"name": f"{s}_gpu", "stage": s, "kind": "self_hosted", "quality": 0.85 * j[4] ** 0.1,
                       "base_latency": 6.5 * j[5], "kingman": 1.098, "unit_cost": 0.0,
                       "invest_price": 0.0088 * j[2], "depreciation": 1.0 / 60.0})
    raw = {"kind": "orchestrated_economy", "name": f"synthetic_{topology}_{n_agents}", "stages": stages,
           "edges": edges, "agents": agents,
           "demand": {"mean": lam, "persistence": 0.8, "std": 0.165},
           "routing": {"beta": 800.0, "theta": 0.01, "omega": 0.5},
           "capital": {"discount": 0.9999999, "adjustment_cost": 4.0},
           "slo": {"form": "current", "slo_target_latency": 1.0}}
    raw.update(overrides)
    cfg = load_config(raw)
    from .calibration import _arrays_with_value, _long_run, agent_arrays
    arr = _arrays_with_value(cfg, agent_arrays(cfg))
    cfg.slo.slo_target_latency = _long_run(cfg, arr, target_price, cfg.demand_mean)[2]
    return cfg
