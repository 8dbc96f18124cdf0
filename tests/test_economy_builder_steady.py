"""Builder of the orchestrated economy: steady state, static-equilibrium link, validation errors.

No DSGE engine needed except where stated; the steady-state residuals are evaluated by the builder's own
evaluator (independent of dsge_agents.model) and the static equilibrium by dsge_agents.economy.equilibrium.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from dsge_agents.economy import builder, calibration
from dsge_agents.economy.config import load_config
from dsge_agents.errors import EconomyError, SLOInfeasibleError


@pytest.fixture(scope="module")
def default_path(models_dir):
    return models_dir / "orchestrated_default.yaml"


@pytest.fixture(scope="module")
def cfg(default_path):
    return load_config(default_path)


@pytest.fixture(scope="module")
def ss(cfg):
    return calibration.steady_state(cfg)


@pytest.fixture()
def raw(default_path):
    return yaml.safe_load(default_path.read_text())


def test_package_copy_identical(repo, default_path):
    assert (repo / "dsge_agents" / "models" / "orchestrated_default.yaml").read_bytes() == default_path.read_bytes()


def test_visit_ratios(cfg):
    assert cfg.visit_ratios == pytest.approx({"plan": 1.0, "act": 1.0, "verify": 0.7})


def test_emitted_residuals_zero(cfg, ss):
    d = builder.build(cfg, ss)
    assert len(d["variables"]) == len(d["equations"])
    r = builder.residuals(d)
    scale = np.array([1.0 + abs(x) for x in d["steady_state"].values()]).max()
    assert np.max(np.abs(r)) < 1e-12 * scale
    # the evaluator can fail: perturb one value
    bad = dict(d["steady_state"])
    bad["act_llama_util"] *= 1.01
    assert np.max(np.abs(builder.residuals(d, bad))) > 1e-4


def test_required_names(cfg):
    d = builder.build(cfg)
    for v in ["demand", "latency", "cost", "quality", "net_value", "slo_rate"]:
        assert v in d["variables"]
    for a in cfg.agent_names:
        for suf in ["share", "util", "latency", "capacity", "provisioned", "invest"]:
            assert f"{a}_{suf}" in d["variables"]
        assert f"eps_capacity_{a}" in d["shocks"] and f"eps_cost_{a}" in d["shocks"]
    assert "eps_demand" in d["shocks"] and "eps_slo" in d["shocks"]
    for p in ["slo_rho", "slo_phi_latency", "slo_phi_cost", "slo_target_latency"]:
        assert p in d["parameters"]
    pr = d["policy_rule"]
    assert d["equations"][pr["equation"]]["name"] == "slo_rule"
    assert pr["parameters"] == ["slo_rho", "slo_phi_latency", "slo_phi_cost"]
    assert d["options"]["loglinear"] is False


def test_pbar_solves_slo(cfg, ss):
    # W(P̄) = W*, recomputed from the agent-level steady state
    W = float(np.sum(ss.visits * ss.share * ss.agent_latency))
    assert W == pytest.approx(cfg.slo.slo_target_latency, rel=1e-12)
    # closed form of self-hosted utilization at P̄
    for i, a in enumerate(cfg.agents):
        if a.self_hosted:
            u = a.invest_price * (1 / cfg.discount - 1 + a.depreciation)
            x = math.sqrt(u / (ss.P * a.base_latency * a.kingman))
            assert ss.util[i] == pytest.approx(x / (1 + x), rel=1e-13)
            assert ss.invest[i] == pytest.approx(a.depreciation * ss.provisioned[i], rel=1e-13)
        else:
            assert ss.util[i] == pytest.approx(ss.served[i] / a.capacity, rel=1e-12)
    # logit shares: log(π_a/π_b) = β(MV_a − MV_b) within each stage
    for s in cfg.stages:
        idx = [i for i, a in enumerate(cfg.agents) if a.stage == s]
        assert sum(ss.share[idx]) == pytest.approx(1.0, abs=1e-14)
        i, j = idx[:2]
        assert math.log(ss.share[i] / ss.share[j]) == pytest.approx(
            cfg.beta * (ss.marginal_value[i] - ss.marginal_value[j]), abs=1e-9)
    # W is decreasing in P, so a 1 % higher P gives a lower latency (P̄ is the unique root)
    arr = calibration._arrays_with_value(cfg, calibration.agent_arrays(cfg))
    assert calibration._long_run(cfg, arr, ss.P * 1.01, ss.demand)[2] < cfg.slo.slo_target_latency


def test_cbar_is_steady_state_cost(cfg, ss):
    d = builder.build(cfg, ss)
    cost = ss.spend + sum(a.invest_price * ss.invest[i] for i, a in enumerate(cfg.agents) if a.self_hosted)
    assert d["parameters"]["slo_cost_bar"] == pytest.approx(cost, rel=1e-14)
    assert d["steady_state"]["cost"] == pytest.approx(cost, rel=1e-14)
    spend = sum(a.unit_cost * ss.served[i] for i, a in enumerate(cfg.agents))
    assert ss.spend == pytest.approx(spend, rel=1e-14)


def test_rule_coefficients_do_not_move_steady_state(cfg):
    base = builder.build(cfg)
    for form in ("current", "expected", "integral"):
        c2 = copy.deepcopy(cfg)
        c2.slo.form = form
        c2.slo.slo_rho, c2.slo.slo_phi_latency, c2.slo.slo_phi_cost = 0.9, 7.5, -0.5
        c2.omega, c2.adjustment_cost, c2.retry_feedback = 0.1, 20.0, 1.5
        d = builder.build(c2)
        assert d["steady_state"] == base["steady_state"]
        assert d["parameters"]["slo_rate_bar"] == base["parameters"]["slo_rate_bar"]
        assert np.max(np.abs(builder.residuals(d))) < 1e-11
    # a structural change does move it (the test can fail)
    c3 = copy.deepcopy(cfg)
    c3.slo.slo_target_latency = 28.0
    assert builder.build(c3)["parameters"]["slo_rate_bar"] > base["parameters"]["slo_rate_bar"]


def test_steady_state_is_static_equilibrium(cfg, ss):
    """DSGE steady state = static equilibrium of DESIGN §5.1 with constant paths (prices, allocations 1e-8)."""
    from dsge_agents.economy.config import to_static_economy
    from dsge_agents.economy.equilibrium import equilibrium
    eco = to_static_economy(cfg, K=2)
    # zero excess demand at the DSGE steady-state prices
    p = np.tile(ss.price, (2, 1))
    pl = np.full(2, ss.P)
    ed = eco.excess_demand(p, pl)
    assert eco.relative_excess_demand(ed) < 1e-12
    # the planner (conic + KKT Newton polish) equilibrium equals the steady state
    r = equilibrium(eco, method="planner")
    assert r.converged
    np.testing.assert_allclose(r.latency_price, ss.P, rtol=1e-8)
    np.testing.assert_allclose(r.prices, np.tile(ss.price, (2, 1)), rtol=1e-8)
    np.testing.assert_allclose(r.supply, np.tile(ss.served, (2, 1)), rtol=1e-8)
    np.testing.assert_allclose(r.shares, np.tile(ss.share, (2, 1)), rtol=1e-8)


def test_elasticities(cfg, ss):
    e = builder.latency_elasticities(cfg)
    assert e["eps_LR"] > e["eps_SR"] > 0
    assert e["current_rule_threshold"] == pytest.approx(-1 / e["eps_LR"])
    # independent finite difference of the long-run map with a different step
    arr = calibration._arrays_with_value(cfg, calibration.agent_arrays(cfg))
    h = 1e-3
    Wu = calibration._long_run(cfg, arr, ss.P * math.exp(h), ss.demand)[2]
    Wd = calibration._long_run(cfg, arr, ss.P * math.exp(-h), ss.demand)[2]
    assert -(math.log(Wu) - math.log(Wd)) / (2 * h) == pytest.approx(e["eps_LR"], rel=1e-5)


# ------------------------------------------------------------------------------------- bad input
def _load(raw):
    return load_config(raw, source="bad.yaml")


def test_cyclic_dag(raw):
    raw["edges"].append({"from": "verify", "to": "plan", "prob": 1.0})
    with pytest.raises(EconomyError, match=r"cycle: .*plan.*act.*verify"):
        _load(raw)


def test_agent_without_stage(raw):
    del raw["agents"][2]["stage"]
    with pytest.raises(EconomyError, match="act_api.*attached to no stage"):
        _load(raw)
    raw["agents"][2]["stage"] = "review"
    with pytest.raises(EconomyError, match="act_api.*'review' is not a declared stage"):
        _load(raw)


def test_branch_probabilities(raw):
    raw["edges"][1]["prob"] = 0.6
    with pytest.raises(EconomyError, match=r"out of stage 'act' sum to 0\.9.*add an edge"):
        _load(raw)


def test_slo_unreachable(raw):
    raw["slo"]["slo_target_latency"] = 8.0
    with pytest.raises(SLOInfeasibleError, match="no-load latency"):
        calibration.steady_state(_load(raw))
    raw["slo"]["slo_target_latency"] = 12.0   # above no-load, below what rate limits allow
    with pytest.raises(SLOInfeasibleError, match="SLO unreachable"):
        calibration.steady_state(_load(raw))


def test_utilization_at_least_one(raw):
    raw["agents"] = [a for a in raw["agents"] if a["name"] != "verify_llama"]
    for a in raw["agents"]:
        if a["name"] == "verify_api":
            a["capacity"] = 200.0          # stage demand 231 req/min
    with pytest.raises(EconomyError, match=r"stage 'verify'.*verify_api.*sum to 0\.86.*utilization ≥ 1"):
        calibration.steady_state(_load(raw))


def test_negative_flows_rejected(raw):
    raw["demand"]["mean"] = -5
    with pytest.raises(EconomyError, match="demand.*'mean'"):
        _load(raw)
    raw["demand"]["mean"] = 330
    raw["edges"][1]["prob"] = -0.1
    with pytest.raises(EconomyError, match="prob"):
        _load(raw)


def test_slo_not_binding(raw):
    raw["eta"] = 1.0
    with pytest.raises(EconomyError, match="does not bind"):
        calibration.steady_state(_load(raw))


def test_estimation_and_observables_pass_through(raw):
    raw["estimation"] = {"priors": {"omega": {"prior": "beta", "mean": 0.5, "std": 0.2}}}
    raw["observables"] = ["latency", "cost"]
    d = builder.build(_load(raw))
    assert d["estimation"]["priors"]["omega"]["mean"] == 0.5
    assert d["observables"] == ["latency", "cost"]


def test_synthetic_configs_feasible():
    for top in ("chain", "star"):
        cfg = builder.synthetic_config(40, top)
        ss = calibration.steady_state(cfg)
        assert ss.P == pytest.approx(1e-4, rel=1e-9)        # W* was set to W(1e-4)
        assert np.max(np.abs(builder.residuals(builder.build(cfg, ss)))) < 1e-9
    with pytest.raises(EconomyError, match="even number"):
        builder.synthetic_config(7)
