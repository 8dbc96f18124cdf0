"""`dsge-agents estimate`: option validation and the output-folder rules (nothing a user gave is
ever removed; --force replaces only what a previous run wrote; --resume needs a run)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.cli.main import main


@pytest.fixture()
def work(repo, tmp_path):
    """A user's folder: model, data and a note."""
    src = repo / "tests/data/dynare"
    for f in ("qa_rbc_ll.mod", "qa_rbc_data.csv"):
        (tmp_path / f).write_bytes((src / f).read_bytes())
    (tmp_path / "notes.txt").write_text("mine")
    return tmp_path


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_force_never_removes_user_files(work, capsys, monkeypatch):
    # `--out . --force` removed the whole folder tree (shutil.rmtree): model, data, notes
    monkeypatch.chdir(work)
    before = _snapshot(work)
    assert main(["estimate", "qa_rbc_ll.mod", "--out", ".", "--force", "--mode-only"]) == 1
    err = capsys.readouterr().err
    assert "did not write" in err and "notes.txt" in err and "qa_rbc_ll.mod" in err
    assert _snapshot(work) == before


def test_force_replaces_only_previous_outputs(work, capsys):
    out = work / "run"
    (out / "checkpoints").mkdir(parents=True)
    for f in ("mode.json", "draws.parquet", "summary.csv", "traces.png"):
        (out / f).write_text("old")
    (out / "checkpoints" / "run.json").write_text("{}")
    (out / "checkpoints" / "chain_0.npz").write_text("old")
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--force", "--mode-only",
                 "--no-figures", "--optimizers", "bfgs", "--restarts", "0"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["marginal_likelihood.json", "mode.json", "summary.csv"]   # no stale draws
    assert json.loads((out / "mode.json").read_text())["names"][0] == "stderr e_a"
    # a user file inside the previous run folder stops --force
    (out / "mine.csv").write_text("x")
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--force",
                 "--mode-only"]) == 1
    assert "mine.csv" in capsys.readouterr().err and (out / "mine.csv").exists()


def test_resume_needs_a_run_and_the_same_parameters(work, capsys):
    out = work / "run"
    out.mkdir()
    (out / "summary.csv").write_text("user's own summary")
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--resume"]) == 1
    assert "holds no run to resume" in capsys.readouterr().err
    assert (out / "summary.csv").read_text() == "user's own summary"
    (out / "mode.json").write_text(json.dumps({"names": ["alpha", "beta"]}))
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--resume",
                 "--mode-only"]) == 1
    assert "mode of other estimated parameters" in capsys.readouterr().err


@pytest.mark.parametrize("opts,message", [
    (["--draws", "-5"], "--draws must be ≥ 0"),            # silently meant --mode-only
    (["--chains", "0"], "--chains must be ≥ 1"),           # ValueError after the mode
    (["--chains", "-1"], "--chains must be ≥ 1"),          # OverflowError after the mode
    (["--checkpoint-every", "-3"], "--checkpoint-every must be ≥ 0"),   # looped forever
    (["--jscale", "0"], "--jscale must be a positive"),    # LinAlgError after the mode
    (["--resume", "--force"], "give one of them"),
    (["--optimizers", ","], "names no optimizer"),            # the start was reported as the mode
])
def test_bad_options_fail_before_any_work(work, capsys, opts, message):
    out = work / "run"
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), *opts]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_out_is_a_file(work, capsys):
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(work / "notes.txt"),
                 "--mode-only"]) == 1
    assert "is a file" in capsys.readouterr().err
    assert (work / "notes.txt").read_text() == "mine"


def test_run_mh_rejects_a_negative_checkpoint_interval():
    import numpy as np

    from dsge_agents.errors import DSGEError
    from dsge_agents.estimation import run_mh
    with pytest.raises(DSGEError, match="checkpoint_every"):
        run_mh(None, np.zeros(1), np.eye(1), draws=10, chains=1, jscale=0.5, checkpoint_every=-1)


def test_mh_replic_zero_in_the_mod_file_means_no_mcmc(work, capsys):
    # qa_rbc_ll.mod says estimation(..., mode_compute=0, mh_replic=0); `0 or 20000` ran 2 x 20,000
    # Metropolis-Hastings draws
    out = work / "run"
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--no-figures",
                 "--no-progress", "--optimizers", "bfgs", "--restarts", "0"]) == 0
    assert not (out / "draws.parquet").exists() and not (out / "checkpoints").exists()


def test_diffuse_filter_options_are_refused(work):
    from dsge_agents.errors import DSGEError
    from dsge_agents.estimation import LogLikelihood
    from dsge_agents.model import load
    text = (work / "qa_rbc_ll.mod").read_text()
    for opt in ("diffuse_filter", "kalman_algo=3", "kalman_algo=4"):
        f = work / "diffuse.mod"
        f.write_text(text.replace("mh_replic=0);", f"mh_replic=0, {opt});"))
        with pytest.raises(DSGEError, match="diffuse filter"):
            LogLikelihood(load(f))


def test_resume_with_other_data_is_refused(work, capsys):
    # the saved mode (and chains) of one data set were silently continued on another
    out = work / "run"
    base = ["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--no-figures", "--no-progress",
            "--optimizers", "bfgs", "--restarts", "0", "--mode-only"]
    assert main(base) == 0
    assert main(base + ["--resume"]) == 0                    # same inputs: fine
    text = (work / "qa_rbc_data.csv").read_text().splitlines()
    text[5] = text[5].replace(text[5].split(",")[1], "3.1", 1)
    (work / "other.csv").write_text("\n".join(text) + "\n")
    capsys.readouterr()
    assert main(base + ["--resume", "--data", str(work / "other.csv")]) == 1
    assert "another model file, data" in capsys.readouterr().err


def test_mode_from_a_start_on_a_bound(work):
    # an initial value equal to its declared upper bound (z = +inf): BFGS never moved, the "mode"
    # stayed on the bound with NaN standard errors and a NaN Laplace density
    from dsge_agents.estimation import LogLikelihood, posterior_mode
    from dsge_agents.model import load
    text = (work / "qa_rbc_ll.mod").read_text()
    f = work / "bound.mod"
    f.write_text(text.replace("rho_a, beta_pdf, 0.85, 0.1;", "rho_a, 0.999, 0, 0.999, beta_pdf, 0.85, 0.1;"))
    llk = LogLikelihood(load(f))
    i = llk.space.names.index("rho_a")
    assert llk.space.x0[i] == 0.999 == llk.space.upper[i]
    m = posterior_mode(llk, optimizers=("bfgs",), restarts=0)
    assert np.isfinite(m.std).all() and np.isfinite(m.log_marginal_laplace)
    assert llk.space.lower[i] + 0.01 < m.mode[i] < 0.99
    # first-order condition at the interior mode (central differences in the original scale)
    for k in range(len(m.mode)):
        h = 1e-6 * max(abs(m.mode[k]), 1e-3)
        e = np.zeros_like(m.mode)
        e[k] = h
        g = (llk.log_posterior(m.mode + e) - llk.log_posterior(m.mode - e)) / (2 * h)
        assert abs(g) * m.std[k] < 1e-2


def test_estimate_api_checks_method_and_mh_drop_first(work):
    from dsge_agents.errors import DSGEError
    from dsge_agents.estimation import estimate
    from dsge_agents.model import load
    m = load(work / "qa_rbc_ll.mod")
    with pytest.raises(DSGEError, match="method must be"):
        estimate(m, method="mcmcc")                    # raised only after the mode search
    with pytest.raises(DSGEError, match=r"mh_drop must be in \[0, 1\)"):
        estimate(m, mh_drop=1.5)                       # accepted: no draws kept


def test_very_short_chains_give_nan_diagnostics_not_a_crash(work, capsys):
    # --draws 1 --chains 2: split R-hat raised NumPy's concatenate ValueError, the modified harmonic
    # mean a LinAlgError (fewer draws than parameters); the JSON files held the invalid token NaN
    out = work / "run"
    assert main(["estimate", str(work / "qa_rbc_ll.mod"), "--out", str(out), "--draws", "2",
                 "--chains", "2", "--jscale", "0.5", "--no-progress", "--no-figures",
                 "--optimizers", "bfgs", "--restarts", "0"]) == 0
    ml = json.loads((out / "marginal_likelihood.json").read_text(),
                    parse_constant=lambda c: pytest.fail(f"invalid JSON token {c}"))
    assert ml["modified_harmonic_mean"] is None
    json.loads((out / "mode.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    import pandas as pd
    assert pd.read_csv(out / "summary.csv")["rhat"].isna().all()


def test_split_rhat_of_one_draw_per_chain_is_nan():
    from dsge_agents.estimation.diagnostics import rank_rhat, split_rhat
    x = np.array([[1.0], [2.0]])
    assert np.isnan(split_rhat(x)) and np.isnan(rank_rhat(x))
