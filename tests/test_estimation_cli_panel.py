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


def test_loglik_window_equals_a_panel_cut_to_that_window(model, tmp_path, capsys):
    """`loglik --data PANEL` used every period of the panel: a panel whose last minutes have no
    requests (a zero denominator, a log of 0) could not be used at all from the command line, and the
    partial first / last minutes could not be left out. --window START END selects the periods; checked
    against the same panel cut to those periods in pandas before it is written."""
    import pandas as pd
    from dsge_agents.cli.main import main
    sol = model.solve()
    sim = sol.simulate(40, seed=5)
    ss = sol.steady_state[sim.columns]
    sim = ss + 0.2 * (sim - ss)
    sim.index = pd.date_range("2026-01-01", periods=len(sim), freq="1min", tz="UTC")
    panel = _panel(sim)
    # the last two minutes without any request: every arrival count 0
    late = panel["period"] >= sim.index[-2]
    panel.loc[late & (panel["metric"] == "arrivals"), "value"] = 0.0
    full, cut = tmp_path / "full.parquet", tmp_path / "cut.parquet"
    panel.to_parquet(full, index=False)
    lo, hi = sim.index[1], sim.index[-3]
    panel[(panel["period"] >= lo) & (panel["period"] <= hi)].to_parquet(cut, index=False)

    def ll(argv):
        assert main(argv) == 0
        return float(re.search(r"log-likelihood: (\S+)", capsys.readouterr().out).group(1))
    assert main(["loglik", "--data", str(full)]) == 1                 # the zero minutes are refused
    assert "arrivals" in capsys.readouterr().err                     # named: observable, agent, metric
    expected = ll(["loglik", "--data", str(cut)])
    got = ll(["loglik", "--data", str(full), "--window", lo.strftime("%Y-%m-%dT%H:%M"),
              hi.isoformat()])
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert main(["loglik", "--data", str(full), "--window", "2026-01-01T00:10", "2026-01-01T00:05"]) == 1
    assert "before START" in capsys.readouterr().err
