"""`dsge-agents loglik` and `dsge-agents estimate` end to end (fs2000, short runs)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main


@pytest.fixture(scope="module")
def fs2000_path(repo, shared_data):
    return str(repo / "models/fs2000.mod")


def test_loglik_cli(fs2000_path, repo, capsys):
    ref = json.load(open(repo / "tests/data/dynare/fs2000_loglik.json"))
    assert main(["loglik", fs2000_path, "--exact", "--time", "3"]) == 0
    out = capsys.readouterr().out
    val = float(out.split("log-likelihood:")[1].split()[0])
    assert val == pytest.approx(ref["exact"]["log_likelihood"], abs=1e-6)
    assert "mean wall time per evaluation" in out
    assert main(["loglik", fs2000_path]) == 0
    val = float(capsys.readouterr().out.split("log-likelihood:")[1].split()[0])
    assert val == pytest.approx(ref["default"]["log_likelihood"], abs=1e-6)


def test_loglik_cli_params_and_errors(fs2000_path, capsys, tmp_path):
    assert main(["loglik", fs2000_path, "--exact", "--params", '{"alp": 0.34, "e_a": 0.015}']) == 0
    v1 = float(capsys.readouterr().out.split("log-likelihood:")[1].split()[0])
    p = tmp_path / "p.json"
    p.write_text('{"alp": 0.34, "e_a": 0.015}')
    assert main(["loglik", fs2000_path, "--exact", "--params", str(p)]) == 0
    v2 = float(capsys.readouterr().out.split("log-likelihood:")[1].split()[0])
    assert v1 == v2
    assert main(["loglik", fs2000_path, "--params", '{"nope": 1}']) == 1
    assert "unknown" in capsys.readouterr().err
    assert main(["loglik", fs2000_path, "--nobs", "500"]) == 1
    assert "rows" in capsys.readouterr().err


def test_estimate_cli_resume(fs2000_path, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["estimate", fs2000_path, "--draws", "40", "--chains", "2", "--jscale", "0.6",
            "--seed", "3", "--out", str(out), "--no-progress", "--checkpoint-every", "10",
            "--optimizers", "bfgs", "--restarts", "0"]
    assert main(args + ["--stop-after", "20"]) == 0
    assert "--resume" in capsys.readouterr().out
    assert main(args) == 1                                  # non-empty folder, no --resume/--force
    assert "not empty" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0
    printed = capsys.readouterr().out
    summ = pd.read_csv(out / "summary.csv")
    assert list(summ.columns) == ["parameter", "prior", "prior_mean", "prior_std", "mode", "mode_std",
                                  "post_mean", "hpd_low", "hpd_high", "rhat", "ess"]
    assert len(summ) == 9
    draws = pd.read_parquet(out / "draws.parquet")
    assert len(draws) == 2 * 20                            # mh_drop = 0.5
    ml = json.loads((out / "marginal_likelihood.json").read_text())
    assert "laplace" in ml and "modified_harmonic_mean" in ml
    # the terminal says it in words (it printed the raw JSON and nothing about convergence)
    acc = ", ".join(f"{100 * a:.1f}%" for a in ml["acceptance"])
    assert f"acceptance rate per chain: {acc}" in printed
    assert f"modified harmonic mean {ml['modified_harmonic_mean']:.4f}" in printed
    assert "have not converged" in printed and f"{summ['rhat'].max():.3f}" in printed   # 2 x 20 kept draws
    for f in ("priors.png", "traces.png", "irf.png", "shock_decomposition.png"):
        assert (out / f).stat().st_size > 0
    # the resumed run equals an uninterrupted one
    out2 = tmp_path / "run2"
    args2 = [a if a != str(out) else str(out2) for a in args]
    assert main(args2 + ["--no-figures"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out2 / "draws.parquet"), draws)
    # mode only
    out3 = tmp_path / "mode"
    assert main(["estimate", fs2000_path, "--mode-only", "--out", str(out3), "--no-figures",
                 "--optimizers", "bfgs", "--restarts", "0"]) == 0
    s3 = pd.read_csv(out3 / "summary.csv")
    assert s3["post_mean"].isna().all() and s3["mode"].notna().all()


def test_no_data_error_says_how_to_give_data(tmp_path, capsys):
    """The bundled default economy names no datafile: 'loglik' / 'estimate' without --data said
    only 'no data given and the model names no datafile', not how to give data."""
    from dsge_agents.cli.main import main as cli_main
    for cmd in (["loglik"], ["estimate", "--mode-only", "--out", str(tmp_path / "e")]):
        assert cli_main(cmd) == 1
        err = capsys.readouterr().err
        assert "no data given" in err and "--data PATH" in err
    assert not (tmp_path / "e").exists()


def test_mcmc_report_convergence_verdict():
    """R-hat / ESS against Vehtari et al. (2021)'s 1.01 / 400: the worst parameter is named."""
    from dsge_agents.cli.estimate import _mcmc_report
    ml = {"laplace": -10.0, "modified_harmonic_mean": -11.5, "acceptance": [0.25, 0.3], "jscale": 0.3}
    good = pd.DataFrame({"parameter": ["a", "b"], "rhat": [1.002, 1.004], "ess": [900.0, 450.0]})
    lines = _mcmc_report(good, ml)
    assert lines[:2] == ["log marginal data density: Laplace -10.0000, modified harmonic mean -11.5000",
                         "acceptance rate per chain: 25.0%, 30.0% (jscale 0.3)"]
    assert lines[2] == "convergence: max R-hat 1.004 (b), min ESS 450 (b)"
    bad = good.assign(rhat=[1.02, 1.004])
    assert "have not converged: max R-hat 1.020 (a)" in _mcmc_report(bad, ml)[2]
    assert "have not converged" in _mcmc_report(good.assign(ess=[900.0, 120.0]), ml)[2]
    assert _mcmc_report(good.assign(rhat=np.nan, ess=np.nan), {"laplace": -1.0}) == \
        ["log marginal data density: Laplace -1.0000"]
