"""Determinacy facts of DESIGN §5.2 at their boundaries, with the elasticities computed here.

One self-hosted agent at one stage has a closed form: W = τ(1 + k x), x = ρ/(1−ρ) = √(u/(P τ k)), so
P̄ = u/(τ k x̄²) with x̄ = (W*/τ − 1)/k and ε_LR = −d log W/d log P = (k x̄/2)/(1 + k x̄). On impact the
capacity K_{t−1} is given and there is no other route: ε_SR = 0.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from dsge_agents.economy import builder
from dsge_agents.errors import SolutionError

linear = pytest.importorskip("dsge_agents.linear")


@pytest.fixture(scope="module")
def raw(repo):
    p = repo / "tests" / "data" / "dynare" / "orchestrated_variants" / "orch_one_agent.yaml"
    return yaml.safe_load(p.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def closed_form(raw):
    a = raw["agents"][0]
    tau, k, W = a["base_latency"], a["kingman"], raw["slo"]["slo_target_latency"]
    u = a["invest_price"] * (1 / raw["capital"]["discount"] - 1 + a["depreciation"])
    x = (W / tau - 1) / k
    return {"P": u / (tau * k * x * x), "eps_LR": (k * x / 2) / (1 + k * x)}


def _model(raw, form):
    r = copy.deepcopy(raw)
    r["slo"]["form"] = form
    return builder.build_model(r)


def _determinate(m, **p):
    try:
        linear.solve(m.with_parameters(**p))
        return True
    except SolutionError:
        return False


def test_elasticities_closed_form(raw, closed_form):
    e = builder.latency_elasticities(raw)
    assert e["slo_rate_bar"] == pytest.approx(closed_form["P"], rel=1e-12)
    assert e["eps_LR"] == pytest.approx(closed_form["eps_LR"], rel=1e-8)
    assert e["current_rule_threshold"] == pytest.approx(-1 / closed_form["eps_LR"], rel=1e-8)
    # ε_SR = 0: no expected-rule threshold (was 1/(−2e-11) = −4.5e10, a negative 'threshold')
    assert abs(e["eps_SR"]) < 1e-8
    assert e["expected_rule_threshold"] == math.inf


def test_current_rule_boundary(raw, closed_form):
    """Determinate for every φ_W > −1/ε_LR, whatever ρ_P < 1; not below (no 'φ > 1' principle)."""
    m = _model(raw, "current")
    th = -1 / closed_form["eps_LR"]
    for rho in (0.0, 0.5, 0.9):
        assert _determinate(m, slo_phi_latency=th + 0.02, slo_rho=rho)
        assert not _determinate(m, slo_phi_latency=th - 0.02, slo_rho=rho)
    for phi in (0.0, 0.5, 50.0):
        assert _determinate(m, slo_phi_latency=phi, slo_rho=0.5)


def test_integral_rule_iff_positive(raw):
    m = _model(raw, "integral")
    for phi in (0.02, 1.0, 20.0):
        assert _determinate(m, slo_phi_latency=phi)
    for phi in (-0.02, -1.0):
        assert not _determinate(m, slo_phi_latency=phi)


def test_expected_rule_without_impact_response(raw, closed_form):
    """With ε_SR = 0 the expected-latency rule has no upper threshold; below −1/ε_LR it fails as the
    current rule does."""
    m = _model(raw, "expected")
    for phi in (1.0, 100.0, 1000.0):
        assert _determinate(m, slo_phi_latency=phi, slo_rho=0.0)
    assert not _determinate(m, slo_phi_latency=-1 / closed_form["eps_LR"] - 0.02, slo_rho=0.0)


def test_retry_storm_matches_dynare(repo):
    """Strong retry feedback with sluggish routing (ξ = 2, ω = 0.9): the demand–latency loop is explosive
    for some current-rule coefficients, so 'determinate for every φ_W > −1/ε_LR' needs a damped retry loop
    (docs/orchestrated_economy.md §6). Dynare 5.3's BK counts: tests/data/dynare/orchestrated_storm.sh."""
    import json
    ref = json.loads((repo / "tests" / "data" / "dynare" / "orchestrated_storm.json").read_text())
    raw = yaml.safe_load((repo / "models" / "orchestrated_default.yaml").read_text(encoding="utf-8"))
    raw["demand"]["retry_feedback"], raw["routing"]["omega"] = ref["retry_xi"], ref["omega"]
    m = builder.build_model(raw)
    assert -1 / builder.latency_elasticities(raw)["eps_LR"] < 0
    for phi, info, n_expl, n_fwd in zip(ref["slo_phi_latency"], ref["info"], ref["n_explosive"], ref["n_forward"]):
        try:
            linear.solve(m.with_parameters(slo_phi_latency=phi, slo_rho=ref["slo_rho"]))
            assert info == 0, phi
        except SolutionError as e:
            assert info == 3 and e.n_explosive - e.n_forward == n_expl - n_fwd > 0, phi
    assert ref["info"] == [0, 3, 3, 0]


def test_short_run_elasticity_independent(models_dir):
    """ε_SR with ω = 0 on the default economy: on impact the self-hosted capacities are fixed at their
    steady state, so every agent is a rate-limited queue; the logit shares solve
    log π_b − log π_r = β(MV_b − MV_r), Σπ = 1 (MINPACK here), and ε_SR = −d log W/d log P."""
    import numpy as np
    from scipy import optimize

    from dsge_agents.economy import calibration
    raw = yaml.safe_load((models_dir / "orchestrated_default.yaml").read_text(encoding="utf-8"))
    raw["routing"]["omega"] = 0.0
    ss = calibration.steady_state(raw)
    lam, beta, theta = raw["demand"]["mean"], raw["routing"]["beta"], raw["routing"]["theta"]
    visits = {"plan": 1.0, "act": 1.0, "verify": 0.7}
    cap = {a["name"]: (a["capacity"] if a["kind"] == "api" else float(ss.capacity[i]))
           for i, a in enumerate(raw["agents"])}

    def kappa(a):
        return a.get("unit_cost", (a.get("tokens_in", 0) * a.get("price_in", 0)
                                   + a.get("tokens_out", 0) * a.get("price_out", 0)) / 1e6)

    def W(P):
        tot = 0.0
        for s, v in visits.items():
            A = [a for a in raw["agents"] if a["stage"] == s]

            def F(z):
                pi = np.exp(np.minimum(z, 0.0))
                r = [lam * v * p / cap[a["name"]] for a, p in zip(A, pi)]
                m = [theta * a["quality"] - kappa(a)
                     - P * a["base_latency"] * (1 + a["kingman"] * ((1 - x) ** -2 - 1)) for a, x in zip(A, r)]
                return np.array([z[i] - z[0] - beta * (m[i] - m[0]) for i in range(1, len(A))] + [np.sum(pi) - 1])
            z = optimize.root(F, np.full(len(A), -np.log(len(A))), method="hybr", options={"xtol": 1e-14}).x
            pi = np.exp(z)
            r = [lam * v * p / cap[a["name"]] for a, p in zip(A, pi)]
            tot += v * sum(p * a["base_latency"] * (1 + a["kingman"] * x / (1 - x)) for a, p, x in zip(A, pi, r))
        return tot
    h = 1e-4
    assert W(ss.P) == pytest.approx(raw["slo"]["slo_target_latency"], rel=1e-10)
    eps_sr = -(math.log(W(ss.P * math.exp(h))) - math.log(W(ss.P * math.exp(-h)))) / (2 * h)
    e = builder.latency_elasticities(raw)
    assert e["eps_SR"] == pytest.approx(eps_sr, rel=1e-6)
    assert e["expected_rule_threshold"] == pytest.approx(1 / eps_sr, rel=1e-6)


def test_integral_rule_at_zero_has_no_moments(raw):
    """φ_W = 0 in the integral rule: log P_t = log P_{t−1} + z_t is a random walk. Blanchard-Kahn (and
    Dynare, qz_criterium 1 + 1e-6) count the unit root as stable, but the price and everything it feeds
    have no unconditional moments. moments() returned NaN for every variable (the Lyapunov doubling
    overflowed to NaN and the NaN passed its convergence test); now, as Dynare 5.3 does for models with
    unit roots (test_linear_stoch_simul_dynare.py, the qa_ur comparison), the stationary variables keep
    their moments and the others are NaN."""
    sol = linear.solve(_model(raw, "integral").with_parameters(slo_phi_latency=0.0))
    assert sol.bk["determinate"]
    std = sol.moments()["std"]
    for v in ("slo_rate", "latency", "cost"):       # driven by the random-walk price
        assert np.isnan(std[v]), v
    # the exogenous AR(1) processes are untouched by the price: their std is finite and positive
    assert np.isfinite(std["z_demand"]) and std["z_demand"] > 0
    assert np.isfinite(linear.solve(_model(raw, "integral").with_parameters(slo_phi_latency=0.5))
                       .moments()["std"]["slo_rate"])


def test_whatif_nonstationary_scenario_fails(repo):
    """The same random-walk price in a what-if scenario was reported with status 'ok' and NaN statistics
    (the policy layer's own doubling also let NaN through); it must be a failed scenario naming the reason,
    while the other scenarios keep their numbers."""
    from dsge_agents.policy import whatif
    path = repo / "tests" / "data" / "dynare" / "orchestrated_variants" / "orch_one_agent.yaml"   # form: current
    w = whatif(builder.build_model(path), {"rw": {"form": "integral", "slo_phi_latency": 0.0},
                                           "tight": {"slo_phi_latency": 4.0}})
    assert "rw" in w.errors and "not stable" in w.errors["rw"]
    t = w.table()
    assert t.loc["rw", "status"] == "failed"
    assert t.loc["tight", "status"] == "ok" and np.isfinite(t.loc["tight", "std_latency"])
