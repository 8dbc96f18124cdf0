"""Bad YAML models: every mistake is a ModelSyntaxError naming file, line and column (1-based),
never a traceback from deep inside the reader and never a silently ignored typo.

Expected positions are counted by hand in the texts below."""
from __future__ import annotations

import pytest

from dsge_agents.errors import ModelSyntaxError
from dsge_agents.model import load

BASE = """name: t
variables: [y, x]
shocks: {e: 0.1, u: 0.2}
parameters:
  rho: 0.9
  a: 2
equations:
  - y = rho*y(-1) + e + u
  - x = a*y
"""

CASES = {
    # name: (text, line, column, token, words in the message)
    "duplicate parameter key": (BASE.replace("  a: 2\n", "  a: 2\n  rho: 0.5\n"), 7, 3, "rho", "duplicate key"),
    "duplicate top-level key": (BASE + "parameters: {rho: 0.5, a: 3}\n", 10, 1, "parameters", "duplicate key"),
    "option typo": (BASE + "options: {loglinaer: true}\n", 10, 11, "loglinaer", "unknown key in options"),
    "option as text": (BASE + "options: {loglinear: 'false'}\n", 10, 23, "false", "true or false"),
    "options not a mapping": (BASE + "options: [loglinear]\n", 10, 10, "list", "mapping"),
    "equation key typo": (BASE.replace("  - x = a*y", "  - nmae: xeq\n    equation: x = a*y"), 9, 5, "nmae",
                          "unknown key in an equation"),
    "empty equation": (BASE.replace("  - x = a*y", "  -"), 9, 4, None, "non-empty"),
    "equation name with quote": (BASE.replace("  - x = a*y", "  - name: it's\n    equation: x = a*y"), 9, 11,
                                 "it's", "equation name"),
    "estimation key typo": (BASE + "estimation:\n  prioirs:\n    rho: {prior: beta, mean: 0.5, std: 0.1}\n", 11, 3,
                            "prioirs", "unknown key in estimation"),
    "prior key typo": (BASE + "estimation:\n  priors:\n    rho: {prior: beta, mean: 0.5, sdt: 0.1}\n", 12, 35,
                       "sdt", "unknown key in the prior of rho"),
    "prior mean not a number": (BASE + "estimation:\n  priors:\n    rho: {prior: beta, mean: abc, std: 0.1}\n",
                                12, 10, "abc", "prior mean of rho must be a number"),
    "correlation key with one shock": (BASE + 'shock_correlations: {"e": 0.1}\n', 10, 22, "e", "two shocks"),
    "correlation key without comma": (BASE + 'shock_correlations: {"e u": 0.1}\n', 10, 22, "e u", "two shocks"),
    "correlation above one": (BASE + 'shock_correlations: {"e, u": 1.5}\n', 10, 30, "1.5", "[-1, 1]"),
    "correlations as a list": (BASE + "shock_correlations: [e]\n", 10, 21, "list", "mapping"),
    "locals as a list": (BASE + "locals: [a]\n", 10, 9, "list", "mapping"),
    "local clashes with a parameter": (BASE + "locals: {a: rho*2}\n", 10, 13, "a", "clashes"),
    "steady_state as a list": (BASE + "steady_state: [0, 0]\n", 10, 15, "list", "mapping"),
    "initval as a list": (BASE + "initval: [0]\n", 10, 10, "list", "mapping"),
    "observables as text": (BASE + "observables: y\n", 10, 14, "y", "list"),
    "variable declared twice": (BASE.replace("[y, x]", "[y, x, y]"), 2, 19, "y", "declared twice"),
    "variable and parameter": (BASE.replace("  a: 2\n", "  a: 2\n  x: 1\n"), 7, 3, "x", "declared twice"),
    "variable and shock": (BASE.replace("{e: 0.1, u: 0.2}", "{e: 0.1, u: 0.2, y: 1}"), 3, 26, "y", "declared twice"),
    "infinite parameter": (BASE.replace("  a: 2", "  a: 1e400"), 6, 6, "1e400", "finite"),
    "stoch_simul of order 2": (BASE + "stoch_simul: {order: 2, irf: 20}\n", 10, 22, "2", "only order 1"),
    "stoch_simul flag false": (BASE + "stoch_simul: {nograph: false}\n", 10, 24, "False", "true (a flag)"),
    "policy rule names no equation": (BASE + "policy_rule: {equation: nosuch, parameters: [rho]}\n", 10, 25,
                                      "nosuch", "policy_rule equation"),
    "policy rule index out of range": (BASE + "policy_rule: {equation: 7, parameters: [rho]}\n", 10, 25, "7",
                                       "policy_rule equation"),
    "policy rule parameter undeclared": (BASE + "policy_rule:\n  equation: 0\n  parameters: [rho, zz]\n", 12, 21,
                                         "zz", "not a declared parameter"),
    "equation with an unquoted ': '": (BASE.replace("  - x = a*y", "  - x = a*y: 2"), 9, 5, "x = a*y", "must be quoted"),
    "measurement of an undeclared variable": (BASE + "observables:\n  z: {agent: _all, metric: arrivals}\n", 11, 3,
                                              "z", "not a declared variable"),
    "measurement not a mapping": (BASE + "observables: {y: arrivals}\n", 10, 18, "arrivals", "mapping"),
    "shock listed twice": (BASE.replace("{e: 0.1, u: 0.2}", "[e, u, e]"), 3, 16, "e", "declared twice"),
    "listed shock clashes with a variable": (BASE.replace("{e: 0.1, u: 0.2}", "[e, u, x]"), 3, 16, "x",
                                             "declared twice"),
    "prior list of names": (BASE + "estimation:\n  priors: [rho]\n", 11, 12, "rho", "a prior in a list"),
    "prior list without name": (BASE + "estimation:\n  - {prior: beta, mean: 0.5, std: 0.1}\n", 11, 5,
                                "{'prior': 'beta', 'mean': 0.5, 'std': 0.1}", "a prior in a list"),
    "prior list key typo": (BASE + "estimation:\n  - {name: rho, prior: beta, mean: 0.5, sd: 0.1}\n", 11, 41, "sd",
                            "unknown key in the prior of rho"),
    "policy rule names two equations": (BASE.replace("  - y = rho*y(-1) + e + u\n  - x = a*y",
                                                     "  - {name: r, eq: y = rho*y(-1) + e + u}\n  - {name: r, eq: x = a*y}")
                                        + "policy_rule: {equation: r, parameters: [rho]}\n", 10, 25, "r", "ambiguous"),
    "NaN parameter": (BASE.replace("  a: 2", "  a: .nan"), 6, 6, "nan", "finite"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_yaml_names_file_line_column(tmp_path, case):
    text, line, col, token, words = CASES[case]
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ModelSyntaxError) as ei:
        load(f, cache=False)
    err = ei.value
    assert (err.file, err.line, err.column) == (str(f), line, col), str(err)
    assert err.token == token and words in err.msg, str(err)


def test_valid_forms_still_accepted(tmp_path):
    """The checks do not reject what the schema allows: booleans in options, equation mappings
    with 'eq', an estimation given as a list of priors, correlations of ±1, a list of shocks."""
    f = tmp_path / "ok.yaml"
    f.write_text(BASE.replace("  - x = a*y", "  - {name: xeq, eq: x = a*y}")
                 + 'options: {loglinear: false, linear: false}\nshock_correlations: {"e, u": -1}\n'
                 + "estimation:\n  - {name: rho, prior: beta, mean: 0.5, std: 0.1}\n")
    m = load(f, cache=False)
    assert m.equations[1].name == "xeq" and m.estimated_params[0]["name"] == "rho"
    assert m.shock_cov[0, 1] == pytest.approx(-0.1 * 0.2)


def test_nested_aliases_are_not_expanded(tmp_path):
    """YAML aliases nested 9 deep name 10^9 scalars: the duplicate-key check must visit each node
    once (a walk that expands aliases never ends). A 60 s alarm turns a hang into a failure."""
    import signal
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    f = tmp_path / "aliases.yaml"
    f.write_text("variables: [y]\nshocks: [e]\nparameters: {r: 0.5}\nequations:\n  - y = r*y(-1) + e\n"
                 "metadata:\n" + "\n".join(lines) + "\n")

    def hang(*_):
        raise TimeoutError("the YAML reader expands aliases")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(60)
    try:
        assert load(f, cache=False).variables == ["y"]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_unused_variable_is_located(tmp_path):
    """A declared variable no equation uses: ModelStructureError (as for dicts) naming its place."""
    from dsge_agents.errors import ModelStructureError
    f = tmp_path / "bad.yaml"
    f.write_text(BASE.replace("[y, x]", "[y, x, k]").replace("  - x = a*y", "  - x = a*y\n  - 0 = a - 2"))
    with pytest.raises(ModelStructureError, match=rf"^{f}, line 2, column 19: .*never used.*: k$"):
        load(f, cache=False)
