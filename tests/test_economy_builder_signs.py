"""Structural signs of DESIGN §5.2 across routing smoothing ω, rule forms, retry strength ξ and calibrations.

capacity up → own share up (agents that share a stage), own latency, end-to-end latency and slo_rate down;
demand up → every utilization and latency up on impact, cost up within five periods;
tightening (eps_slo) → slo_rate up, latency down and net value down within five periods.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from dsge_agents.economy import builder

linear = pytest.importorskip("dsge_agents.linear")

VARIANTS = ["orch_integral_retry", "orch_expected_omega", "orch_one_agent", "orch_diamond4"]


def _check_signs(model, agents, label):
    sol = linear.solve(model)
    shocks, arr = sol.irf_array(10)
    vi = {v: i for i, v in enumerate(sol.declared)}
    si = {s: j for j, s in enumerate(shocks)}

    def p(s, v):
        return arr[si[s], :, vi[v]]
    for a in agents:
        n, s = a["name"], f"eps_capacity_{a['name']}"
        if s not in si:
            continue
        if sum(b["stage"] == a["stage"] for b in agents) > 1:
            assert p(s, f"{n}_share")[0] > 0, (label, n)
        assert p(s, f"{n}_latency")[0] < 0, (label, n)
        assert p(s, "latency")[0] < 0, (label, n)
        assert p(s, "slo_rate")[0] < 0, (label, n)
    for a in agents:
        assert p("eps_demand", f"{a['name']}_util")[0] > 0, (label, a["name"])
    assert p("eps_demand", "latency")[0] > 0, label
    assert np.any(p("eps_demand", "cost")[:5] > 0), label
    assert p("eps_slo", "slo_rate")[0] > 0, label
    assert np.any(p("eps_slo", "latency")[:5] < 0), label
    assert np.any(p("eps_slo", "net_value")[:5] < 0), label


@pytest.mark.parametrize("name", VARIANTS)
def test_signs_variants(repo, name):
    path = repo / "tests" / "data" / "dynare" / "orchestrated_variants" / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    _check_signs(builder.build_model(raw), raw["agents"], name)


@pytest.mark.slow       # one model compile per rule form (~15 s each on a cold cache)
@pytest.mark.parametrize("form, phi", [("current", 2.0), ("integral", 0.3), ("expected", 5.0)])
def test_signs_rule_forms_omega_retry(models_dir, form, phi):
    raw = yaml.safe_load((models_dir / "orchestrated_default.yaml").read_text(encoding="utf-8"))
    raw["slo"].update(form=form, slo_phi_latency=phi)
    m = builder.build_model(raw)
    for omega in (0.0, 0.9):
        for xi in (0.0, 1.0):
            for psi in (0.5, 20.0):
                _check_signs(m.with_parameters(omega=omega, retry_xi=xi, psi=psi), raw["agents"],
                             (form, omega, xi, psi))


@pytest.mark.slow       # a new steady state means a new compile (~15 s each)
@pytest.mark.parametrize("change", ["beta=100", "W*=20", "W*=60", "theta=0.05"])
def test_signs_calibrations(models_dir, change):
    raw = yaml.safe_load((models_dir / "orchestrated_default.yaml").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    key, val = change.split("=")
    {"beta": lambda: raw["routing"].update(beta=float(val)),
     "W*": lambda: raw["slo"].update(slo_target_latency=float(val)),
     "theta": lambda: raw["routing"].update(theta=float(val))}[key]()
    _check_signs(builder.build_model(raw), raw["agents"], change)
