"""Odd but valid economy files through the builder, against a steady state computed here from DESIGN §5.2.

The reference solver below is written from the mathematics, by a different method than
dsge_agents.economy.calibration: per stage it solves the full system log π_b − log π_r = β(MV_b − MV_r),
Σπ = 1 with MINPACK (scipy.optimize.root, 'hybr') in the log-shares, then P̄ by Brent on
log W(P) − log W* over a fixed grid bracket. Self-hosted utilization from the Euler equation at rest,
ρ/(1−ρ) = √(u/(P τ k)), u = p^I(1/β_d − 1 + δ); API utilization ρ = λ v_s π / K̄.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml
from scipy import optimize

from dsge_agents.economy import builder, calibration
from dsge_agents.errors import DSGEError, EconomyError


# ------------------------------------------------------------------------------------- reference solver
def _visits(raw):
    entry = raw.get("entry") or {next(s for s in raw["stages"]
                                      if all(e["to"] != s for e in raw.get("edges", []))): 1.0}
    v = {s: float(entry.get(s, 0.0)) for s in raw["stages"]}
    for _ in raw["stages"]:                       # v = entry + Pᵀv, iterated (the DAG's P is nilpotent)
        nv = {s: float(entry.get(s, 0.0)) for s in raw["stages"]}
        for e in raw.get("edges", []):
            if e["to"] != "end":
                nv[e["to"]] += v[e["from"]] * e.get("prob", 1.0)
        v = nv
    return v


def _kappa(a):
    if "unit_cost" in a:
        return a["unit_cost"]
    return (a.get("tokens_in", 0) * a.get("price_in", 0) + a.get("tokens_out", 0) * a.get("price_out", 0)) / 1e6


def reference_steady_state(raw):
    v = _visits(raw)
    lam = raw["demand"]["mean"]
    beta = raw.get("routing", {}).get("beta", 1000.0)
    theta = raw.get("routing", {}).get("theta", 0.01)
    bd = raw.get("capital", {}).get("discount", 0.9999999)

    def stage(P, s):
        A = [a for a in raw["agents"] if a["stage"] == s]

        def rho(a, pi):
            if a.get("kind", "api") == "self_hosted":
                u = a["invest_price"] * (1 / bd - 1 + a.get("depreciation", 1 / 60))
                x = math.sqrt(u / (P * a["base_latency"] * a["kingman"]))
                return x / (1 + x)
            return lam * v[s] * pi / a["capacity"]

        def mv(a, r):
            return theta * a["quality"] - _kappa(a) - P * a["base_latency"] * (1 + a["kingman"] * ((1 - r) ** -2 - 1))

        if len(A) == 1:
            return A, [1.0], [rho(A[0], 1.0)]

        def F(z):
            pi = np.exp(np.minimum(z, 0.0))
            r = [rho(a, p) for a, p in zip(A, pi)]
            if max(r) >= 1:
                return np.full(len(A), 1e3)
            m = [mv(a, x) for a, x in zip(A, r)]
            return np.array([z[i] - z[0] - beta * (m[i] - m[0]) for i in range(1, len(A))] + [np.sum(pi) - 1])

        for z0 in [np.full(len(A), -math.log(len(A)))] + [np.log(0.9 * np.eye(len(A))[i] + 0.1 / len(A))
                                                          for i in range(len(A))]:
            sol = optimize.root(F, z0, method="hybr", options={"xtol": 1e-14})
            if np.max(np.abs(F(sol.x))) < 1e-13:
                pi = np.exp(sol.x)
                return A, list(pi), [rho(a, p) for a, p in zip(A, pi)]
        raise RuntimeError(f"reference solver: stage {s} at P = {P}")

    def W(P):
        tot = 0.0
        for s in raw["stages"]:
            A, pi, r = stage(P, s)
            tot += v[s] * sum(p * a["base_latency"] * (1 + a["kingman"] * x / (1 - x)) for a, p, x in zip(A, pi, r))
        return tot

    def g(lp):
        try:
            return math.log(W(math.exp(lp))) - math.log(raw["slo"]["slo_target_latency"])
        except RuntimeError:
            return math.nan

    grid = np.arange(-30.0, 2.0, 1.0)
    vals = [g(x) for x in grid]
    k = next(i for i in range(len(grid) - 1) if vals[i] > 0 >= vals[i + 1])
    P = math.exp(optimize.brentq(g, grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15))
    out = {"slo_rate": P, "latency": W(P)}
    spend = capc = q = 0.0
    for s in raw["stages"]:
        A, pi, r = stage(P, s)
        for a, p, x in zip(A, pi, r):
            n, flow = a["name"], lam * v[s] * p
            out[f"{n}_share"], out[f"{n}_util"] = p, x
            out[f"{n}_latency"] = a["base_latency"] * (1 + a["kingman"] * x / (1 - x))
            spend += _kappa(a) * flow
            q += v[s] * p * a["quality"]
            if a.get("kind", "api") == "self_hosted":
                out[f"{n}_provisioned"] = flow / x
                out[f"{n}_invest"] = a.get("depreciation", 1 / 60) * flow / x
                capc += a["invest_price"] * out[f"{n}_invest"]
    out["spend"], out["cost"], out["quality"] = spend, spend + capc, q / sum(v.values())
    out["net_value"] = theta * lam * out["quality"] - out["cost"]
    return out


# ------------------------------------------------------------------------------------- economies
@pytest.fixture(scope="module")
def base(models_dir):
    raw = yaml.safe_load((models_dir / "orchestrated_default.yaml").read_text(encoding="utf-8"))
    raw.pop("observables")
    raw.pop("estimation")
    return raw


def _variant(base, name):
    d = copy.deepcopy(base)
    by = {a["name"]: a for a in d["agents"]}
    if name == "one_self_hosted":
        d.update(stages=["plan"], entry={"plan": 1.0}, edges=[], agents=[by["plan_llama"]])
        d["slo"]["slo_target_latency"] = 10.0
    elif name == "one_stage":
        d.update(stages=["plan"], entry={"plan": 1.0}, edges=[], agents=[by["plan_api"], by["plan_llama"]])
        d["slo"]["slo_target_latency"] = 9.0
    elif name in ("diamond4", "diamond4_total"):
        s = [copy.deepcopy(by["act_api"]), copy.deepcopy(by["act_llama"])]
        for a in s:
            a["name"], a["stage"] = a["name"].replace("act", "search"), "search"
            a["base_latency"] *= 0.5
        d["stages"] = ["plan", "act", "search", "verify"]
        d["edges"] = [{"from": "plan", "to": "act", "prob": 0.6}, {"from": "plan", "to": "search", "prob": 0.4},
                      {"from": "act", "to": "verify", "prob": 0.0}, {"from": "act", "to": "end", "prob": 1.0},
                      {"from": "search", "to": "verify", "prob": 1.0}]
        d["agents"] = d["agents"] + s
        d["slo"]["slo_target_latency"] = 24.0
        if name == "diamond4_total":            # a stage called 'total'
            d["stages"][2] = "total"
            for e in d["edges"]:
                e.update({k: "total" for k in ("from", "to") if e[k] == "search"})
            for a in s:
                a["stage"] = "total"
    elif name == "api_only":
        for a in d["agents"]:
            if a["kind"] == "self_hosted":
                a.update(kind="api", capacity=500, unit_cost=0.001)
                del a["invest_price"], a["depreciation"]
    elif name == "self_hosted_only":
        d["agents"] = [a for a in d["agents"] if a["kind"] == "self_hosted"]
    elif name.startswith("lam_"):
        lam = float(name[4:])
        d["demand"]["mean"] = lam
        for a in d["agents"]:
            if a["kind"] == "api":
                a["capacity"] *= lam / 330
    return d


@pytest.mark.parametrize("name", ["default", "one_self_hosted", "one_stage", "diamond4", "api_only",
                                  "self_hosted_only", "lam_0.001", "lam_10000000", "diamond4_total"])
def test_steady_state_matches_reference(base, name):
    raw = _variant(base, name)
    ref = reference_steady_state(raw)
    d = builder.build(raw)
    for k, v in ref.items():
        assert d["steady_state"][k] == pytest.approx(v, rel=1e-10, abs=1e-300), (name, k)
    # and every emitted equation holds there (evaluated by the builder's own string evaluator)
    scale = 1.0 + max(abs(x) for x in d["steady_state"].values())
    assert np.max(np.abs(builder.residuals(d))) < 1e-12 * scale, name


def test_stage_named_total(base):
    """A stage called 'total' wrote its visit ratio v_total over the parameter v_total = Σ_s v_s, so the
    quality equation divided by 0.4 instead of 2.0: residual 4.9 at the steady state."""
    d = builder.build(_variant(base, "diamond4_total"))
    assert d["parameters"]["v_total"] == pytest.approx(0.4)          # the stage's visit ratio
    assert np.max(np.abs(builder.residuals(d))) < 1e-12


def test_generated_name_clash_names_the_agents(base):
    raw = _variant(base, "one_stage")
    raw["agents"][0]["name"], raw["agents"][1]["name"] = "tau", "share"
    with pytest.raises(EconomyError, match=r"'tau_share'.*agent 'tau'.*agent 'share'"):
        builder.build(raw)


def test_slo_that_cannot_bind_is_named(base):
    """One API agent: latency τ(1 + kρ/(1−ρ)) with ρ = λ/K̄ whatever the latency price; a W* above it
    used to fail with 'the latency price could not be bracketed'."""
    raw = _variant(base, "one_stage")
    raw["agents"] = raw["agents"][:1]
    a = raw["agents"][0]
    rho = raw["demand"]["mean"] / a["capacity"]
    W = a["base_latency"] * (1 + a["kingman"] * rho / (1 - rho))
    raw["slo"]["slo_target_latency"] = W + 2.0
    with pytest.raises(EconomyError, match=rf"does not bind.*at most {W:.4g} s.*only API agents"):
        calibration.steady_state(raw)
    raw["slo"]["slo_target_latency"] = W - 2.0     # below: infeasible, already a named error
    with pytest.raises(EconomyError, match="SLO unreachable"):
        calibration.steady_state(raw)


def test_starved_agent_names_routing_beta(base):
    """A near-hard logit (routing.beta = 5e4) starves verify_api; the error blamed the SLO only ('raise
    slo_target_latency') and at beta = 1e6 said 'non-positive steady-state flow 0'. It must name beta and
    the logit gap, which by the logit formula is log(π_best/π_a) ≈ −log π_a."""
    import re
    raw = copy.deepcopy(base)
    raw["routing"]["beta"] = 5e4
    with pytest.raises(EconomyError) as ei:
        calibration.steady_state(raw)
    msg = str(ei.value)
    m = re.search(r"'verify_api' \(stage 'verify'\) gets a steady-state routing share of ([0-9.e+-]+): "
                  r"routing\.beta × \(MV of 'verify_llama' − MV of 'verify_api'\) = ([0-9.e+-]+)", msg)
    assert m, msg
    assert float(m.group(2)) == pytest.approx(-math.log(float(m.group(1))), rel=2e-3)
    assert "lower routing.beta" in msg
    raw["routing"]["beta"] = 1e6
    with pytest.raises(EconomyError, match=r"'verify_api'.*share of 0.*lower routing\.beta"):
        calibration.steady_state(raw)


@pytest.mark.parametrize("name", ["diamond4", "api_only"])
def test_static_link(base, name):
    """DESIGN §5.2: the steady state is the static equilibrium of §5.1 on the same calibration (planner
    polished by KKT Newton, an independent solver) also off the default DAG."""
    from dsge_agents.economy.config import to_static_economy
    from dsge_agents.economy.equilibrium import equilibrium
    raw = _variant(base, name)
    ss = calibration.steady_state(raw)
    r = equilibrium(to_static_economy(raw, K=2), method="planner")
    assert r.converged
    np.testing.assert_allclose(r.latency_price, ss.P, rtol=1e-8)
    np.testing.assert_allclose(r.prices, np.tile(ss.price, (2, 1)), rtol=1e-8)
    np.testing.assert_allclose(r.shares, np.tile(ss.share, (2, 1)), rtol=1e-8, atol=1e-12)


def test_free_api_economy(base):
    """API agents only, all with unit_cost 0 (e.g. internal endpoints): cost ≡ 0, so the rule's cost gap
    log(C/C̄) was log(0/0) and every command failed with 'the analytic steady state makes an equation
    undefined (ZeroDivisionError)'."""
    raw = _variant(base, "api_only")
    for a in raw["agents"]:
        a["unit_cost"] = 0.0
        for k in ("tokens_in", "tokens_out", "price_in", "price_out"):
            a.pop(k, None)
    ref = reference_steady_state(raw)
    assert ref["cost"] == 0.0
    d = builder.build(raw)
    for k, v in ref.items():
        assert d["steady_state"][k] == pytest.approx(v, rel=1e-10, abs=1e-300), k
    assert np.max(np.abs(builder.residuals(d))) < 1e-12
    assert "cost" not in d["equations"][d["policy_rule"]["equation"]]["equation"]
    assert d["policy_rule"]["parameters"] == ["slo_rho", "slo_phi_latency"]     # φ_C would do nothing
    raw["slo"]["slo_phi_cost"] = 0.5
    with pytest.raises(EconomyError, match="slo_phi_cost.*identically zero"):
        builder.build(raw)


@pytest.mark.slow       # one model compile (~15 s on a cold cache)
def test_free_api_economy_solves(base):
    from dsge_agents.linear import solve
    raw = _variant(base, "api_only")
    for a in raw["agents"]:
        a["unit_cost"] = 0.0
        for k in ("tokens_in", "tokens_out", "price_in", "price_out"):
            a.pop(k, None)
    assert solve(builder.build_model(raw)).bk["determinate"]


def test_load_model_overrides_rebuild_the_economy(base, models_dir):
    """api.load_model(economy, slo_target_latency=W) swapped the parameter only: slo_rate_bar stayed at the
    old target's P̄ and solve() failed with 'the analytic steady state does not solve the model'."""
    import dsge_agents.api as da
    raw = copy.deepcopy(base)
    raw["slo"]["slo_target_latency"] = 27.0
    ref = reference_steady_state(raw)
    for src in (models_dir / "orchestrated_default.yaml", base):
        m = da.load_model(src, slo_target_latency=27.0, omega=0.7)
        assert m.parameters["slo_rate_bar"] == pytest.approx(ref["slo_rate"], rel=1e-10)
        assert m.parameters["slo_cost_bar"] == pytest.approx(ref["cost"], rel=1e-10)
        assert m.parameters["omega"] == 0.7
        with pytest.raises(DSGEError, match="theta.*steady state"):   # PolicyError (file) or EconomyError (dict)
            da.load_model(src, theta=0.02)
