"""The Dynare macro language (dsge_agents.model.macro) against Dynare 5.3's own macro processor.

References (tests/data/dynare/README.md): ``qa_macro.mod`` (+ ``qa_macro_params.inc``) run by
``DYNARE_EXTRA=savemacro tests/data/dynare/run_dynare.sh qa_macro``, which writes Dynare's solution
(``qa_macro.json``) and Dynare's expansion of the file (``qa_macro_expanded_by_dynare.mod``).
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dsge_agents.errors import ModelSyntaxError, UnknownNameError
from dsge_agents.linear import solve
from dsge_agents.model import load
from dsge_agents.model.macro import expand
from dsge_agents.model.mod_reader import parse_mod

BASE = "var y; varexo e; parameters r; r = 0.5;\n"


def _lines(text):
    """Non-blank, non-comment lines without surrounding blanks (Dynare keeps its own indentation)."""
    return [s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("//")]


@pytest.fixture(scope="module")
def ddir(repo):
    return repo / "tests" / "data" / "dynare"


def test_expansion_equals_dynare_savemacro(ddir):
    with pytest.warns(UserWarning, match=r"qa_macro.mod, line 5\d: @#echo expanded"):
        ours, origin = expand((ddir / "qa_macro.mod").read_text(), str(ddir / "qa_macro.mod"))
    assert _lines(ours) == _lines((ddir / "qa_macro_expanded_by_dynare.mod").read_text())
    # every expanded line knows where it comes from: the calibration lines from the included file
    src = {o[0].rsplit("/", 1)[-1] for o in origin}
    assert src == {"qa_macro.mod", "qa_macro_params.inc"}


def test_macro_model_solution_matches_dynare(ddir):
    ref = json.loads((ddir / "qa_macro.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(ddir / "qa_macro.mod")
    assert m.declared_variables == ref["variables"] and m.shocks == ref["shocks"]
    for p, v in ref["parameters"].items():
        assert m.parameters[p] == pytest.approx(v, rel=1e-15), p
    assert [e.name for e in m.equations[:2]] == ["ar_h", "ar_fo"]
    sol = solve(m)
    arr = lambda x: np.array(x, dtype=float)  # noqa: E731
    np.testing.assert_allclose(sol.ghx.to_numpy(), arr(ref["ghx"]["values"]), atol=1e-10, rtol=0)
    np.testing.assert_allclose(sol.ghu.to_numpy(), arr(ref["ghu"]["values"]), atol=1e-10, rtol=0)
    irf = sol.irf(ref["irf_periods"])
    for key, vals in ref["irfs"].items():
        v, s = key.rsplit("_e_", 1)
        got = irf[(irf.variable == v) & (irf.shock == "e_" + s)].sort_values("period").value
        np.testing.assert_allclose(got, np.ravel(vals), atol=1e-10, rtol=0, err_msg=key)
    np.testing.assert_allclose(sol.moments()["covariance"].to_numpy(), arr(ref["moments"]["var"]), atol=1e-10)


def test_values_print_as_dynare_prints_them():
    # Dynare 5.3 `savemacro` output for this line (doubles as %.15g, arrays without quotes)
    text = ('@#define a = 0.1*3\n@#define b = 1/3\n@#define c = 1e20\n@#define d = [1, 2.5, "x"]\n'
            '@#define t = (1 < 2)\n// @{a} @{b} @{c} @{d} @{t} @{-0} @{2^0.5} @{1:3} @{length("abc")} '
            '@{"a" + "b"} @{d[2]} @{3 in [1,3]}\n')
    assert expand(text)[0].strip() == ("// 0.3 0.333333333333333 1e+20 [1, 2.5, x] true -0 1.4142135623731 "
                                       "[1, 2, 3] 3 ab 2.5 true")


def test_conditionals_loops_and_defines():
    text = ('@#define N = 3\n@#ifdef M\nbad\n@#elseif N >= 3 && !(N == 4)\nA\n@#if N > 5\nbad\n@#else\nB\n'
            '@#endif\n@#else\nbad\n@#endif\n@#for i in 1:2:N\nx@{i}\n@#for (a, b) in [("p", 1), ("q", 2)]\n'
            '@{a}@{b*i}\n@#endfor\n@#endfor\n@#ifndef M\nC@{M2}\n@#endif\n')
    out, origin = expand(text, "t.mod", defines={"M2": 7})
    assert out.split("\n") == ["A", "B", "x1", "p1", "q2", "x3", "p3", "q6", "C7", ""]
    assert [o[1] for o in origin] == [5, 9, 15, 17, 17, 15, 17, 17, 21, 23]


@pytest.mark.parametrize("text, line, col, match", [
    (BASE + "@#if r > 1\n@#endif\n", 2, 1, "unknown macro variable 'r'"),
    (BASE + "@#for i in 1:3\nx\n", 2, 1, "@#for is not closed by @#endfor"),
    (BASE + "@#endif\n", 2, 1, "@#endif without its opening directive"),
    (BASE + "@#define N = 2\n@#if N > 1\n  @#error \"N is \" + \"too big\"\n@#endif\n", 4, 3,
     "@#error: N is too big"),
    (BASE + "@#define v = [1, 2]\nmodel; y = r*y(-1) + @{v[3]}*e; end;\n", 3, 22, "index 3 out of range"),
    (BASE + "@#incloud \"x\"\n", 2, 1, "unknown macro directive"),
    (BASE + "@#include \"no_such_file.mod\"\n", 2, 1, "not found"),
    (BASE + "@#define f(x) = x + 1\n", 2, 1, "macro functions"),
])
def test_macro_errors_name_file_line_column(text, line, col, match):
    with pytest.raises(ModelSyntaxError, match=match) as ei:
        parse_mod(text, "t.mod")
    assert (ei.value.file, ei.value.line, ei.value.column) == ("t.mod", line, col)


def test_later_errors_point_into_the_users_file_and_included_files(tmp_path):
    (tmp_path / "eqs.inc").write_text("// equations\n@#for k in 1:2\n  x@{k} = r*x@{k}(-1) + e@{k} + zz;\n"
                                      "@#endfor\n")
    f = tmp_path / "main.mod"
    f.write_text("@#define K = 2\nvar x1 x2; varexo e1 e2; parameters r; r = 0.5;\n"
                 "model;\n@#include \"eqs.inc\"\nend;\n")
    with pytest.raises(UnknownNameError) as ei:
        load(f)
    # the unknown name is in the included file, line 3; columns count the user's text (x@{k} ...)
    assert (ei.value.file, ei.value.line, ei.value.column, ei.value.token) == (str(tmp_path / "eqs.inc"), 3, 33,
                                                                            "zz")
    (tmp_path / "eqs.inc").write_text("@#for k in 1:2\n  x@{k} = r*x@{k}(-1)^2 + e@{k};\n@#endfor\n")
    m = load(f)    # files with @#include bypass the parsed-model cache: the edit is seen
    assert [e.line for e in m.equations] == [2, 2] and m.equations[0].file == str(tmp_path / "eqs.inc")
    f.write_text("var y; varexo e; parameters r; r = 0.5;\nmodel;\n@#define P = 2\ny = r*y(-@{P}) + e;\nend;\n"
                 "shocks;\nvar e = 1;\nvar e = 2;\nend;\n")
    with pytest.raises(ModelSyntaxError, match="given twice") as ei:
        load(f)
    assert ei.value.line == 8


def test_read_mod_takes_defines_and_the_bytes_read_by_the_caller(tmp_path):
    # model.load reads the file once and hands those bytes to read_mod (the cache key covers exactly
    # what is parsed); macro variables set beforehand still apply
    from dsge_agents.model.mod_reader import read_mod
    f = tmp_path / "d.mod"
    f.write_text("var y; varexo e; parameters r; r = 0.1;\nmodel; y = r*y(-1) + e; end;\n")
    data = b"\xef\xbb\xbfvar y; varexo e; parameters r; r = @{R};\r\nmodel; y = r*y(-1) + e; end;\r\n"
    m = read_mod(f, defines={"R": 0.25}, data=data)     # UTF-8 with a byte-order mark, CRLF
    assert m.parameters["r"] == 0.25
    latin1 = b"var y; varexo e; parameters r; r = 0.5; // caf\xe9\nmodel; y = r*y(-1) + e; end;\n"
    assert read_mod(f, data=latin1).parameters["r"] == 0.5
    assert read_mod(f).parameters["r"] == 0.1


def test_include_with_blanks_after_the_hash_bypasses_the_parsed_model_cache(tmp_path):
    # the macro processor accepts '@# include' as '@#include'; the cache must not keep the old
    # included text for it either
    (tmp_path / "p.inc").write_text("r = 0.5;\n")
    f = tmp_path / "main.mod"
    f.write_text("var y; varexo e; parameters r;\n@# include \"p.inc\"\nmodel; y = r*y(-1) + e; end;\n")
    assert load(f).parameters["r"] == 0.5
    (tmp_path / "p.inc").write_text("r = 0.75;\n")
    assert load(f).parameters["r"] == 0.75
