"""YAML schema: the documented example, priors, shocks forms, key errors."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from dsge_agents.errors import ModelSyntaxError, UnknownNameError
from dsge_agents.model import from_dict, load

DOC = Path(__file__).resolve().parents[1] / "docs" / "model_language.md"


def test_documented_example_loads(tmp_path):
    text = DOC.read_text()
    block = re.search(r"## YAML schema\s+```yaml\n(.*?)```", text, re.S).group(1)
    f = tmp_path / "doc.yaml"
    f.write_text(block)
    m = load(f)
    assert m.variables == ["x", "pi", "i", "rn"] and m.observables == ["x", "pi"]
    assert m.policy_rule == {"equation": 2, "parameters": ["phi_pi", "phi_x", "rho_i"]}
    ep = {e["name"]: e for e in m.estimated_params}
    assert ep["kappa"]["prior"] == "gamma" and ep["kappa"]["kind"] == "param"
    assert ep["e_i"]["kind"] == "stderr" and ep["e_i"]["prior"] == "inv_gamma1" and math.isinf(ep["e_i"]["std"])
    assert m.estimation_options == {"nobs": 100}
    np.testing.assert_allclose(m.shock_cov, np.diag([0.0625, 0.25]))


def test_shock_forms_and_string_numbers():
    d = {"variables": ["x"], "shocks": ["e"], "parameters": {"a": "1e-3", "s": "2*a"},
         "equations": ["x = a*x(-1) + e"]}
    m = from_dict(d)
    assert m.parameters == {"a": 0.001, "s": 0.002} and m.shock_cov[0, 0] == 1.0
    d["shocks"] = {"e": "s"}
    d["shock_correlations"] = {}
    assert from_dict(d).shock_cov[0, 0] == pytest.approx(4e-6)


def test_unknown_top_level_key_has_line(tmp_path):
    f = tmp_path / "k.yaml"
    f.write_text("variables: [x]\nequations: ['x = 0.5*x(-1)']\nequatoins: []\n")
    with pytest.raises(ModelSyntaxError) as ei:
        load(f)
    assert ei.value.line == 3 and ei.value.token == "equatoins"


def test_invalid_yaml_reports_line(tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text("variables: [x\nequations: ['x = 0.5*x(-1)']\n")
    with pytest.raises(ModelSyntaxError, match="invalid YAML"):
        load(f)


def test_unknown_names_in_other_sections():
    base = {"variables": ["x"], "shocks": {"e": 1}, "parameters": {"a": 0.5}, "equations": ["x = a*x(-1) + e"]}
    with pytest.raises(UnknownNameError, match="b"):
        from_dict(dict(base, parameters={"a": "b + 1"}))
    with pytest.raises(UnknownNameError):
        from_dict(dict(base, estimation={"priors": {"zz": {"prior": "normal", "mean": 0, "std": 1}}}))
    with pytest.raises(UnknownNameError):
        from_dict(dict(base, observables=["y"]))
    with pytest.raises(ModelSyntaxError, match="prior shape"):
        from_dict(dict(base, estimation={"priors": {"a": {"prior": "cauchy", "mean": 0, "std": 1}}}))
    with pytest.raises(ModelSyntaxError, match="clashes with the function"):
        from_dict(dict(base, variables=["exp"], equations=["exp = 0.5*exp(-1)"]))
