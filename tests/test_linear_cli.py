"""`dsge-agents solve / irf / moments` (called in-process through the CLI dispatcher)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main


@pytest.fixture()
def nk3_path(models_dir):
    return str(models_dir / "nk3.yaml")


def test_solve_json_schema(nk3_path, tmp_path, capsys, repo):
    out = tmp_path / "sol.json"
    assert main(["solve", nk3_path, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "STEADY STATE" in text and "EIGENVALUES" in text and "Blanchard-Kahn conditions are satisfied" in text
    d = json.loads(out.read_text())
    assert list(d) == ["parameters", "steady_state", "eigenvalues", "ghx", "ghu"]
    assert d["ghx"]["rows"] == ["x", "pi", "i", "rn"] and d["ghx"]["cols"] == ["i(-1)", "rn(-1)"]
    assert d["ghu"]["cols"] == ["e_i", "e_r"]
    assert all(len(e) == 2 for e in d["eigenvalues"])
    ref = repo / "tests" / "data" / "dynare" / "nk3.json"
    if ref.exists():
        r = json.loads(ref.read_text())
        np.testing.assert_allclose(d["ghx"]["values"], r["ghx"]["values"], atol=1e-8)
    # refuses to overwrite without --force
    assert main(["solve", nk3_path, "--json", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["solve", nk3_path, "--json", str(out), "--force"]) == 0


def test_irf_csv_and_plot(nk3_path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "irf.csv"
    assert main(["irf", nk3_path, "--periods", "12", "--shock", "e_r", "--csv", str(csv)]) == 0
    text = capsys.readouterr().out
    df = pd.read_csv(csv)
    assert list(df.columns) == ["shock", "variable", "period", "value"]
    assert set(df.shock) == {"e_r"} and df.period.min() == 1 and df.period.max() == 12
    rn = df[df.variable == "rn"].sort_values("period").value.to_numpy()
    np.testing.assert_allclose(rn, 0.5 * 0.8 ** np.arange(12), rtol=1e-12)
    png = tmp_path / "irf_nk3.png"
    assert png.exists() and str(png.resolve()) in text
    # default figure name is ours: a second run overwrites it without --force
    assert main(["irf", nk3_path, "--periods", "5"]) == 0
    # a user's file with the default name is not overwritten
    png.write_bytes(b"user data")
    assert main(["irf", nk3_path, "--periods", "5"]) == 0
    assert png.read_bytes() == b"user data"
    assert (tmp_path / "irf_nk3-2.png").exists()
    # explicit targets need --force
    assert main(["irf", nk3_path, "--csv", str(csv)]) == 1
    assert main(["irf", nk3_path, "--plot", str(png)]) == 1
    assert png.read_bytes() == b"user data"
    # unknown shock: one-line error
    capsys.readouterr()
    assert main(["irf", nk3_path, "--shock", "nope"]) == 1
    assert "unknown shock" in capsys.readouterr().err


def test_moments_csv(nk3_path, tmp_path, capsys):
    csv = tmp_path / "mom.csv"
    assert main(["moments", nk3_path, "--csv", str(csv)]) == 0
    text = capsys.readouterr().out
    assert "VARIANCE DECOMPOSITION" in text and "AUTOCORRELATIONS" in text
    df = pd.read_csv(csv, index_col=0)
    assert list(df.columns[:7]) == ["std", "variance", "autocorr_1", "autocorr_2", "autocorr_3", "autocorr_4",
                                    "autocorr_5"]
    np.testing.assert_allclose(df[["vd_e_i", "vd_e_r"]].sum(axis=1), 100.0)
    assert df.loc["rn", "std"] == pytest.approx(0.5 / np.sqrt(1 - 0.8 ** 2))


def test_indeterminate_model_error(tmp_path, capsys):
    p = tmp_path / "nk3_bad.yaml"
    p.write_text("""name: nk3_bad
variables: [x, pi, i, rn]
shocks: {e_i: 0.25, e_r: 0.5}
parameters: {beta: 0.99, sigma: 1.0, kappa: 0.1, phi_pi: 0.5, phi_x: 0.0, rho_i: 0.5, rho_r: 0.8}
equations:
  - x = x(+1) - sigma*(i - pi(+1) - rn)
  - pi = beta*pi(+1) + kappa*x
  - i = rho_i*i(-1) + (1-rho_i)*(phi_pi*pi + phi_x*x) + e_i
  - rn = rho_r*rn(-1) + e_r
steady_state: {x: 0, pi: 0, i: 0, rn: 0}
""")
    assert main(["solve", str(p)]) == 1
    err = capsys.readouterr().err
    assert "IndeterminacyError" in err and "1 eigenvalue(s)" in err and "2 forward-looking" in err


@pytest.mark.parametrize("argv, msg", [
    (["solve", "m.yaml", "--json", "m.yaml", "--force"], "--json m.yaml is an input file"),
    (["irf", "m.yaml", "--csv", "./m.yaml", "--force"], "--csv ./m.yaml is an input file"),
    (["irf", "m.yaml", "--csv", "a.csv", "--plot", "a.csv"], "--plot and --csv name the same file"),
    (["moments", "m.yaml", "--csv", "m.yaml", "--force"], "--csv m.yaml is an input file"),
    (["export", "m.yaml", "--to", "mod", "-o", "m.yaml", "--force"], "-o m.yaml is an input file"),
])
def test_outputs_never_overwrite_the_model_file(nk3_path, tmp_path, capsys, monkeypatch, argv, msg):
    import shutil

    shutil.copy(nk3_path, tmp_path / "m.yaml")
    before = (tmp_path / "m.yaml").read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert msg in capsys.readouterr().err
    assert (tmp_path / "m.yaml").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]


@pytest.mark.parametrize("argv, opt", [
    (["whatif", "m.yaml", "--set", "phi_pi=2", "--csv", "out"], "out"),
    (["transition", "m.yaml", "--set", "phi_pi=2", "--plot", "out"], "out"),
    (["determinacy", "m.yaml", "--grid", "phi_pi=0:2:3", "--csv", "out"], "out"),
    (["optimal-rule", "m.yaml", "--loss", "x=1", "--params", "phi_pi", "--json", "out"], "out"),
    (["equilibrium", "--json", "out"], "out"),
])
def test_policy_commands_keep_existing_outputs_without_force(nk3_path, tmp_path, capsys, monkeypatch, argv, opt):
    """These commands overwrote an existing --csv / --plot / --json file; now, as every other
    command, they need --force, and never write over the model file."""
    import shutil

    shutil.copy(nk3_path, tmp_path / "m.yaml")
    (tmp_path / "out").write_text("mine")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    assert "out exists; use --force" in capsys.readouterr().err
    assert (tmp_path / "out").read_text() == "mine"
    if "m.yaml" in argv:
        assert main([*argv[:-1], "m.yaml", "--force"]) == 1
        assert "m.yaml is an input file" in capsys.readouterr().err


def test_debug_is_taken_anywhere_on_the_line(tmp_path, capsys):
    """--debug after the subcommand shows the traceback as before it does (it was 'unrecognized')."""
    missing = str(tmp_path / "missing.json")
    for argv in (["--debug", "ingest", missing, "-o", str(tmp_path / "o.csv")],
                 ["ingest", missing, "-o", str(tmp_path / "o.csv"), "--debug"]):
        with pytest.raises(Exception, match="no such trace file"):
            main(argv)
    assert main(["ingest", missing, "-o", str(tmp_path / "o.csv")]) == 1
    assert "no such trace file" in capsys.readouterr().err


def test_stoch_simul_options_of_a_mod_file(tmp_path, capsys, monkeypatch):
    """irf/moments/solve follow the file's stoch_simul(irf=, ar=, qz_criterium=, irf_shocks=) and its
    variable list, as Dynare does, and name the options they do not apply (hp_filter)."""
    monkeypatch.chdir(tmp_path)
    # y explodes at rate 1.05: with qz_criterium=1.1 Dynare counts that root as stable and solves
    f = tmp_path / "qz.mod"
    f.write_text("var y x; varexo e u; parameters r; r = 1.05;\nmodel; y = r*y(-1) + e; x = 0.5*x(-1) + u; end;\n"
                 "shocks; var e; stderr 0.1; var u; stderr 0.2; end;\n"
                 "stoch_simul(order=1, irf=6, qz_criterium=1.1, irf_shocks=(e), nograph) y;\n")
    csv = tmp_path / "irf.csv"
    assert main(["irf", str(f), "--no-plot", "--csv", str(csv)]) == 0
    df = pd.read_csv(csv)
    assert set(df.shock) == {"e"} and df.period.max() == 6
    np.testing.assert_allclose(df[df.variable == "y"].sort_values("period").value, 0.1 * 1.05 ** np.arange(6),
                               rtol=1e-12)
    assert main(["irf", str(f), "--no-plot", "--periods", "3", "--shock", "u", "--csv", str(csv), "--force"]) == 0
    df = pd.read_csv(csv)
    assert set(df.shock) == {"u"} and df.period.max() == 3   # the command line wins
    assert main(["solve", str(f)]) == 0
    assert "unique stable solution" in capsys.readouterr().out
    # moments: the variable list (in its order), ar=3, and a note for periods= (simulated moments)
    g = tmp_path / "ar.mod"
    g.write_text("var y x; varexo e; parameters r; r = 0.5;\nmodel; y = r*y(-1) + e; x = y; end;\n"
                 "shocks; var e; stderr 1; end;\nstoch_simul(order=1, ar=3, periods=200, nograph) x y;\n")
    out = tmp_path / "m.csv"
    assert main(["moments", str(g), "--csv", str(out)]) == 0
    err = capsys.readouterr().err
    assert "periods=200" in err and "not applied" in err
    tab = pd.read_csv(out, index_col=0)
    assert list(tab.index) == ["x", "y"]
    assert [c for c in tab.columns if c.startswith("autocorr_")] == ["autocorr_1", "autocorr_2", "autocorr_3"]
    np.testing.assert_allclose(tab.loc["y", "variance"], 1 / (1 - 0.25), rtol=1e-12)   # AR(1) variance
    np.testing.assert_allclose(tab.loc["y", "autocorr_3"], 0.125, rtol=1e-12)


@pytest.mark.parametrize("argv", [["irf", "--no-plot"], ["whatif", "--set", "beta=0.9"], ["solve"]])
def test_a_non_text_yaml_model_is_a_one_line_model_error(tmp_path, capsys, argv):
    """A .yaml that is not UTF-8 text (a binary file under a model's name): the commands say so
    with file, line and column, instead of a UnicodeDecodeError from the economy-file check."""
    bad = tmp_path / "m.yaml"
    bad.write_bytes(b"\xf2\x00\x81binary" * 50)
    assert main([argv[0], str(bad)] + argv[1:]) != 0
    err = capsys.readouterr().err
    assert "ModelSyntaxError" in err and "m.yaml, line 1, column 1" in err and "not UTF-8" in err
    assert "UnicodeDecodeError" not in err


@pytest.mark.parametrize("arg, hint", [
    ("orchestrated_defualt", "did you mean orchestrated_default?"),   # a typo of a bundled name
    ("nk4", "did you mean nk3?"),
    ("{models}/fs2001.mod", "did you mean {models}/fs2000.mod?"),     # a typo of a file beside it
    ("no_such_model_at_all", None),
])
def test_model_name_typo_names_bundled_models_and_the_closest_match(arg, hint, models_dir, capsys):
    """A MODEL that is neither a file nor a bundled name: one line naming it, the bundled models
    (listed here from the package folder itself) and the closest name; it only said 'not found'."""
    import dsge_agents
    from pathlib import Path
    bundled = sorted(p.stem for p in (Path(dsge_agents.__file__).parent / "models").glob("*.yaml"))
    arg = arg.format(models=models_dir)
    assert main(["irf", arg, "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"model file not found: {arg}" in err
    assert f"bundled models: {', '.join(bundled)}" in err
    if hint is None:
        assert "did you mean" not in err
    else:
        assert hint.format(models=models_dir) in err


def test_output_path_errors_are_not_called_output_exists(nk3_path, tmp_path, capsys):
    """A directory, a missing folder or an output naming the model file is not an 'existing output
    that needs --force': the one-line error used to say 'OutputExistsError: directory ... does not
    exist', pointing the user at --force for a file that does not exist."""
    missing = tmp_path / "no_such_folder" / "a.csv"
    for out, what in ((str(tmp_path), "is a directory"), (str(missing), "does not exist"),
                      (nk3_path, "is an input file")):
        assert main(["irf", nk3_path, "--no-plot", "--csv", out, "--force"]) == 1
        err = capsys.readouterr().err
        assert what in err and "OutputPathError" in err and "OutputExistsError" not in err, err
    assert not missing.parent.exists()
    existing = tmp_path / "x.csv"
    existing.write_text("user data\n")
    assert main(["irf", nk3_path, "--no-plot", "--csv", str(existing)]) == 1
    assert "OutputExistsError" in capsys.readouterr().err and existing.read_text() == "user data\n"


def test_moments_negative_nlags_is_an_error_not_a_crash(nk3_path):
    """`moments --nlags -1` (and Solution.moments(nlags=-1)) let the compiled autocovariance kernel
    write into an empty array: 'corrupted size vs. prev_size' and an abort (status 134). Run in a
    subprocess so the old behaviour cannot take the test process down."""
    import os
    import subprocess
    import sys
    env = dict(os.environ)
    code = ("import sys\nfrom dsge_agents.errors import DSGEError\nfrom dsge_agents.model import load\n"
            "from dsge_agents.linear import solve\nsol = solve(load(sys.argv[1]))\n"
            "try:\n    sol.moments(nlags=-1)\nexcept DSGEError as e:\n    print('refused:', e)\n"
            "m0 = sol.moments(nlags=0)\nprint('sd_rn', repr(float(m0['std']['rn'])), m0['autocorr'].shape[1])\n")
    r = subprocess.run([sys.executable, "-c", code, nk3_path], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-500:]
    assert "refused: nlags must be a whole number >= 0" in r.stdout
    # nlags = 0 still gives the moments: rn = 0.8 rn(-1) + e_r, sd(e_r) = 0.5 -> sd 0.5/sqrt(1 - 0.64)
    sd = float(r.stdout.split("sd_rn ")[1].split()[0])
    assert sd == pytest.approx(0.5 / np.sqrt(1 - 0.8 ** 2), rel=1e-10)
    assert r.stdout.strip().endswith(" 0")
    r = subprocess.run([sys.executable, "-m", "dsge_agents", "moments", nk3_path, "--nlags", "-1"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "--nlags must be >= 0" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("dpi", ["0", "-5"])
def test_irf_nonpositive_dpi_is_refused_before_any_work(dpi, nk3_path, tmp_path, capsys):
    """--dpi 0 ended in Pillow's 'ValueError: box can't be empty' after the solve; a negative dpi was
    accepted for a PDF. Nothing may be written."""
    for name in ("a.png", "a.pdf"):
        out = tmp_path / name
        assert main(["irf", nk3_path, "--dpi", dpi, "--plot", str(out)]) == 1
        err = capsys.readouterr().err
        assert "--dpi must be at least 1" in err and not out.exists()


@pytest.mark.parametrize("name", ["models_dir", "folder.yaml"])
def test_model_argument_that_is_a_directory(name, tmp_path, capsys):
    """A folder given as MODEL: 'unknown model file type ''' (or, for a folder named like a model
    file, whatever the YAML reader made of it) instead of saying it is a directory."""
    d = tmp_path / name
    d.mkdir()
    assert main(["irf", str(d), "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert f"{d}: is a directory, not a model file" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("order", ["shock_first", "var_first"])
def test_irf_model_after_a_list_option_is_the_model(order, nk3_path, tmp_path):
    """`irf --shock e_r nk3.yaml`: --shock takes one or more names, so argparse gave it the model
    file too and the command ran on the bundled default economy ('unknown shock'). The trailing model
    file is the MODEL. Checked against nk3's shock process: rn = 0.8 rn(-1) + e_r with sd(e_r) = 0.5,
    so rn moves by 0.5 on impact and 0.5*0.8^(t-1) after."""
    csv = tmp_path / "irf.csv"
    argv = (["irf", "--shock", "e_r", nk3_path] if order == "shock_first"
            else ["irf", "--shock", "e_r", "--var", "rn", "x", nk3_path])
    assert main(argv + ["--no-plot", "--csv", str(csv)]) == 0
    df = pd.read_csv(csv)
    assert set(df.shock) == {"e_r"}
    assert set(df.variable) == ({"x", "pi", "i", "rn"} if order == "shock_first" else {"rn", "x"})
    rn = df[df.variable == "rn"].sort_values("period")
    np.testing.assert_allclose(rn.value.to_numpy(), 0.5 * 0.8 ** np.arange(len(rn)), rtol=1e-12)


def test_version_flag_matches_the_package_metadata(repo, capsys):
    """`dsge-agents --version` (what a bug report asks for) was 'unrecognized arguments'."""
    import re
    declared = re.search(r'^version\s*=\s*"([^"]+)"', (repo / "pyproject.toml").read_text(), re.M).group(1)
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"dsge-agents {declared}"
