"""Policy tools on the default orchestrated economy (issue 6 acceptance, DESIGN §5.2).

Determinacy boundaries follow from the steady state through the latency
elasticities ε_LR / ε_SR, computed from the model's configuration by
``dsge_agents.economy.builder.latency_elasticities`` (closed-form maps, not the
dynamic model): the current-latency rule is determinate for every φ_W above
−1/ε_LR; the integral rule exactly when φ_W > 0; the expected-latency rule turns
indeterminate at 1/ε_SR when the rule is not smoothed and routing adjusts at
once (ρ_P = ω = 0), and somewhat above it with routing inertia.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dsge_agents.api import default_model
from dsge_agents.economy import builder
from dsge_agents.economy.calibration import steady_state
from dsge_agents.policy import (SLORule, apply_changes, classify, determinacy_map, optimal_rule, transition,
                                whatif)
from dsge_agents.policy.osr import osr_loss, parse_loss
from dsge_agents.policy.rules import economy_config


@pytest.fixture(scope="module")
def econ():
    m = default_model()
    if m.name != "orchestrated_default":
        pytest.skip("default economy not available")
    return m


@pytest.fixture(scope="module")
def cfg(econ):
    return economy_config(econ)


@pytest.fixture(scope="module")
def elasticities(cfg):
    return builder.latency_elasticities(cfg)


def test_current_rule_boundary_is_minus_one_over_eps_lr(econ, elasticities):
    thr = -1.0 / elasticities["eps_LR"]
    assert thr == pytest.approx(elasticities["current_rule_threshold"])
    grid = np.concatenate([np.linspace(thr - 4.5, thr + 29.5, 35), [thr * 1.01, thr * 0.99]])
    dm = determinacy_map(econ, {"slo_phi_latency": grid})
    f = dm.frame
    above = f["slo_phi_latency"] > thr
    assert (f.loc[above, "status"] == "determinate").all()
    assert (f.loc[~above, "status"] != "determinate").all()
    b = dm.boundaries()
    assert len(b) == 1 and b["lower"].iloc[0] < thr < b["upper"].iloc[0]
    assert b["upper"].iloc[0] - b["lower"].iloc[0] < 0.03 * abs(thr)


def test_integral_rule_determinate_iff_positive(econ):
    mi = apply_changes(econ, {"form": "integral"})
    assert mi.policy_rule["form"] == "integral"
    dm = determinacy_map(mi, {"slo_phi_latency": [-0.5, -0.05, -1e-3, 1e-3, 0.05, 0.5, 2.0, 10.0]})
    st = dict(zip(dm.frame["slo_phi_latency"], dm.frame["status"]))
    assert all((s == "determinate") == (phi > 0) for phi, s in st.items())


def test_expected_rule_turns_indeterminate_near_one_over_eps_sr(econ, cfg):
    me = apply_changes(econ, {"form": "expected"})
    # no smoothing, no routing inertia: the boundary is 1/ε_SR exactly (one-percent steps either side)
    el0 = builder.latency_elasticities(cfg.copy(omega=0.0))
    thr0 = 1.0 / el0["eps_SR"]
    m0 = me.with_parameters(slo_rho=0.0, omega=0.0)
    assert classify(m0, {"slo_phi_latency": 0.99 * thr0}).status == "determinate"
    assert classify(m0, {"slo_phi_latency": 1.01 * thr0}).status == "indeterminate"
    # calibrated inertia (ω = 0.5): determinate up to 1/ε_SR, indeterminate by (1 + ω)·2/ε_SR
    el = builder.latency_elasticities(cfg)
    thr = 1.0 / el["eps_SR"]
    m1 = me.with_parameters(slo_rho=0.0)
    assert classify(m1, {"slo_phi_latency": 0.99 * thr}).status == "determinate"
    assert classify(m1, {"slo_phi_latency": 3.0 * thr}).status == "indeterminate"


def test_whatif_three_slo_rules(econ):
    cmp = whatif(econ, {"smoothed": SLORule(rho=0.9),
                        "integral": SLORule(form="integral", phi_latency=0.5),
                        "cost-aware": SLORule(phi_cost=-1.0)}, periods=20)
    t = cmp.table()
    assert list(t.index) == ["baseline", "smoothed", "integral", "cost-aware"]
    assert (t["status"] == "ok").all()
    for col in ("std_latency", "std_cost", "std_quality"):
        assert col in t.columns and (t[col] > 0).all()
    assert any(c.endswith("_util") for c in cmp.report_variables)
    # welfare = NV̄ (1 − ½ Var(NV)/NV̄²): rule coefficients leave the steady state unchanged
    nv = float(cmp.steady_states["baseline"]["net_value"])
    for s in cmp.scenarios:
        var = float(cmp.covariances[s].loc["net_value", "net_value"])
        assert t.loc[s, "welfare"] == pytest.approx(nv - 0.5 * var / abs(nv), rel=1e-12)
    # smoothing the latency price makes latency more volatile (slower response)
    assert t.loc["smoothed", "std_latency"] > t.loc["baseline", "std_latency"]


def test_optimal_rule_beats_baseline_and_is_a_local_minimum(econ):
    loss = {"latency": 1.0, "slo_rate": 1e10}   # latency variance vs instrument variance
    res = optimal_rule(econ, loss, {"slo_phi_latency": (0.0, 20.0)}, restarts=1)
    assert res.loss < res.baseline_loss
    assert not res.at_bound
    phi = res.params["slo_phi_latency"]
    g = res.gradient()["slo_phi_latency"]
    W, _ = parse_loss(econ, loss)
    curv = (osr_loss(econ, ["slo_phi_latency"], [phi * 1.05], W) + osr_loss(econ, ["slo_phi_latency"], [phi * 0.95], W)
            - 2 * res.loss) / (0.05 * phi) ** 2
    assert curv > 0
    assert abs(g) < 1e-5 * curv * phi              # gradient ≈ 0 relative to curvature
    for d in (-0.01, 0.01):
        assert osr_loss(econ, ["slo_phi_latency"], [phi * (1 + d)], W) > res.loss


def test_slo_target_transition(econ, cfg):
    W0 = econ.parameters["slo_target_latency"]
    big, small = (transition(econ, {"slo_target_latency": W0 - h}, periods=60) for h in (2.0, 1.0))
    ratio = big.max_linearization_error() / small.max_linearization_error()
    assert 3.0 < ratio < 5.0
    # the new steady state is the economy's closed form (DESIGN §5.2) at the new target
    new_cfg = cfg.copy(slo=dataclasses.replace(cfg.slo, slo_target_latency=W0 - 1.0))
    vals = builder.variable_values(steady_state(new_cfg))
    for v, x in vals.items():
        assert small.new_steady_state[v] == pytest.approx(x, rel=1e-9, abs=1e-12)
    assert small.new_steady_state["latency"] == pytest.approx(W0 - 1.0, rel=1e-10)
    # and the perfect-foresight path converges to it
    long = transition(econ, {"slo_target_latency": W0 - 1.0}, periods=400)
    end = long.path("perfect_foresight").iloc[-1]
    for v, x in vals.items():
        assert end[v] == pytest.approx(x, rel=1e-6, abs=1e-9)
    # tightening the SLO: latency falls quickly
    pf = small.path("perfect_foresight")["latency"]
    assert pf.iloc[5] < W0 - 0.5


def test_slo_target_transition_matches_dynare(econ, repo):
    """W* 30 -> 28 s over 80 periods vs Dynare 5.3's perfect_foresight_solver on the exported model
    (tests/data/dynare/orchestrated_pf.sh; agreement ~2e-13 relative to each variable's size)."""
    import json
    ref = json.loads((repo / "tests" / "data" / "dynare" / "orchestrated_default_pf.json").read_text())
    assert econ.parameters["slo_target_latency"] == ref["change"]["slo_target_latency"][0]
    tr = transition(econ, {"slo_target_latency": ref["change"]["slo_target_latency"][1]},
                    periods=ref["periods"])
    E = np.array(ref["endo_simul"], float)
    pf = tr.path("perfect_foresight")
    for j, v in enumerate(ref["variables"]):
        assert tr.old_steady_state[v] == pytest.approx(ref["old_steady_state"][j], rel=1e-11, abs=1e-14)
        assert tr.new_steady_state[v] == pytest.approx(ref["new_steady_state"][j], rel=1e-11, abs=1e-14)
        scale = np.abs(E[j]).max()
        assert np.abs(pf[v].to_numpy() - E[j, :-1]).max() <= 1e-9 * scale, v


def test_whatif_input_errors_raise_instead_of_failed_scenarios(econ):
    """An impossible change is bad input (PolicyError), not a scenario without a solution: an
    unknown form, and a steady-state-moving parameter other than the SLO target, used to appear as
    'failed' rows with exit status 0."""
    from dsge_agents.errors import PolicyError
    with pytest.raises(PolicyError, match="unknown rule form 'weird'"):
        whatif(econ, {"form": "weird"})
    with pytest.raises(PolicyError, match="'theta' move the steady state"):
        whatif(econ, {"a": {"slo_phi_latency": 3.0}, "b": {"theta": 0.02}})
    # a determinacy failure is still a failed scenario
    cmp = whatif(econ, {"slo_phi_latency": -10.0}, periods=2)
    assert cmp.table()["status"].tolist() == ["ok", "failed"]


def test_expected_rule_boundary_matches_dynare_bk_counts(econ, repo):
    """Expected-latency rule, no smoothing: Dynare 5.3's own Blanchard-Kahn verdicts on the exported
    model (tests/data/dynare/orchestrated_determinacy.sh) put the boundary between 12.85 and 12.86;
    the map's counts of explosive roots and forward-looking variables equal Dynare's at every point."""
    import json
    ref = json.loads((repo / "tests" / "data" / "dynare" / "orchestrated_determinacy.json").read_text())
    m = apply_changes(econ, {"form": "expected", "slo_rho": 0.0})
    for phi, info, n_exp, n_fwd in zip(ref["slo_phi_latency"], ref["info"], ref["n_explosive"], ref["n_forward"]):
        c = classify(m, {"slo_phi_latency": phi})
        assert c.status == {0: "determinate", 4: "indeterminate"}[info], phi
        assert (c.n_explosive, c.n_forward) == (n_exp, n_fwd), phi


def test_steady_state_moving_parameters_refused_in_grids(econ):
    from dsge_agents.errors import PolicyError
    with pytest.raises(PolicyError, match="moves the steady state"):
        determinacy_map(econ, {"slo_target_latency": [20.0, 30.0]})
    with pytest.raises(PolicyError, match="moves the steady state"):
        optimal_rule(econ, {"latency": 1.0}, {"slo_target_latency": (10.0, 40.0)})
    with pytest.raises(PolicyError, match="configuration"):
        apply_changes(econ, {"lam_bar": 400.0})
