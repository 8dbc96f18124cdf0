"""`dsge-agents loglik --data PANEL` on the default economy goes through the declared trace mapping."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_estimation_traces_mapping import _panel  # the tidy-panel builder of the mapping tests

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    import dsge_agents as da
    return da.default_model()


def test_loglik_cli_on_a_trace_panel_equals_the_declared_mapping(model, tmp_path):
    from dsge_agents.estimation.traces import likelihood_from_panel
    sol = model.solve()
    sim = sol.simulate(60, seed=3)                       # levels of every variable
    ss = sol.steady_state[sim.columns]
    sim = ss + 0.2 * (sim - ss)                          # small shocks: spend stays positive
    t = __import__("pandas").date_range("2026-01-01", periods=len(sim), freq="1min", tz="UTC")
    sim.index = t
    panel = _panel(sim)
    path = tmp_path / "panel.parquet"
    panel.to_parquet(path, index=False)
    llk = likelihood_from_panel(model, panel, riccati_tol=1e-6)
    expected = llk.evaluate(llk.x_from_params({})).loglik
    assert np.isfinite(expected)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([sys.executable, "-m", "dsge_agents.cli.main", "loglik", "--data", str(path)],
                       cwd=tmp_path, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    got = float(re.search(r"log-likelihood: (\S+)", r.stdout).group(1))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-7)
    # the panel's observables are the declared ones, not the model's raw variables
    assert "act_llama_latency" in r.stdout and "observables" in r.stdout


def test_panel_for_a_model_without_mapping_is_refused(tmp_path):
    import pandas as pd
    path = tmp_path / "panel.csv"
    pd.DataFrame({"period": ["2026-01-01T00:00:00Z"], "agent": ["_all"], "metric": ["arrivals"],
                  "value": [1.0]}).to_csv(path, index=False)
    from dsge_agents.cli.loglik import make_likelihood
    import dsge_agents as da
    from dsge_agents.errors import DSGEError
    with pytest.raises(DSGEError, match="trace panel"):
        make_likelihood(da.load_model("nk3"), str(path))
