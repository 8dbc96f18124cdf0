"""What-if comparisons, rule objects and the policy CLI on nk3 (issue 6 items 1, 2, 8)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main
from dsge_agents.errors import PolicyError
from dsge_agents.linear import solve
from dsge_agents.model import load
from dsge_agents.policy.rules import PolicyRule, SLORule, TaylorRule, apply_rule, rule_of
from dsge_agents.policy.whatif import whatif


@pytest.fixture(scope="module")
def nk3(models_dir):
    return load(models_dir / "nk3.yaml")


@pytest.fixture(scope="module")
def dyn(repo):
    with open(repo / "tests" / "data" / "dynare" / "nk3.json") as fh:
        return json.load(fh)


def test_rules_and_model_transformation(nk3):
    r = rule_of(nk3)
    assert r.changes() == {"phi_pi": 1.5, "phi_x": 0.125, "rho_i": 0.5}
    m2 = apply_rule(nk3, TaylorRule(phi_pi=2.5))
    assert m2.parameters["phi_pi"] == 2.5 and m2.parameters["phi_x"] == 0.125
    assert nk3.parameters["phi_pi"] == 1.5          # the original is untouched
    m3 = apply_rule(nk3, r.replace(rho_i=0.0, phi_x=0.5))
    assert (m3.parameters["rho_i"], m3.parameters["phi_x"]) == (0.0, 0.5)
    with pytest.raises(PolicyError, match="slo_phi_latency"):
        apply_rule(nk3, SLORule(phi_latency=2.0))     # rule parameter absent from the model
    with pytest.raises(PolicyError, match="phi_y"):
        apply_rule(nk3, PolicyRule({"phi_y": 1.0}))
    with pytest.raises(PolicyError, match="form"):
        SLORule(form="quadratic")


def test_whatif_matches_direct_solutions_and_dynare(nk3, dyn):
    cmp = whatif(nk3, [{"phi_pi": 3.0}, TaylorRule(phi_x=0.5, rho_i=0.8, name="smooth")],
                 loss={"x": 1.0, "pi": 1.0, "i": 0.1}, periods=12)
    assert cmp.scenarios == ["baseline", "phi_pi=3", "smooth"]
    assert list(cmp.irfs.columns) == ["scenario", "shock", "variable", "period", "value"]
    assert cmp.irfs["scenario"].iloc[0] == "baseline"
    # IRFs are those of the models solved directly
    alt = solve(nk3.with_parameters(phi_x=0.5, rho_i=0.8)).irf(periods=12)
    got = cmp.irf().query("scenario == 'smooth'").drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alt.reset_index(drop=True))
    # baseline standard deviations equal Dynare's theoretical moments
    std = cmp.std().loc["baseline"]
    np.testing.assert_allclose(std[dyn["moments"]["variables"]].to_numpy(), dyn["moments"]["std"], rtol=1e-10)
    # loss is the weighted sum of variances; Dynare's osr run gives the baseline loss
    var = np.square(cmp.std())
    np.testing.assert_allclose(cmp.loss().to_numpy(), (var["x"] + var["pi"] + 0.1 * var["i"]).to_numpy(),
                               rtol=1e-12)
    assert cmp.loss()["baseline"] == pytest.approx(2.2815097946664822, rel=1e-10)
    # a stronger response to inflation lowers the variance of inflation
    assert cmp.std().loc["phi_pi=3", "pi"] < std["pi"]
    t = cmp.table()
    assert list(t.index) == cmp.scenarios and {"status", "loss", "welfare"} <= set(t.columns)
    assert t["welfare"].isna().all()                   # nk3 has no net_value
    assert "baseline" in cmp.summary()
    fig = cmp.plot(shock="e_r", variables=["x", "pi", "i"])
    assert len([a for a in fig.axes if a.get_visible()]) == 3


def test_whatif_records_failed_scenarios(nk3):
    cmp = whatif(nk3.with_parameters(rho_i=0.0), {"passive": {"phi_pi": 0.5, "phi_x": 0.0}})
    assert "passive" in cmp.errors and "Indeterminacy" in cmp.errors["passive"]
    assert cmp.table().loc["passive", "status"] == "failed"
    assert set(cmp.irfs["scenario"]) == {"baseline"}


def test_whatif_bad_input(nk3):
    with pytest.raises(PolicyError, match="unknown parameter"):
        whatif(nk3, {"phi_nope": 1.0})
    with pytest.raises(PolicyError, match="unknown loss variable"):
        whatif(nk3, {"phi_pi": 2.0}, loss={"output": 1.0})
    with pytest.raises(PolicyError, match="duplicate"):
        whatif(nk3, {"baseline": {"phi_pi": 2.0}})
    with pytest.raises(PolicyError, match="shock"):
        whatif(nk3, {"phi_pi": 2.0}, shocks=["e_zzz"])
    # a non-finite value is bad input, not a scenario without a solution
    with pytest.raises(PolicyError, match="not finite"):
        whatif(nk3, {"phi_pi": float("nan")})
    with pytest.raises(PolicyError, match=">= 0"):
        whatif(nk3, {"phi_pi": 2.0}, loss={"x": -1.0})
    cmp = whatif(nk3, {"phi_pi": 2.0}, periods=3)
    with pytest.raises(PolicyError, match="unknown shock"):
        cmp.plot(shock="e_zzz")


# ---------------------------------------------------------------------------- CLI
def test_cli_whatif(tmp_path, models_dir, capsys):
    csv, png = tmp_path / "w.csv", tmp_path / "w.png"
    rc = main(["whatif", str(models_dir / "nk3.yaml"), "--set", "phi_pi=2", "--set", "phi_x=0.3",
               "--alt", "rho_i=0.8", "--periods", "5", "--csv", str(csv), "--plot", str(png)])
    assert rc == 0
    df = pd.read_csv(csv)
    assert list(df.columns) == ["scenario", "shock", "variable", "period", "value"]
    assert list(dict.fromkeys(df["scenario"])) == ["baseline", "phi_pi=2, phi_x=0.3", "rho_i=0.8"]
    assert png.stat().st_size > 0
    assert "loss" in capsys.readouterr().out


def test_cli_whatif_table_never_overwrites_without_force(tmp_path, models_dir, capsys):
    """--table used to be missing from the output guard: it overwrote an existing file silently
    and could name the same file as --csv."""
    user = tmp_path / "mine.csv"
    user.write_text("precious\n")
    argv = ["whatif", str(models_dir / "nk3.yaml"), "--set", "phi_pi=2", "--periods", "3"]
    assert main(argv + ["--table", str(user)]) == 1
    assert user.read_text() == "precious\n"
    assert "exists" in capsys.readouterr().err
    same = tmp_path / "same.csv"
    assert main(argv + ["--csv", str(same), "--table", str(same)]) == 1
    assert not same.exists()
    assert main(argv + ["--table", str(user), "--force"]) == 0
    assert user.read_text().startswith("scenario,status,std_x")


@pytest.mark.parametrize("cmd", [["whatif", "--set", "phi_pi=2"], ["transition", "--set", "phi_pi=2"],
                                 ["determinacy", "--grid", "phi_pi=0:2:3"], ["irf"]])
def test_cli_unknown_figure_format_is_refused_before_any_work(cmd, tmp_path, models_dir, capsys):
    """--plot x.xyz used to fail in matplotlib's savefig (ValueError) after the computation, with
    the --csv output already written."""
    csv = tmp_path / "out.csv"
    argv = [cmd[0], str(models_dir / "nk3.yaml"), *cmd[1:], "--csv", str(csv), "--plot", str(tmp_path / "f.xyz")]
    assert main(argv) == 1
    assert "figure format 'xyz' is not supported" in capsys.readouterr().err
    assert not csv.exists()


def test_cli_determinacy_and_optimal_rule(tmp_path, models_dir):
    csv = tmp_path / "d.csv"
    rc = main(["determinacy", str(models_dir / "nk3.yaml"), "--grid", "phi_pi=0:2:9", "--grid",
               "phi_x=0:1:3", "--csv", str(csv), "--workers", "0", "--quiet", "--plot", str(tmp_path / "d.png")])
    assert rc == 0
    df = pd.read_csv(csv)
    assert list(df.columns) == ["phi_pi", "phi_x", "status"] and len(df) == 27
    assert set(df["status"]) <= {"determinate", "indeterminate", "unstable"}
    js = tmp_path / "o.json"
    rc = main(["optimal-rule", str(models_dir / "nk3.yaml"), "--loss", "x=1,pi=1,i=0.1",
               "--params", "phi_pi:1.01:5,phi_x:0:2", "--restarts", "1", "--json", str(js)])
    assert rc == 0
    out = json.loads(js.read_text())
    assert out["params"] == pytest.approx({"phi_pi": 5.0, "phi_x": 2.0}, abs=1e-6)


def test_cli_optimal_rule_json_is_strict_json(tmp_path, models_dir):
    """An unbounded coefficient used to be written as [-Infinity, Infinity], which is not JSON
    (RFC 8259); open bounds are null. The optimum of the loss over rho_i alone (interior) is a
    stationary point of the loss (central difference of the objective)."""
    js = tmp_path / "o.json"
    rc = main(["optimal-rule", str(models_dir / "nk3.yaml"), "--loss", "x=1,pi=1,i=1",
               "--params", "rho_i", "--restarts", "1", "--json", str(js)])
    assert rc == 0

    def strict(c):
        raise ValueError(f"non-JSON constant {c}")
    out = json.loads(js.read_text(), parse_constant=strict)
    assert out["bounds"]["rho_i"] == [None, None]
    from dsge_agents.policy.osr import osr_loss, parse_loss
    m = load(models_dir / "nk3.yaml")
    W, _ = parse_loss(m, {"x": 1, "pi": 1, "i": 1})
    r, h = out["params"]["rho_i"], 1e-4
    slope = (osr_loss(m, ["rho_i"], [r + h], W) - osr_loss(m, ["rho_i"], [r - h], W)) / (2 * h)
    assert abs(slope) < 1e-5


@pytest.mark.parametrize("argv, msg", [
    (["whatif", "{m}", "--set", "phi_nope=1"], "unknown parameter"),
    (["whatif", "{m}", "--set", "phi_pi"], "malformed"),
    (["whatif", "{m}"], "nothing to compare"),
    (["determinacy", "{m}"], "empty grid"),
    (["determinacy", "{m}", "--grid", "phi_pi=0:2:0"], "malformed grid"),
    (["determinacy", "{m}", "--grid", "phi_pi=0:2"], "malformed grid"),
    (["determinacy", "{m}", "--grid", "phi_zz=0:2:3"], "unknown grid parameter"),
    (["determinacy", "{m}", "--grid", "phi_pi=0:2:2.5"], "whole number"),
    (["determinacy", "{m}", "--grid", "phi_pi=1,nan"], "finite"),
    # a typo'd N used to start a sweep of hours (and allocate the grid) without a word
    (["determinacy", "{m}", "--grid", "phi_pi=0:3:100000000"], "a typo?"),
    (["determinacy", "{m}", "--grid", "phi_pi=0:3:5000", "--grid", "phi_x=0:1:5000"], "25,000,000 points"),
    (["optimal-rule", "{m}", "--loss", "y=1", "--params", "phi_pi"], "unknown loss variable"),
    (["optimal-rule", "{m}", "--loss", "x=1", "--params", "slo_rho:0:1"], "unknown rule parameter"),
    (["optimal-rule", "{m}", "--loss", "x=one", "--params", "phi_pi"], "not a number"),
    (["transition", "{m}", "--set", "phi_zz=1"], "unknown parameter"),
    (["transition", "{m}"], "no change"),
    # non-finite values, repeated names, an unknown --shock, negative weights (used to run on:
    # NaN reached the steady-state check, repeats kept the last value, --shock was ignored, a
    # negative weight sent optimal-rule to the edge of determinacy with loss -4e12)
    (["determinacy", "{m}", "--grid", "phi_pi=0:2:3", "--grid", "phi_x=0:1:2", "--grid", "rho_i=0:0.5:2",
      "--plot", "three.png"], "one or two parameters"),   # was a ValueError after computing the map
    (["whatif", "{m}", "--set", "form=integral"], "rule form cannot change"),   # was a "failed" row
    (["whatif", "{m}", "--alt", "form=weird"], "unknown rule form"),
    (["whatif", "{m}", "--set", "phi_pi=nan"], "not finite"),
    (["whatif", "{m}", "--set", "phi_pi=1e400"], "not finite"),
    (["transition", "{m}", "--set", "phi_pi=inf"], "not finite"),
    (["whatif", "{m}", "--set", "phi_pi=2", "--set", "phi_pi=3"], "more than once"),
    (["whatif", "{m}", "--set", "phi_pi=2,phi_pi=3"], "twice"),
    (["whatif", "{m}", "--set", "phi_pi=2", "--shock", "e_zzz"], "unknown shock"),
    (["whatif", "{m}", "--set", "phi_pi=2", "--loss", "x=1,x=2"], "twice"),
    (["whatif", "{m}", "--set", "phi_pi=2", "--loss", "x=-1"], ">= 0"),
    (["optimal-rule", "{m}", "--loss", "x=-1", "--params", "phi_pi:1.01:5"], "negative loss weight"),
    (["optimal-rule", "{m}", "--loss", "x=1", "--params", "phi_pi,phi_pi:1:2"], "twice"),
    (["optimal-rule", "{m}", "--loss", "x=1", "--params", "phi_pi:1.01:5", "--restarts", "-1"], "restarts"),
])
def test_cli_bad_input(argv, msg, models_dir, capsys):
    argv = [a.replace("{m}", str(models_dir / "nk3.yaml")) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "PolicyError" in err and msg in err
