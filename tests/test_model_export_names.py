"""`export --to mod` refuses names Dynare 5.3 cannot take, with a DSGEError listing them, instead of
writing a file Dynare rejects. Which names fail was established by running Dynare 5.3 on one model
per name and role (tests/data/dynare/reserved_names.sh -> reserved_names.txt)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsge_agents.errors import ModelStructureError
from dsge_agents.model import from_dict
from dsge_agents.model.mod_writer import dynare_name_problems

RESULTS = Path(__file__).parent / "data" / "dynare" / "reserved_names.txt"


def _dynare_outcomes():
    out = {}
    for line in RESULTS.read_text().splitlines():
        m = re.match(r"^(var|param) (\S+) rc=(\d+)$", line)
        if m:
            out[(m.group(1), m.group(2))] = int(m.group(3)) == 0
    return out


def _model(name, role):
    if role == "var":
        return from_dict({"variables": ["y", name], "shocks": {"u": 0.1}, "parameters": {"rho": 0.9},
                          "equations": ["y = rho*y(-1) + u", f"{name} = 2*y"]})
    return from_dict({"variables": ["y"], "shocks": {"u": 0.1}, "parameters": {name: 0.9},
                      "equations": [f"y = {name}*y(-1) + u"]})


@pytest.mark.parametrize("role_name", sorted(_dynare_outcomes()), ids=lambda t: f"{t[0]}-{t[1]}")
def test_export_refuses_exactly_what_dynare_rejects(role_name):
    """Every name Dynare rejected is refused; of the names Dynare took, only MATLAB keywords and
    Dynare's globals are refused too (conservatively: with ``periods`` Dynare copies simulated
    variables into the workspace as ``name = ...``, which a keyword breaks and a global overwrites)."""
    role, name = role_name
    ran = _dynare_outcomes()[role_name]
    m = _model(name, role)
    problems = dynare_name_problems(m)
    if not ran:
        assert problems, f"Dynare rejects {role} {name!r} but export would write it"
        with pytest.raises(ModelStructureError, match=re.escape(repr(name))):
            m.to_mod()
    elif name in ("if", "for", "while", "switch", "global", "return", "M_", "oo_", "options_"):
        assert problems         # refused although this run passed: see the docstring
    else:
        assert not problems, problems
