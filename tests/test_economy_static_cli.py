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


@pytest.mark.parametrize("opts", [["--K", "4"], ["--basis", "pwc"], ["--T", "2"], ["--k-convergence"]])
def test_equilibrium_cli_scarf_refuses_options_that_do_not_apply(opts, capsys):
    """They used to be ignored silently (the user believed K = 4 had been used)."""
    assert main(["equilibrium", "scarf", *opts]) == 1
    err = capsys.readouterr().err
    assert "EconomyError" in err and "not applicable to 'scarf'" in err and opts[0] in err


def test_equilibrium_cli_example_honours_T(tmp_path):
    """--T used to be ignored for 'example' (horizon 60 whatever the option said)."""
    out = tmp_path / "eq.json"
    assert main(["equilibrium", "example", "--K", "2", "--T", "5", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["T"] == 5.0
    # Gauss–Legendre nodes of [0, 5] (numpy's leggauss mapped by hand)
    np.testing.assert_allclose(d["nodes"], (np.polynomial.legendre.leggauss(2)[0] + 1) * 2.5, rtol=1e-14)


def _strict_json(text):
    def bad(tok):
        raise AssertionError(f"invalid JSON token {tok}")
    return json.loads(text, parse_constant=bad)


def test_equilibrium_cli_json_is_strict_json_with_k_convergence(tmp_path):
    """Constant demand: p*_K is exact for every K, all errors ≤ 1e-12, so the fitted rates are undefined;
    they were written as the invalid JSON token NaN (json.dump's default)."""
    out = tmp_path / "eq.json"
    assert main(["equilibrium", "--K", "2", "--k-convergence", "--json", str(out)]) == 0
    d = _strict_json(out.read_text())
    for b in ("legendre", "pwc"):
        kc = d["k_convergence"][b]
        assert max(kc["errors"]) < 1e-12 and kc["spectral_rate"] is None and kc["algebraic_order"] is None


def test_equilibrium_cli_mod_file_is_named_as_such(capsys):
    """A .mod file was reported as 'not valid YAML (mapping values are not allowed here)'."""
    from pathlib import Path
    mod = Path(__file__).resolve().parents[1] / "models" / "fs2000.mod"
    assert main(["equilibrium", str(mod)]) == 1
    assert "Dynare .mod model is not an economy" in capsys.readouterr().err


def test_equilibrium_cli_never_overwrites_without_force(tmp_path, capsys):
    out, fig = tmp_path / "eq.json", tmp_path / "eq.png"
    out.write_text("mine")
    fig.write_text("mine too")
    for opts in (["--json", str(out)], ["--plot", str(fig)]):
        assert main(["equilibrium", "scarf", *opts]) == 1
        assert "use --force" in capsys.readouterr().err
    assert out.read_text() == "mine" and fig.read_text() == "mine too"
    assert main(["equilibrium", "scarf", "--json", str(out), "--plot", str(fig), "--force"]) == 1   # not converged
    assert _strict_json(out.read_text())["converged"] is False and fig.read_bytes()[:4] == b"\x89PNG"


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
