"""Counterfactual replay of history with smoothed shocks (issue 6 item 6)."""
from __future__ import annotations

import numpy as np
import pytest

from dsge_agents.errors import PolicyError
from dsge_agents.estimation import LogLikelihood, smooth
from dsge_agents.linear import solve
from dsge_agents.model import load
from dsge_agents.policy.replay import replay
from dsge_agents.policy.rules import TaylorRule


@pytest.fixture(scope="module")
def setup(models_dir):
    m = load(models_dir / "nk3.yaml")
    data = solve(m).simulate(150, seed=11)[["pi", "i"]]
    llk = LogLikelihood(m, data=data, observables=["pi", "i"])
    sm = smooth(llk, llk.x_calibration())
    return m, data, sm


def test_replay_with_estimated_rule_reproduces_observed(setup):
    m, data, sm = setup
    rep = replay(m, sm, {})
    np.testing.assert_allclose(rep.counterfactual_observed.to_numpy(), data.to_numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(rep.observed.to_numpy(), data.to_numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(rep.counterfactual.to_numpy(), rep.baseline.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(rep.baseline.to_numpy(), sm.variables.to_numpy(), atol=1e-10)


def test_alternative_rule_changes_history_and_solves_the_model(setup):
    m, data, sm = setup
    rep = replay(m, sm, TaylorRule(phi_pi=3.0, rho_i=0.0))
    assert np.abs(rep.counterfactual_observed.to_numpy() - data.to_numpy()).max() > 0.1
    # a more aggressive rule stabilises inflation over the same shocks
    assert rep.counterfactual["pi"].std() < rep.baseline["pi"].std()
    # independent check: the counterfactual satisfies the structural equations of the
    # alternative model with rational expectations E_t y_{t+1} = T' y_t
    alt = m.with_parameters(phi_pi=3.0, rho_i=0.0)
    cm = alt.compiled
    th = cm.theta()
    A_lag, A_cur, A_lead, A_u = cm.jacobian(cm.steady_state(th), th)
    T = solve(alt).T
    Y = rep.counterfactual.to_numpy()
    U = sm.shocks.to_numpy()
    prev = np.asarray(sm.initial)
    for t in range(len(Y)):
        r = A_lag @ prev + A_cur @ Y[t] + A_lead @ (T @ Y[t]) + A_u @ U[t]
        assert np.abs(r).max() < 1e-10
        prev = Y[t]
    assert set(rep.tidy()["scenario"]) == {"observed", rep.label}
    assert rep.table().shape[0] == 8
    assert rep.plot(variables=["pi", "i"]).axes


def test_replay_bad_input(setup):
    m, _, sm = setup
    with pytest.raises(PolicyError, match="unknown parameter"):
        replay(m, sm, {"phi_zz": 1.0})


@pytest.mark.slow   # ~2 min: trace simulation + the estimation layer's Numba resolver for a 63-variable model
def test_replay_on_simulated_traces_with_known_outage(repo):
    """Traces from the discrete-event simulator (30 % capacity outage of act_llama, minutes 40-50),
    aggregated per minute, mapped to the default economy's demand and latency, smoothed, replayed."""
    from dsge_agents.api import default_model
    from dsge_agents.traces._economy_adapter import config_from_economy
    from dsge_agents.traces.aggregate import aggregate
    from dsge_agents.traces.simulate import Outage, poisson_arrivals, simulate
    m = default_model()
    if m.name != "orchestrated_default":
        pytest.skip("default economy not available")
    cfg = config_from_economy("orchestrated_default")
    cfg.outages.append(Outage(agent="act_llama", start=40 * 60, end=50 * 60, fraction=0.3))
    sim = simulate(cfg, poisson_arrivals(330 / 60, 330 * 90, seed=1), seed=1)
    panel = aggregate(sim.spans, "1min", engine="pandas")
    lat, dem = panel.series("latency_mean").iloc[1:-1], panel.series("arrivals").iloc[1:-1]
    pre = slice(0, 38)
    ss = m.steady_state()
    # trace units -> model units: relative deviations from the pre-incident mean, at the model's steady state
    data = np.column_stack([ss["demand"] * dem / dem.iloc[pre].mean(), ss["latency"] * lat / lat.iloc[pre].mean()])
    import pandas as pd
    data = pd.DataFrame(data, columns=["demand", "latency"]).reset_index(drop=True)
    assert data["latency"].iloc[41:50].mean() > data["latency"].iloc[pre].mean()     # the outage shows
    llk = LogLikelihood(m, data=data, observables=["demand", "latency"])
    sm = smooth(llk, llk.x_calibration())
    same = replay(m, sm, {})
    np.testing.assert_allclose(same.counterfactual_observed.to_numpy(), data.to_numpy(), atol=1e-10, rtol=0)
    alt = replay(m, sm, {"slo_phi_latency": 6.0, "slo_rho": 0.0})
    assert np.abs(alt.counterfactual_observed["latency"] - data["latency"]).max() > 0.1
    # a stronger latency response dampens the outage's latency spike
    spike = slice(41, 50)
    assert (alt.counterfactual_observed["latency"].iloc[spike].mean()
            < same.counterfactual_observed["latency"].iloc[spike].mean())
