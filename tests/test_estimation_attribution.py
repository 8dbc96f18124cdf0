"""Shock attribution on simulated traces: an injected outage of one agent is attributed to that
agent's capacity shock (largest standardized smoothed shock in the window, negative sign)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def outage_panel(shared_data):
    from dsge_agents.traces._economy_adapter import config_from_economy
    from dsge_agents.traces.aggregate import aggregate
    from dsge_agents.traces.simulate import Outage, simulate
    cfg = config_from_economy("orchestrated_default")
    cfg.outages = [Outage(agent="act_llama", start=1800, end=2400, fraction=0.6)]
    res = simulate(cfg, shared_data / "azure_llm_2023/AzureLLMInferenceTrace_conv.csv", seed=0)
    w = aggregate(res.spans, "1min").wide
    lat = w["latency_mean"].unstack("agent")
    agents = ["plan_api", "plan_llama", "act_api", "act_llama", "verify_api", "verify_llama"]
    df = pd.DataFrame({f"{a}_latency": lat[a] for a in agents})
    df["demand"] = w["arrivals"].unstack("agent")["_all"]
    return df.iloc[1:-1]          # drop the partial first and last minutes


def test_outage_attributed_to_capacity_shock(outage_panel):
    import dsge_agents as da
    from dsge_agents.estimation import LogLikelihood, largest_shocks, smooth
    df = outage_panel
    m = da.default_model()
    obs = list(df.columns)
    llk = LogLikelihood(m, data=df, observables=obs, transform="logdev",
                        measurement_error={o: 0.05 for o in obs})
    x = llk.x_calibration()
    assert np.isfinite(llk(x))
    sm = smooth(llk, x)
    t0 = df.index[0]
    ranking = largest_shocks(sm, np.sqrt(np.diag(llk.shock_cov(x))),
                             start=t0 + pd.Timedelta("29min"), end=t0 + pd.Timedelta("41min"))
    top = ranking.iloc[0]
    assert top.shock == "eps_capacity_act_llama", ranking.head()
    assert top.z_at_max < 0 and top.sum_z < 0          # capacity falls
    by_max = largest_shocks(sm, np.sqrt(np.diag(llk.shock_cov(x))), start=t0 + pd.Timedelta("29min"),
                            end=t0 + pd.Timedelta("41min"), by="max")
    assert by_max.iloc[0].shock == "eps_capacity_act_llama"
    # outside the window the same shock is unremarkable
    before = largest_shocks(sm, np.sqrt(np.diag(llk.shock_cov(x))), end=t0 + pd.Timedelta("25min"))
    row = before.set_index("shock").loc["eps_capacity_act_llama"]
    assert row.max_abs_z < 0.5 * top.max_abs_z
