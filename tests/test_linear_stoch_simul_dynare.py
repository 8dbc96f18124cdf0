"""``stoch_simul`` outputs beyond IRFs and unfiltered moments, against Dynare 5.3 on our own model.

``tests/data/dynare/qa_outputs.mod`` (a nonlinear RBC with a forward-looking inflation equation,
leads and lags beyond one period of endogenous and exogenous variables, ``erf``/``normcdf``/
``normpdf``/``abs``, ``#`` locals, tags, ``steady_state_model`` with helper variables, correlated
shocks, a ``stderr`` given by a parameter expression) is run by Dynare with one ``stoch_simul`` per
target (``tests/data/dynare/run_dynare.sh qa_outputs_cvd qa_outputs_rel qa_outputs_hp qa_outputs_bp
qa_outputs_persist``; the statements are in ``tests/data/dynare/tails/qa_outputs_*.tail``, the dump in
``octave/stoch_outputs.m``):

* qa_outputs_cvd: IRFs, ``oo_.var``, ``oo_.autocorr``, the variance decomposition and
  ``conditional_variance_decomposition=[1 4 10 40]`` of a variable list in non-declaration order;
* qa_outputs_rel: ``irf_shocks=(e_r, e_a), relative_irf``;
* qa_outputs_hp / qa_outputs_bp: ``hp_filter=1600`` / ``bandpass_filter=[6 32]`` theoretical moments
  (Dynare computes them in the frequency domain on a 512-point grid);
* qa_outputs_persist: two ``stoch_simul`` statements; the second inherits the first one's options.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dsge_agents.errors import DSGEError
from dsge_agents.linear import solve
from dsge_agents.linear.solution import lower_cholesky
from dsge_agents.model import load


def _arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


@pytest.fixture(scope="module")
def data(repo):
    return repo / "tests" / "data" / "dynare"


@pytest.fixture(scope="module")
def sol(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return solve(load(data / "qa_outputs.mod", cache=False))


def _ref(data, name):
    return json.loads((data / f"qa_outputs_{name}.json").read_text())


def test_plain_outputs_match_dynare(sol, data):
    """Steady state, IRFs, moments and variance decomposition of the model itself (the base the
    other tests build on)."""
    ref = _ref(data, "cvd")
    vl = ref["varlist"]
    for k, v in ref["steady_state"].items():
        assert sol.steady_state[k] == pytest.approx(v, rel=1e-12, abs=1e-12)
    irf = sol.irf(periods=12)
    for s in sol.shocks:
        for v in vl:
            ours = irf[(irf.shock == s) & (irf.variable == v)].value.to_numpy()
            np.testing.assert_allclose(ours, ref["irfs"][f"{v}_{s}"], rtol=0, atol=1e-11)
    mo = sol.moments(nlags=3)
    np.testing.assert_allclose(mo["covariance"].loc[vl, vl].to_numpy(), _arr(ref["oo_var"]), rtol=1e-10, atol=1e-14)
    for L in range(3):
        np.testing.assert_allclose(mo["autocorr_matrices"][L].loc[vl, vl].to_numpy(), _arr(ref["oo_autocorr"][L]),
                                   rtol=0, atol=1e-11)
    # Dynare adds 1e-14 to the shock variances before its Cholesky factorization: 5e-8 percentage points here
    np.testing.assert_allclose(sol.variance_decomposition().loc[vl].to_numpy(),
                               _arr(ref["oo_variance_decomposition"]), rtol=0, atol=1e-6)


def test_conditional_variance_decomposition_matches_dynare(sol, data):
    ref = _ref(data, "cvd")
    vl, hs = ref["varlist"], ref["options"]["conditional_variance_decomposition"]
    assert hs == [1, 4, 10, 40]
    cvd = sol.conditional_variance_decomposition(hs)
    assert list(cvd.columns) == sol.shocks
    assert list(cvd.index.get_level_values("horizon").unique()) == hs
    for j, s in enumerate(sol.shocks):
        dyn = _arr(ref["oo_conditional_variance_decomposition"][j])      # variables x horizons, fractions
        for k, h in enumerate(hs):
            np.testing.assert_allclose(cvd.loc[h].loc[vl, s].to_numpy() / 100, dyn[:, k], rtol=0, atol=1e-12)
    # rows sum to 100, and a long horizon approaches the unconditional decomposition
    np.testing.assert_allclose(cvd.sum(axis=1).to_numpy(), 100.0, atol=1e-10)
    far = sol.conditional_variance_decomposition([5000]).loc[5000]
    np.testing.assert_allclose(far.to_numpy(), sol.variance_decomposition().to_numpy(), atol=1e-6)


def test_relative_irf_matches_dynare(sol, data):
    ref = _ref(data, "rel")
    assert ref["options"]["relative_irf"]
    names, arr = sol.irf_array(periods=12, shocks=["e_r", "e_a"], relative=True)
    assert names == ["e_r", "e_a"]
    keys = {f"{v}_{s}" for s in names for v in sol.declared}
    assert set(ref["irfs"]) == keys
    for k, s in enumerate(names):
        for i, v in enumerate(sol.declared):
            dyn = np.asarray(ref["irfs"][f"{v}_{s}"])
            # Dynare factors Sigma_e + 1e-14 I: var(e_r) = 6.25e-6, so relative differences of ~1e-10
            np.testing.assert_allclose(arr[k, :, i], dyn, rtol=1e-9, atol=1e-12 * np.abs(dyn).max(initial=1.0))
    tidy = sol.irf(periods=12, shocks="e_a", relative=True)
    ours = tidy[tidy.variable == "a"].value.to_numpy()
    np.testing.assert_allclose(ours, 100 * 0.95 ** np.arange(12), rtol=1e-13)   # a = 0.95 a(-1) + e_a


@pytest.mark.parametrize("name,kw", [("hp", {"hp_filter": 1600}), ("bp", {"bandpass": (6, 32)})])
def test_filtered_moments_match_dynare(sol, data, name, kw):
    ref = _ref(data, name)
    vl, ar = ref["varlist"], ref["options"]["ar"]
    mo = sol.moments(nlags=ar, **kw)
    var = _arr(ref["oo_var"])
    np.testing.assert_allclose(mo["covariance"].loc[vl, vl].to_numpy(), var, rtol=1e-10, atol=1e-12 * abs(var).max())
    np.testing.assert_allclose(mo["std"].loc[vl].to_numpy(), np.sqrt(np.diag(var)), rtol=1e-10)
    for L in range(ar):
        # Dynare 5.3 stores the FILTERED autocorrelation matrices transposed with respect to its unfiltered
        # ones (corr(y_{t-L}, y_t') instead of corr(y_t, y_{t-L}')); ours keep one meaning, corr(y_t, y_{t-L}')
        dyn = _arr(ref["oo_autocorr"][L])
        np.testing.assert_allclose(mo["autocorr_matrices"][L].loc[vl, vl].to_numpy(), dyn.T, rtol=0, atol=1e-11)
        np.testing.assert_allclose(mo["autocorr"].loc[vl, L + 1].to_numpy(), np.diag(dyn), rtol=0, atol=1e-11)
    # percentage points; Dynare's 1e-14 regularization of the shock covariance moves them by ~4e-8
    np.testing.assert_allclose(sol.variance_decomposition(**kw).loc[vl].to_numpy(),
                               _arr(ref["oo_variance_decomposition"]), rtol=0, atol=1e-6)


def test_spectral_autocovariances_reproduce_lyapunov(sol):
    """Second method: the frequency-domain autocovariances with a unit gain on a fine grid equal the
    exact (Lyapunov) ones, so the filtered moments differ from the unfiltered only by the gain."""
    N = 4096
    freqs = np.arange(N) * (2 * np.pi / N)
    G = sol._filtered_autocov(lower_cholesky(sol.shock_cov), freqs, np.ones(N), 3)
    mo = sol.moments(nlags=3)
    sd = np.outer(mo["std"], mo["std"])
    np.testing.assert_allclose(G[0], mo["covariance"].to_numpy(), atol=1e-13)
    for k in range(1, 4):
        np.testing.assert_allclose(G[k], mo["autocorr_matrices"][k - 1].to_numpy() * sd, atol=1e-13)


def test_hp_filtered_moments_of_a_random_walk_are_finite():
    """The HP filter removes frequency 0: a random walk has filtered moments (the unfiltered ones do
    not exist). Check against the closed form: filtered variance = (1/N) sum_j g_j^2 / |1 - e^{-iw_j}|^2."""
    from dsge_agents.model import from_dict
    m = from_dict({"name": "rw", "variables": ["x"], "shocks": {"e": 1.0}, "parameters": {"r": 1.0},
                   "equations": ["x = r*x(-1) + e"], "steady_state": {"x": 0}})
    s = solve(m)
    assert np.isnan(s.moments()["variance"]["x"])      # unfiltered: NaN, as Dynare
    mo = s.moments(nlags=1, hp_filter=1600)
    N = 512
    w = np.arange(1, N) * 2 * np.pi / N
    c = 4 * 1600 * (1 - np.cos(w)) ** 2
    g = c / (1 + c)
    exact = np.sum(g ** 2 / np.abs(1 - np.exp(-1j * w)) ** 2) / N
    assert mo["variance"]["x"] == pytest.approx(exact, rel=1e-12)


def test_filter_and_horizon_arguments_are_checked(sol):
    for kw in ({"hp_filter": 0}, {"hp_filter": -1}, {"bandpass": (32, 6)}, {"bandpass": "6 32"},
               {"hp_filter": 1600, "bandpass": (6, 32)}, {"hp_filter": 1600, "grid": 1}):
        with pytest.raises(DSGEError):
            sol.moments(**kw)
    with pytest.raises(DSGEError, match="below the frequency grid"):
        sol.moments(nlags=600, hp_filter=1600)
    for hs in ([], [0], [1.5], [-3]):
        with pytest.raises(DSGEError):
            sol.conditional_variance_decomposition(hs)


# ---------------------------------------------------------------- the CLI follows the file's stoch_simul
def _run_file(data, tmp_path, target):
    """qa_outputs.mod followed by tails/<target>.tail: the file Dynare ran (run_dynare.sh)."""
    f = tmp_path / f"{target}.mod"
    f.write_text((data / "qa_outputs.mod").read_text() + (data / "tails" / f"{target}.tail").read_text())
    return f


def _cli(argv, capsys):
    from dsge_agents.cli.main import main
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # the tail's write_json(...) is a reporting command
        assert main(argv) == 0
    return capsys.readouterr()


@pytest.mark.parametrize("name", ["hp", "bp", "cvd"])
def test_moments_command_applies_filters_and_conditional_decomposition(data, tmp_path, capsys, name):
    """``dsge-agents moments`` on the file Dynare ran prints Dynare's numbers: hp_filter / bandpass_filter
    moments and the conditional variance decomposition (before: unfiltered numbers with a note)."""
    import pandas as pd
    ref = _ref(data, name)
    f = _run_file(data, tmp_path, f"qa_outputs_{name}")
    csv = tmp_path / "m.csv"
    out = _cli(["moments", str(f), "--csv", str(csv)], capsys)
    assert "not applied" not in out.err
    tab = pd.read_csv(csv, index_col=0)
    vl = ref["varlist"]
    assert list(tab.index) == vl
    var = np.diag(_arr(ref["oo_var"]))
    np.testing.assert_allclose(tab["variance"].to_numpy(), var, rtol=1e-10)
    for L in range(ref["options"]["ar"]):
        np.testing.assert_allclose(tab[f"autocorr_{L + 1}"].to_numpy(), np.diag(_arr(ref["oo_autocorr"][L])),
                                   atol=1e-10)
    shocks = ["e_a", "e_g", "e_r", "e_x"]
    np.testing.assert_allclose(tab[[f"vd_{s}" for s in shocks]].to_numpy(), _arr(ref["oo_variance_decomposition"]),
                               atol=1e-6)
    if name == "cvd":
        assert "CONDITIONAL VARIANCE DECOMPOSITION" in out.out
        for k, h in enumerate(ref["options"]["conditional_variance_decomposition"]):
            for j, s in enumerate(shocks):
                np.testing.assert_allclose(tab[f"cvd{h}_{s}"].to_numpy() / 100,
                                           _arr(ref["oo_conditional_variance_decomposition"][j])[:, k], atol=1e-12)
    else:
        assert ("HP filter, lambda = 1600" if name == "hp" else "band-pass filter, periods 6 to 32") in out.out


def test_stoch_simul_options_persist_as_in_dynare(data, tmp_path, capsys):
    """Dynare never resets options_ between stoch_simul statements: the second statement of
    qa_outputs_persist still has irf=7, ar=2, irf_shocks=(e_g) and hp_filter=1600."""
    import pandas as pd
    ref = _ref(data, "persist")
    assert ref["options"]["irf"] == 7 and ref["options"]["hp_filter"] == 1600 and ref["varlist"] == ["c", "k"]
    f = _run_file(data, tmp_path, "qa_outputs_persist")
    csv = tmp_path / "irf.csv"
    _cli(["irf", str(f), "--no-plot", "--csv", str(csv)], capsys)
    df = pd.read_csv(csv)
    assert set(df.shock) == {"e_g"} and df.period.max() == 7
    for v in ("c", "k"):
        ours = df[df.variable == v].sort_values("period").value.to_numpy()
        np.testing.assert_allclose(ours, ref["irfs"][f"{v}_e_g"], rtol=1e-10, atol=1e-16)
    mcsv = tmp_path / "m.csv"
    _cli(["moments", str(f), "--csv", str(mcsv)], capsys)
    tab = pd.read_csv(mcsv, index_col=0)
    assert list(tab.index) == ["c", "k"]
    assert [c for c in tab.columns if c.startswith("autocorr_")] == ["autocorr_1", "autocorr_2"]
    np.testing.assert_allclose(tab["variance"].to_numpy(), np.diag(_arr(ref["oo_var"])), rtol=1e-10)


def test_irf_command_applies_relative_irf(data, tmp_path, capsys):
    import pandas as pd
    ref = _ref(data, "rel")
    f = _run_file(data, tmp_path, "qa_outputs_rel")
    csv = tmp_path / "irf.csv"
    out = _cli(["irf", str(f), "--no-plot", "--csv", str(csv)], capsys)
    assert "relative_irf" in out.out
    df = pd.read_csv(csv)
    assert list(dict.fromkeys(df.shock)) == ["e_r", "e_a"] and df.period.max() == 12
    for key, v in ref["irfs"].items():
        s = "e_r" if key.endswith("_e_r") else "e_a"
        ours = df[(df.shock == s) & (df.variable == key[:-len(s) - 1])].sort_values("period").value.to_numpy()
        np.testing.assert_allclose(ours, v, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(v).max()))


def test_one_sided_hp_filter_is_refused_for_theoretical_moments(data, tmp_path, capsys):
    from dsge_agents.cli.main import main
    f = tmp_path / "os.mod"
    f.write_text((data / "qa_outputs.mod").read_text() + "stoch_simul(order=1, one_sided_hp_filter=1600, irf=0);\n")
    assert main(["moments", str(f)]) == 1
    assert "one_sided_hp_filter" in capsys.readouterr().err


def test_unit_root_model_moments_of_the_stationary_variables_match_dynare(data):
    """qa_ur_moments.mod: x integrated, q with a root of 0.9999995 (Dynare's lyapunov_symm counts moduli
    above 2 - qz_criterium as unit roots). Dynare reports moments and the variance decomposition of the
    stationary variables and NaN for x and q (before: a DSGEError 'not stationary' for the whole model)."""
    ref = json.loads((data / "qa_ur_moments.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = solve(load(data / "qa_ur_moments.mod", cache=False))
    mo = s.moments(nlags=2)
    var = _arr(ref["oo_var"])
    assert np.isnan(var[0, 0]) and np.isnan(var[4, 4])
    np.testing.assert_allclose(mo["covariance"].to_numpy(), var, rtol=1e-10, atol=1e-16)   # NaN where Dynare's are
    for L in range(2):
        np.testing.assert_allclose(mo["autocorr_matrices"][L].to_numpy(), _arr(ref["oo_autocorr"][L]), atol=1e-11)
    np.testing.assert_allclose(s.variance_decomposition().to_numpy(), _arr(ref["oo_variance_decomposition"]),
                               atol=1e-6)
    cvd = s.conditional_variance_decomposition([1, 3])
    for j, e in enumerate(s.shocks):
        dyn = _arr(ref["oo_conditional_variance_decomposition"][j])
        for k, h in enumerate([1, 3]):
            np.testing.assert_allclose(cvd.loc[h][e].to_numpy() / 100, dyn[:, k], atol=1e-12)


def test_bad_stoch_simul_options_name_the_file(data, tmp_path, capsys):
    """irf_shocks naming an undeclared shock is an UnknownNameError with file and line (was a bare
    'unknown shock' from the solution, without the file); conditional_variance_decomposition=0 is refused
    as Dynare refuses it (was silently skipped: 0 == False)."""
    from dsge_agents.cli.main import main
    from dsge_agents.errors import UnknownNameError
    model = (data / "qa_outputs.mod").read_text()
    n = model.count("\n") + 1
    f = tmp_path / "s.mod"
    f.write_text(model + "stoch_simul(order=1, irf_shocks=(e_a, zz), irf=3) y;\n")
    with pytest.raises(UnknownNameError, match=rf"s.mod, line {n}.*'zz'.*varexo"):
        load(f, cache=False)
    f.write_text(model + "stoch_simul(order=1, conditional_variance_decomposition=0) y;\n")
    assert main(["moments", str(f)]) == 1
    err = capsys.readouterr().err
    assert "s.mod" in err and "conditional_variance_decomposition=0" in err and "at least 1" in err


def test_moments_command_prints_the_correlation_matrix_unless_nocorr(data, tmp_path, capsys):
    """Dynare prints the MATRIX OF CORRELATIONS of the stationary variables of the list unless nocorr
    (the command printed none); the values are oo_.var normalized (qa_ur_moments: x and q left out)."""
    ref = json.loads((data / "qa_ur_moments.json").read_text())
    out = _cli(["moments", str(data / "qa_ur_moments.mod")], capsys).out
    block = out.split("MATRIX OF CORRELATIONS\n")[1].split("\n\n")[0].splitlines()
    assert block[0].split() == ["dx", "z", "w"]
    V = _arr(ref["oo_var"])[1:4, 1:4]
    corr = V / np.sqrt(np.outer(np.diag(V), np.diag(V)))
    printed = np.array([[float(x) for x in line.split()[1:]] for line in block[1:]])
    np.testing.assert_allclose(printed, corr, atol=5e-5)
    assert "x, q not stationary" in out
    f = tmp_path / "nc.mod"
    f.write_text((data / "qa_ur_moments.mod").read_text().replace("nograph)", "nograph, nocorr)"))
    assert "MATRIX OF CORRELATIONS" not in _cli(["moments", str(f)], capsys).out
