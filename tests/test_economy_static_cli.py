"""``dsge-agents equilibrium`` (issue 3, item 4)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.cli.main import main


def test_equilibrium_cli_example_json(tmp_path, capsys):
    out = tmp_path / "eq.json"
    rc = main(["equilibrium", "example", "--K", "6", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Walras' law" in text and "first welfare theorem" in text and "second welfare theorem" in text
    d = json.loads(out.read_text())
    for key in ("walras_residual", "converged", "contraction_modulus", "measured_rate", "first_welfare_gap",
                "second_welfare_gap", "excess_demand_norm", "prices", "allocations", "shares"):
        assert key in d, key
    assert d["converged"] is True
    assert d["first_welfare_gap"] <= 1e-8 and d["second_welfare_gap"] <= 1e-8
    assert d["walras_residual"] <= 1e-10 and d["excess_demand_norm"] <= 1e-10
    assert d["measured_rate"] <= d["contraction_modulus"] + 1e-6
    assert np.array(d["prices"]["agents"]).shape == (6, 6)


def test_equilibrium_cli_default_model(tmp_path):
    pytest.importorskip("dsge_agents.economy.config")
    out = tmp_path / "eq.json"
    assert main(["equilibrium", "--method", "newton", "--K", "4", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["converged"] and d["first_welfare_gap"] <= 1e-8


def test_equilibrium_cli_scarf_reports_failure(tmp_path, capsys):
    out = tmp_path / "scarf.json"
    rc = main(["equilibrium", "scarf", "--json", str(out)])
    assert rc == 1
    assert "NOT converged" in capsys.readouterr().out
    d = json.loads(out.read_text())
    assert d["converged"] is False and d["contraction_modulus"] >= 1
    assert main(["equilibrium", "scarf", "--method", "newton"]) == 0


def test_equilibrium_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [a]\nagents: [{name: x, stage: a, service_time: 1.0, capacity: 2.0}]\n"
                   "demand: 3.0\nslo: 1.0\n")
    assert main(["equilibrium", str(bad)]) == 1
    assert "SLOInfeasibleError" in capsys.readouterr().err
    assert main(["equilibrium", str(tmp_path / "missing.yaml")]) == 1
    assert "no such model file" in capsys.readouterr().err


@pytest.mark.parametrize("tol", ["0", "-1", "nan"])
def test_equilibrium_cli_rejects_a_tolerance_that_cannot_be_met(tol, capsys):
    """--tol 0 / -1 / nan used to run the full 200,000 tâtonnement iterations (tens of seconds) and
    then report 'NOT converged'."""
    assert main(["equilibrium", "example", "--K", "4", "--tol", tol]) == 1
    err = capsys.readouterr().err
    assert "EconomyError" in err and "tol" in err


def test_equilibrium_cli_directory_or_binary_model(tmp_path, capsys):
    """A directory used to end in IsADirectoryError, a binary file in UnicodeDecodeError."""
    assert main(["equilibrium", str(tmp_path)]) == 1
    assert "EconomyError" in capsys.readouterr().err
    b = tmp_path / "m.yaml"
    b.write_bytes(b"\xff\xfe\x00binary")
    assert main(["equilibrium", str(b)]) == 1
    err = capsys.readouterr().err
    assert "EconomyError" in err and "m.yaml" in err


def test_constant_latency_price_is_plotted_without_an_offset():
    """At the default economy's equilibrium p_ℓ(t) is constant up to rounding; the panel showed
    '1e-17+4.475449984e-5' with ticks 44..52 (rounding noise blown up by an axis offset)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from dsge_agents.cli.equilibrium import load_economy
    from dsge_agents.economy.equilibrium import equilibrium
    res = equilibrium(load_economy(None, K=8), method="tatonnement")
    pl = np.asarray(res.latency_price, float)
    assert np.ptp(pl) <= 1e-9 * pl.max()                 # constant paths: a constant latency price
    fig = res.plot()
    FigureCanvasAgg(fig).draw()
    ax2 = [ax for ax in fig.axes if "latency price" in ax.get_title()][0]
    assert "+" not in ax2.yaxis.get_offset_text().get_text()
    lo, hi = ax2.get_ylim()
    assert lo < pl.min() and hi > pl.max() and (hi - lo) >= 0.05 * pl.max()


def test_result_figures_leave_the_users_matplotlib_backend_alone():
    """EquilibriumResult.plot and the estimation figures called matplotlib.use('Agg'): in a notebook
    or a GUI session that switched the user's backend, so later plt.show() showed nothing. Run in a
    subprocess with the backend set as a user would (the 'svg' backend stands for theirs)."""
    import subprocess
    import sys
    code = ("import matplotlib\nmatplotlib.use('svg')\n"
            "from dsge_agents.economy.examples import example_economy\n"
            "from dsge_agents.economy.equilibrium import equilibrium\n"
            "fig = equilibrium(example_economy(K=4), method='tatonnement').plot()\n"
            "from dsge_agents.plots.estimation import _fig\n_fig(2)\n"
            "print('backend', matplotlib.get_backend(), type(fig).__name__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-800:]
    assert "backend svg Figure" in r.stdout
