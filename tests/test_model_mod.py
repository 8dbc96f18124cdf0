"""Dynare .mod reader, data files, writer round trip and the export command."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import DataError, ModelSyntaxError, UnknownNameError, UnsupportedStatementError
from dsge_agents.model import load, read_datafile
from dsge_agents.model.expr import split_tsym

SMALL = """// small model: # locals, a lead of 2, a lag of 2, a lagged shock
var y $y$ (long_name='output'), p pi;
varexo e u;
parameters a b c rho sig;
a = 0.5; b = 0.3;
c = 1 - a;      % derived from a
rho = 0.9;
sig = 0.01;
/* a block comment
   spanning lines */
model;
# g = a*b;
# h = g + c;
[name = 'output']
y = g*y(+2) + h*y(-1) + 0.1*y(-2) + e;
p = rho*p(-1) + u + 0.5*u(-2);
pi = p(+1) + y;
end;
initval;
y = 0; p = 0; pi = 0;
end;
shocks;
var e; stderr sig;
var u = 0.0004;
var e, u = 0.00001;
end;
varobs y pi;
estimated_params;
a, beta_pdf, 0.5, 0.1;
b, 0.3, 0, 1, normal_pdf, 0.3, 0.05;
rho, 0.8, beta_pdf, 0.7, 0.1;
stderr e, inv_gamma_pdf, 0.035449, inf;
stderr u, 0.02, 0.001, 1, inv_gamma2_pdf, 0.01, 0.5;
corr e, u, uniform_pdf, , , -1, 1;
sig, 0.01, 0.0001, 1;
end;
steady;
check;
stoch_simul(order=1, irf=20, nograph) y pi;
estimation(datafile=mydata, nobs=50, first_obs=3, presample=4, lik_init=2, prefilter=0,
           mode_compute=4, mh_replic=2000, mh_nblocks=2, mh_jscale=0.3, mh_drop=0.4);
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("mod")
    (d / "mydata.csv").write_text("y,pi\n1,2\n")
    f = d / "small.mod"
    f.write_text(SMALL)
    return load(f)


def test_declarations_locals_and_params(small):
    m = small
    assert m.variables[:3] == ["y", "p", "pi"] and m.shocks == ["e", "u"]
    assert m.parameters["c"] == pytest.approx(0.5) and m.derived_parameters == ["c"]
    assert m.param_names == ["a", "b", "rho", "sig"]
    assert m.equations[0].name == "output" and m.equations[0].line == 15
    # locals substituted: coefficient of y(-1) is a*b + (1 - a)
    th = m.compiled.theta()
    ssv = np.zeros(m.n_var)
    A_lag, A_cur, A_lead, A_u = m.compiled.jacobian(ssv, th)
    assert A_lag[0, 0] == pytest.approx(-(0.5 * 0.3 + 0.5))
    th2 = m.compiled.theta({"a": 0.2})
    assert m.compiled.jacobian(ssv, th2)[0][0, 0] == pytest.approx(-(0.2 * 0.3 + 0.8))   # c = 1 - a updated


def test_aux_variables_for_long_leads_lags(small):
    m = small
    assert m.aux_variables == ["AUX_ENDO_LEAD_y_1", "AUX_ENDO_LAG_y_1", "AUX_EXO_LAG_u_0", "AUX_EXO_LAG_u_1"]
    assert len(m.equations) == len(m.variables) == 7
    for e in m.equations:
        assert all(-1 <= split_tsym(s)[1] <= 1 for s in e.expr.free_symbols)
    j = {v: i for i, v in enumerate(m.variables)}
    A_lag, A_cur, A_lead, A_u = m.compiled.jacobian(np.zeros(m.n_var), m.compiled.theta())
    # y(+2) -> AUX_ENDO_LEAD_y_1(+1) with coefficient g = a*b; y(-2) -> AUX_ENDO_LAG_y_1(-1)
    assert A_lead[0, j["AUX_ENDO_LEAD_y_1"]] == pytest.approx(-0.15)
    assert A_lag[0, j["AUX_ENDO_LAG_y_1"]] == pytest.approx(-0.1)
    # u(-2) -> AUX_EXO_LAG_u_1(-1); AUX_EXO_LAG_u_0 = u
    assert A_lag[1, j["AUX_EXO_LAG_u_1"]] == pytest.approx(-0.5)
    k = next(i for i, e in enumerate(m.equations) if e.text == "AUX_EXO_LAG_u_0 = u")
    assert A_u[k, 1] == -1 and A_cur[k, j["AUX_EXO_LAG_u_0"]] == 1


def test_shocks_block_variants(small):
    s_e, v_u, c_eu = 0.01, 0.0004, 0.00001
    np.testing.assert_allclose(small.shock_cov, [[s_e ** 2, c_eu], [c_eu, v_u]], rtol=1e-14)
    assert small.shock_stderr_params == {"e": "sig"}
    th = small.compiled.theta({"sig": 0.02})
    assert small.compiled.shock_cov(th)[0, 0] == pytest.approx(0.0004)


def test_shocks_corr_statement(tmp_path):
    f = tmp_path / "c.mod"
    f.write_text("var x z; varexo e u; parameters r; r=0.5;\nmodel; x = r*x(-1) + e; z = u; end;\n"
                 "shocks; var e; stderr 0.1; var u; stderr 0.2; corr e, u = 0.3; end;\n")
    m = load(f)
    np.testing.assert_allclose(m.shock_cov, [[0.01, 0.3 * 0.02], [0.3 * 0.02, 0.04]])


def test_estimated_params(small):
    ep = {(e["kind"], str(e["name"])): e for e in small.estimated_params}
    a = ep[("param", "a")]
    assert (a["prior"], a["mean"], a["std"]) == ("beta", 0.5, 0.1) and math.isnan(a["init"])
    b = ep[("param", "b")]
    assert (b["init"], b["lower"], b["upper"], b["prior"], b["mean"], b["std"]) == (0.3, 0, 1, "normal", 0.3, 0.05)
    rho = ep[("param", "rho")]
    assert rho["init"] == 0.8 and rho["prior"] == "beta" and math.isinf(rho["upper"])
    se = ep[("stderr", "e")]
    assert se["prior"] == "inv_gamma1" and se["mean"] == 0.035449 and math.isinf(se["std"])
    su = ep[("stderr", "u")]
    assert (su["init"], su["lower"], su["upper"], su["prior"]) == (0.02, 0.001, 1, "inv_gamma2")
    c = ep[("corr", "['e', 'u']")]
    assert c["prior"] == "uniform" and math.isnan(c["mean"]) and (c["p3"], c["p4"]) == (-1, 1)
    ml = ep[("param", "sig")]
    assert ml["prior"] is None and (ml["init"], ml["lower"], ml["upper"]) == (0.01, 0.0001, 1)


def test_commands_and_estimation_options(small):
    o = small.estimation_options
    assert o["datafile"] == "mydata" and o["datafile_path"].endswith("mydata.csv")
    assert (o["nobs"], o["first_obs"], o["presample"], o["lik_init"], o["prefilter"]) == (50, 3, 4, 2, 0)
    assert (o["mode_compute"], o["mh_replic"], o["mh_nblocks"], o["mh_jscale"], o["mh_drop"]) == (4, 2000, 2, 0.3, 0.4)
    assert small.loglinear is False
    names = [c[0] for c in small.commands]
    assert names == ["steady", "check", "stoch_simul", "estimation"]
    assert small.commands[2][1] == {"order": 1, "irf": 20, "nograph": True, "varlist": ["y", "pi"]}
    assert small.observables == ["y", "pi"]


def test_unsupported_statements_name_line(tmp_path):
    base = "var x; varexo e; parameters r; r = 0.5;\nmodel; x = r*x(-1) + e; end;\n"
    for stmt, token in [("ramsey_model(planner_discount=0.99);", "ramsey_model"),
                        ("occbin_constraints;\nname 'zlb'; bind x < 0;\nend;", "occbin_constraints"),
                        ("planner_objective x^2;", "planner_objective"),
                        ("options_.nograph = 1;", None)]:
        f = tmp_path / "u.mod"
        f.write_text(base + "\n" + stmt + "\n")
        with pytest.raises((UnsupportedStatementError, ModelSyntaxError)) as ei:
            load(f)
        assert ei.value.line == 4, stmt
        if token:
            assert isinstance(ei.value, UnsupportedStatementError) and ei.value.token == token
            assert token in str(ei.value) and "line 4" in str(ei.value)
    f.write_text(base + "@#define f(x) = 3*x\n")
    with pytest.raises(UnsupportedStatementError, match="macro") as ei:
        load(f)
    assert ei.value.line == 3
    f.write_text(base + "stoch_simul(order=2);\n")
    with pytest.raises(UnsupportedStatementError, match="order=1"):
        load(f)


def test_reporting_command_warns(tmp_path):
    f = tmp_path / "w.mod"
    f.write_text("var x; varexo e; parameters r; r = 0.5;\nmodel; x = r*x(-1) + e; end;\n"
                 "write_latex_dynamic_model;\nshock_decomposition y;\n")
    with pytest.warns(UserWarning) as rec:
        m = load(f)
    msgs = [str(w.message) for w in rec]
    assert any("line 3" in s and "write_latex_dynamic_model" in s for s in msgs)
    assert any("line 4" in s and "shock_decomposition" in s for s in msgs)
    assert m.variables == ["x"]


def test_mod_unknown_name_and_unbalanced(tmp_path):
    f = tmp_path / "e.mod"
    f.write_text("var x; varexo e; parameters r; r = 0.5;\nmodel;\nx = r*x(-1) + e + q;\nend;\n")
    with pytest.raises(UnknownNameError) as ei:
        load(f)
    assert (ei.value.line, ei.value.column, ei.value.token) == (3, 19, "q")
    f.write_text("var x; varexo e; parameters r; r = 0.5;\nmodel;\nx = r*(x(-1) + e;\nend;\n")
    with pytest.raises(ModelSyntaxError, match="unbalanced") as ei:
        load(f)
    assert (ei.value.line, ei.value.column) == (3, 7)


def test_steady_state_model_with_temporaries(models_dir):
    p = models_dir / "fs2000.mod"
    if not p.exists():
        pytest.skip("models/fs2000.mod not present")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(p)
    assert m.has_analytic_steady_state and m.loglinear
    ss = m.steady_state()     # verified by residuals inside
    assert ss["m"] == pytest.approx(1.011) and ss["e"] == 1.0
    assert ss["R"] == pytest.approx(1.011 / 0.99)


def test_loglinear_option_of_stoch_simul(tmp_path):
    f = tmp_path / "l.mod"
    f.write_text("var x; varexo e; parameters r; r = 0.5;\nmodel; log(x) = r*log(x(-1)) + e; end;\n"
                 "initval; x = 1.2; end;\nstoch_simul(order=1, loglinear, irf=10);\n")
    m = load(f)
    assert m.loglinear and m.steady_state()["x"] == pytest.approx(1.0)
    A_lag, A_cur, A_lead, A_u = m.compiled.jacobian(np.ones(1), m.compiled.theta())
    assert (A_lag[0, 0], A_cur[0, 0]) == (pytest.approx(-0.5), pytest.approx(1.0))


def test_datafile_m(tmp_path):
    f = tmp_path / "d.m"
    f.write_text("% data\nT = 3;\ngp_obs = [\n 1.01 1.02 ...\n 1.03\n ]';\ngy_obs = [0.99; 1.0; 1e-1];\n")
    df = read_datafile(f)
    assert list(df.columns) == ["gp_obs", "gy_obs"]
    np.testing.assert_array_equal(df["gp_obs"].values, [1.01, 1.02, 1.03])
    np.testing.assert_array_equal(df["gy_obs"].values, [0.99, 1.0, 0.1])
    f.write_text("a = [1 2 3];\nb = [1 2];\n")
    with pytest.raises(DataError, match="different lengths"):
        read_datafile(f)
    f.write_text("a = [1 2 x];\n")
    with pytest.raises(DataError, match="line 1"):
        read_datafile(f)
    f.write_text("a = [1 2\n 3 4];\n")
    with pytest.raises(DataError, match="matrix"):
        read_datafile(f)
    f.write_text("a = load('x.mat');\n")
    with pytest.raises(DataError, match="line 1"):
        read_datafile(f)


def test_datafile_csv_with_dates(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text(",gy_obs,gp_obs\n1947Q3,1.0,2.0\n1947Q4,1.5,\n1948Q1,2.0,3.0\n")
    df = read_datafile(f)
    assert isinstance(df.index, pd.PeriodIndex) and str(df.index[0]) == "1947Q3"
    assert list(df.columns) == ["gy_obs", "gp_obs"] and math.isnan(df["gp_obs"].iloc[1])
    f.write_text("date,y\n1990m1,1\n1990m2,2\n")
    assert str(read_datafile(f).index[1]) == "1990-02"
    f.write_text("y,z\n1,2\n3,abc\n")
    with pytest.raises(DataError, match="row 3.*'z'"):
        read_datafile(f)


def test_datafile_shared_fs2000(shared_data):
    df = read_datafile(shared_data / "fs2000" / "fsdat_simul.csv")
    assert df.shape == (203, 2) and df["gy_obs"].iloc[0] == 1.0030045


def _ss_vec(m):
    return np.array([m.steady_state()[v] for v in m.variables])


@pytest.mark.parametrize("which", ["nk3.yaml", "rbc.yaml", "fs2000.mod", "small"])
def test_writer_round_trip(which, models_dir, small, tmp_path):
    if which == "small":
        m = small
    else:
        p = models_dir / which
        if not p.exists():
            pytest.skip(f"{p} not present")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = load(p)
    out = tmp_path / f"{m.name}_rt.mod"
    m.to_mod(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m2 = load(out)
    assert m2.variables == m.variables and m2.shocks == m.shocks and m2.parameters == m.parameters
    assert m2.loglinear == m.loglinear
    np.testing.assert_allclose(m2.shock_cov, m.shock_cov, rtol=1e-14)
    if which == "small":
        ss1 = ss2 = np.zeros(m.n_var)        # linear in deviations; no loglinear ss needed
        m_l, m2_l = m, m2
    else:
        ss1, ss2 = _ss_vec(m), _ss_vec(m2)
        np.testing.assert_allclose(ss2, ss1, rtol=1e-12, atol=1e-14)
    th1, th2 = m.compiled.theta(), m2.compiled.theta()
    for a, b in zip(m.compiled.jacobian(ss1, th1), m2.compiled.jacobian(ss2, th2)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    u = np.full(len(m.shocks), 0.01)
    np.testing.assert_allclose(m2.compiled.residual(ss2 * 1.01, ss2, ss2 * 0.99, u, th2),
                               m.compiled.residual(ss1 * 1.01, ss1, ss1 * 0.99, u, th1), rtol=1e-12, atol=1e-14)
    assert [e["name"] for e in m2.estimated_params] == [e["name"] for e in m.estimated_params]
    # the estimation(...) statement with its options (it was not written: sample, data file, MH lost)
    opts = lambda mm: {k: v for k, v in (mm.estimation_options or {}).items() if k != "datafile_path"}
    assert opts(m2) == opts(m)


def test_cli_export(tmp_path, models_dir):
    from dsge_agents.cli.main import main
    out = tmp_path / "nk3.mod"
    assert main(["export", str(models_dir / "nk3.yaml"), "--to", "mod", "-o", str(out)]) == 0
    text = out.read_text()
    assert "stoch_simul(order=1, irf=40, nograph);" in text and "var x pi i rn;" in text
    assert main(["export", str(models_dir / "nk3.yaml"), "-o", str(out)]) == 1      # exists
    assert main(["export", str(models_dir / "nk3.yaml"), "-o", str(out), "--force"]) == 0
    assert load(out).variables == ["x", "pi", "i", "rn"]


def test_cli_export_bad_output_paths(tmp_path, models_dir, capsys):
    """A missing folder or a directory as -o: a one-line error, not FileNotFoundError /
    IsADirectoryError from the final write."""
    from dsge_agents.cli.main import main
    capsys.readouterr()
    assert main(["export", str(models_dir / "nk3.yaml"), "-o", str(tmp_path / "no" / "nk3.mod")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(models_dir / "nk3.yaml"), "-o", str(tmp_path), "--force"]) == 1
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["my-model.mod", "2m.mod", "nk3.txt"])
def test_export_refuses_file_names_dynare_cannot_run(tmp_path, models_dir, capsys, name):
    """Dynare 5.3 stops on `dynare my-model` / `dynare 2m` ("argument of dynare must conform to
    MATLAB's convention for naming functions"; checked): export says so instead of writing it."""
    from dsge_agents.cli.main import main
    capsys.readouterr()
    assert main(["export", str(models_dir / "nk3.yaml"), "-o", str(tmp_path / name)]) == 1
    assert "Dynare runs only files named" in capsys.readouterr().err and not (tmp_path / name).exists()


def test_predetermined_variables(tmp_path):
    head = "var y k; varexo e; parameters a s dl; a = 0.3; s = 0.2; dl = 0.1;\n"
    f1 = tmp_path / "bop.mod"
    f1.write_text(head + "predetermined_variables k;\nmodel; y = exp(e)*k^a; k(+1) = s*y + (1-dl)*k; end;\n"
                  "initval; y = 1; k = 2; end;\n")
    f2 = tmp_path / "eop.mod"
    f2.write_text(head + "model; y = exp(e)*k(-1)^a; k = s*y + (1-dl)*k(-1); end;\ninitval; y = 1; k = 2; end;\n")
    m1, m2 = load(f1), load(f2)
    ss1, ss2 = _ss_vec(m1), _ss_vec(m2)
    np.testing.assert_allclose(ss1, ss2, rtol=1e-12)
    assert ss1[1] == pytest.approx((0.2 / 0.1) ** (1 / 0.7))
    for a, b in zip(m1.compiled.jacobian(ss1, m1.compiled.theta()), m2.compiled.jacobian(ss2, m2.compiled.theta())):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_bom_crlf_latin1_and_matlab_transpose(tmp_path):
    # a byte-order mark, Windows line ends, a Latin-1 comment and a native MATLAB line with
    # transposes: Dynare reads all of these; so do we (positions still count lines as Dynare does)
    body = ("var x; varexo e; parameters r; r = 0.5;\r\n"
            "% r\xe9glage\r\n"
            "model; x = r*x(-1) + e; end;\r\n"
            "write_json('out.json', {var_list_(:)'});\r\n"
            "shocks; var e; stderr 0.1; end;\r\n")
    f = tmp_path / "bom.mod"
    f.write_bytes(b"\xef\xbb\xbf" + body.replace("\xe9", "e").encode())
    with pytest.warns(UserWarning, match="line 4.*write_json"):
        m = load(f, cache=False)
    assert m.variables == ["x"] and m.shocks == ["e"]
    assert float(m.compiled.shock_cov(m.compiled.theta(None))[0, 0]) == pytest.approx(0.01)
    f.write_bytes(body.encode("latin-1"))
    with pytest.warns(UserWarning, match="line 4"):
        assert load(f, cache=False).variables == ["x"]
    f.write_bytes(b"\xef\xbb\xbf" + body.replace("x = r", "x = r @").encode())
    with pytest.raises(ModelSyntaxError) as ei:
        load(f, cache=False)
    assert (ei.value.line, ei.value.column) == (3, 14)   # the BOM is not a column


def test_steady_state_undefined_equation_message(tmp_path):
    # log(0): the residual is NaN; the error says so instead of "max |residual| nan"
    from dsge_agents.errors import SteadyStateError
    from dsge_agents.linear import solve
    f = tmp_path / "l.mod"
    f.write_text("var y; varexo e; parameters b; b = 0.5;\nmodel;\nlog(y) = b*log(y(-1)) + e;\nend;\n"
                 "steady_state_model; y = 0; end;\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SteadyStateError, match=r"1 equation\(s\) undefined there.*\n.*line 3"):
            solve(load(f, cache=False))


def test_static_dynamic_tags_and_duplicate_shock_values_are_errors(tmp_path):
    # Dynare 5.3 replaces a [dynamic] equation by its [static] twin in the static model; read as two
    # ordinary equations they gave a misleading "4 equations for 3 variables". Dynare also rejects a
    # shock given a variance twice (we used to keep the last one silently).
    base = "var x; varexo e u; parameters r; r = 0.5;\n"
    f = tmp_path / "t.mod"
    f.write_text(base + "model;\n[name='a', static]\nx = 0;\n[dynamic]\nx = r*x(-1) + e + u;\nend;\n")
    with pytest.raises(UnsupportedStatementError, match=r"\[static\]") as ei:
        load(f, cache=False)
    assert (ei.value.line, ei.value.token) == (3, "static")
    ok = base + "model;\n[name='static, dynamic']\nx = r*x(-1) + e + u;\nend;\n"
    f.write_text(ok)
    assert load(f, cache=False).equations[0].name == "static, dynamic"
    for block, line in [("var e = 0.01;\nvar e; stderr 0.2;", 8), ("var e; stderr 0.1;\nvar e = 0.01;", 8),
                        ("corr e, u = 0.1;\nvar u, e = 0.01;", 8)]:
        f.write_text(ok + "shocks;\n" + block + "\nend;\n")
        with pytest.raises(ModelSyntaxError, match="given twice") as ei:
            load(f, cache=False)
        assert ei.value.line == line, block


@pytest.mark.parametrize("eq, ok", [
    ("y = (a*y(-1))^1 + e/(1+a) + sqrt(a)*y(+1)", True),
    ("y = exp(a)*y(-1) + 0*y^2 + (y(-1) - e)*(a - 1)", True),
    ("y = a*y(-1)^2 + e", False),           # Dynare 5.3: "If the model is declared linear the second
    ("y = y(-1)*e", False),                 # derivatives must be equal to zero." (checked)
    ("y = exp(y(-1)) + e", False),
])
def test_model_linear_must_be_linear(tmp_path, eq, ok):
    from dsge_agents.errors import ModelStructureError
    f = tmp_path / "lin.mod"
    f.write_text(f"var y; varexo e; parameters a; a = 0.3;\nmodel(linear);\n{eq};\nend;\n")
    if ok:
        assert load(f, cache=False).linear
    else:
        with pytest.raises(ModelStructureError, match=r"declared linear but equation 1 \(line 3\)"):
            load(f, cache=False)


def test_parameter_reassignment_is_sequential_as_in_dynare(tmp_path):
    # Dynare runs parameter assignments as MATLAB statements, in order: b keeps the value it got
    # from the first a (checked with Dynare 5.3: a=0.7, b=1, c=2, d=2.7); we recomputed b = 2*a = 1.4.
    # 'a = a*2' used to end in a KeyError traceback.
    from dsge_agents.linear import solve
    f = tmp_path / "seq.mod"
    f.write_text("var y; varexo e; parameters a b c d g; a = 0.5; b = 2*a; c = b + 1; a = 0.7; d = a + c;\n"
                 "g = 0.25; g = g*2;\nmodel; y = 0.1*a*b*c*d*g*y(-1) + e; end;\nshocks; var e; stderr 1; end;\n")
    m = load(f, cache=False)
    assert m.parameters == pytest.approx({"a": 0.7, "b": 1.0, "c": 2.0, "d": 2.7, "g": 0.5}, rel=1e-15)
    np.testing.assert_allclose(solve(m).ghx.to_numpy(), [[0.1 * 0.7 * 1.0 * 2.0 * 2.7 * 0.5]], rtol=1e-14)
    # what stays derived is still recomputed from the others (c from b, d from a and c)
    np.testing.assert_allclose(solve(m, params={"a": 0.6}).ghx.to_numpy(),
                               [[0.1 * 0.6 * 1.0 * 2.0 * 2.6 * 0.5]], rtol=1e-14)


def test_stoch_simul_variable_list_must_be_declared(tmp_path):
    # Dynare stops on an unknown symbol in the list; the CLI's moments/irf follow the list
    f = tmp_path / "vl.mod"
    f.write_text("var y; varexo e; parameters a; a = 0.5;\nmodel; y = a*y(-1) + e; end;\n"
                 "stoch_simul(order=1, irf=3) y yy;\n")
    with pytest.raises(UnknownNameError, match="stoch_simul lists 'yy'") as ei:
        load(f, cache=False)
    assert (ei.value.line, ei.value.token) == (3, "yy")


def test_shocks_blocks_accumulate_unless_overwrite():
    # Dynare 5.3 (checked): two shocks blocks add up; shocks(overwrite) starts again from zero
    from dsge_agents.model.mod_reader import parse_mod
    base = ("var y; varexo e u; parameters b; b = 0.5;\nmodel; y = b*y(-1) + e + u; end;\n"
            "shocks; var e; stderr 0.1; end;\nshocks; var u; stderr 0.2; end;\n")
    np.testing.assert_allclose(parse_mod(base).shock_cov, np.diag([0.01, 0.04]))
    m = parse_mod(base + "shocks(overwrite); var e; stderr 0.3; end;\n")
    np.testing.assert_allclose(m.shock_cov, np.diag([0.09, 0.0]))


def test_shocks_block_uses_parameter_values_of_its_time():
    # Dynare 5.3 (checked): M_.Sigma_e = [0.01 0.006; 0.006 0.04] although s and r change afterwards
    from dsge_agents.model.mod_reader import parse_mod
    m = parse_mod("var y; varexo e u; parameters b s r;\nb = 0.5; s = 0.1; r = 0.3;\n"
                  "model; y = b*y(-1) + e + u; end;\n"
                  "shocks; var e; stderr s; var u; stderr 2*s; corr e, u = r; end;\ns = 0.7; r = 0.9;\n")
    np.testing.assert_allclose(m.shock_cov, [[0.01, 0.006], [0.006, 0.04]], rtol=1e-14)
    # a stderr that is a parameter assigned before the block stays linked to it (estimation)
    m = parse_mod("var y; varexo e; parameters b s; b = 0.5; s = 0.1;\nmodel; y = b*y(-1) + e; end;\n"
                  "shocks; var e; stderr s; end;\n")
    assert m.shock_stderr_params == {"e": "s"}


def test_two_model_blocks_add_up_and_missing_semicolon_before_end(tmp_path):
    # Dynare 5.3 appends the equations of several model blocks (checked: the rules below are Dynare's,
    # y = 0.5 y(-1) + e + 0.1 x, x = 0.5 x(-1) + y -> 0.9 y = 0.5 y(-1) + 0.05 x(-1):
    # ghx = [[5/9, 1/18], [5/9, 5/9]])
    from dsge_agents.linear import solve
    from dsge_agents.model.mod_reader import parse_mod
    m = parse_mod("var y x; varexo e; parameters a; a = 0.5;\nmodel; # q = 2*a; y = a*y(-1) + e + 0.1*x; end;\n"
                  "shocks; var e; stderr 1; end;\nmodel; x = q*x(-1)*0.5 + y; end;\n")
    np.testing.assert_allclose(solve(m).ghx.to_numpy(), [[5 / 9, 1 / 18], [5 / 9, 5 / 9]], rtol=1e-14)
    with pytest.raises(ModelSyntaxError, match="with and one without"):
        parse_mod("var y x; varexo e; parameters a; a = 0.5;\nmodel; y = a*y(-1) + e; end;\n"
                  "model(linear); x = y; end;\n")
    # 'y = a end;' used to be reported as an unclosed block at the block's first line
    with pytest.raises(ModelSyntaxError, match="missing ';' before this 'end'") as ei:
        parse_mod("var y; varexo e; parameters a; a = 0.5;\nmodel; y = a*y(-1) + e; end;\n"
                  "steady_state_model;\n  y = 0\nend;\n", "t.mod")
    assert (ei.value.line, ei.value.column) == (5, 1)


def test_model_linear_lists_every_nonlinear_equation(tmp_path):
    # both checks of Dynare 5.3's preprocessor in one message: a nonzero second derivative (with the
    # variable pair) and min/max/abs/sign of an endogenous variable, every equation with its line
    from dsge_agents.errors import ModelStructureError
    f = tmp_path / "lin.mod"
    f.write_text("var y z w; varexo e; parameters a; a = 0.5;\nmodel(linear);\ny = a*y(-1) + e;\n"
                 "z = y*y(-1);\nw = max(y, 0) + z;\nend;\n")
    with pytest.raises(ModelStructureError) as ei:
        load(f, cache=False)
    msg = str(ei.value)
    assert "declared linear but equation 2 (line 4) and 1 more are not linear" in msg
    assert "eq 2 (line 4): second derivative with respect to y(-1) and y is not zero: z = y*y(-1)" in msg
    assert "eq 3 (line 5): max() of an endogenous variable: w = max(y, 0) + z" in msg
    assert "eq 1 " not in msg


def test_histval_is_checked_and_ignored_with_a_warning(tmp_path):
    """histval only sets the starting point of simulations in Dynare 5.3 (stoch_simul's rules, IRFs and
    moments do not depend on it): a file using it loads (with a warning) and solves exactly as without it;
    it was an UnsupportedStatementError. Bad entries are errors naming line and token."""
    from dsge_agents.linear import solve
    base = ("var y z; varexo e; parameters rho b; rho = 0.5; b = rho;\n"
            "model; y = rho*y(-1) + e; z = 0.2*y + 0.5*z(+1); end;\n"
            "shocks; var e; stderr 0.1; end;\n")
    f = tmp_path / "h.mod"
    f.write_text(base + "histval;\ny(0) = rho;\ny(-1) = -b;\nend;\nstoch_simul(order=1);\n")
    with pytest.warns(UserWarning, match=r"h.mod, line 4: histval .*ignored"):
        m = load(f, cache=False)
    g = tmp_path / "g.mod"
    g.write_text(base + "stoch_simul(order=1);\n")
    ref = solve(load(g, cache=False))
    np.testing.assert_array_equal(solve(m).ghu.to_numpy(), ref.ghu.to_numpy())
    # analytic: y = 0.5 y(-1) + e; z = 0.2 y + 0.5 E z(+1) -> z = 0.2/(1 - 0.25) y
    np.testing.assert_allclose(ref.ghu.loc["z", "e"], 0.2 / 0.75, rtol=1e-13)
    for body, cls, line, token in [("histval; y(1) = 1; end;", ModelSyntaxError, 4, "y"),
                                   ("histval; q(0) = 1; end;", UnknownNameError, 4, "q"),
                                   ("histval; y = 1; end;", ModelSyntaxError, 4, "y"),
                                   ("histval;\ny(0) = bogus; end;", UnknownNameError, 5, "bogus")]:
        f.write_text(base + body + "\n")
        with pytest.raises(cls) as ei:
            load(f, cache=False)
        assert (ei.value.line, ei.value.token) == (line, token), body


def test_initval_and_histval_with_a_bare_parameter_name(tmp_path):
    """'initval; y = rho; end;' (a value that is just a parameter) was an AttributeError traceback
    ('float' object has no attribute 'free_symbols')."""
    f = tmp_path / "i.mod"
    f.write_text("var y; varexo e; parameters rho; rho = 0.5;\nmodel; y = rho*y(-1) + e; end;\n"
                 "initval; y = rho; end;\nshocks; var e; stderr rho; end;\n")
    m = load(f, cache=False)
    assert m.initval == {"y": 0.5}


def test_unknown_stoch_simul_option_and_unit_root_vars_warn(tmp_path):
    """A misspelled stoch_simul option ('hp_fliter': Dynare 5.3's preprocessor stops with a syntax error)
    was accepted silently, so the filter the user wanted was never applied: now a warning naming it.
    unit_root_vars, which Dynare 5.3 ignores with an 'obsolete' warning, was an UnsupportedStatementError."""
    f = tmp_path / "o.mod"
    f.write_text("var y x; varexo e; parameters r; r = 0.5;\nmodel; y = r*y(-1) + e; x = x(-1) + y; end;\n"
                 "unit_root_vars x;\nstoch_simul(order=1, hp_fliter=1600, TeX, nograph, irf_shocks=(e));\n")
    with pytest.warns(UserWarning) as rec:
        m = load(f, cache=False)
    msgs = [str(w.message) for w in rec]
    assert any("o.mod, line 4" in t and "hp_fliter" in t and "TeX" not in t for t in msgs), msgs
    assert any("o.mod, line 3" in t and "unit_root_vars" in t for t in msgs), msgs
    assert m.commands[-1][1]["hp_fliter"] == 1600
    f.write_text("var y; varexo e; parameters r; r = 0.5;\nmodel; y = r*y(-1) + e; end;\nunit_root_vars q;\n")
    with pytest.raises(UnknownNameError) as ei:
        load(f, cache=False)
    assert (ei.value.line, ei.value.token) == (3, "q")
