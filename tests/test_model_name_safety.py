"""A model's name never becomes code: it is checked when read (YAML) and written as one comment line
in generated Python and exported .mod files (names with line breaks used to break out of the
``# model:`` comment of the generated module, which is imported: code execution on load)."""
from __future__ import annotations

import pytest

from dsge_agents.errors import ModelSyntaxError
from dsge_agents.model import from_dict, load

AR1 = """variables: [y]
shocks: {e: 0.1}
parameters: {rho: 0.9}
equations:
  - y = rho*y(-1) + e
"""


@pytest.mark.parametrize("name", ["ar1\\nimport os", "../../tmp/x", "a\\\\b", ".hidden", " padded"])
def test_yaml_model_name_is_checked(tmp_path, name):
    f = tmp_path / "m.yaml"
    f.write_text(f'name: "{name}"\n' + AR1)
    with pytest.raises(ModelSyntaxError) as ei:
        load(f, cache=False)
    assert ei.value.line == 1 and ei.value.file == str(f) and "model name" in ei.value.msg


def test_ordinary_names_still_load(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("name: plan-act-verify example (v2)\n" + AR1)
    assert load(f, cache=False).name == "plan-act-verify example (v2)"
    assert from_dict({"name": 5, "variables": ["y"], "shocks": ["e"], "parameters": {"rho": 0.5},
                      "equations": ["y = rho*y(-1) + e"]}).name == "5"


def test_name_with_line_break_stays_a_comment(tmp_path, monkeypatch):
    """Even a model whose name was set in code (no reader check) gives one comment line."""
    from dsge_agents.model.compiled import generate_large_source, generate_source
    from dsge_agents.model.mod_writer import write_mod
    f = tmp_path / "m.yaml"
    f.write_text(AR1)
    m = load(f, cache=False)
    m.name = "ar1\nraise SystemExit('injected')"
    for src in (generate_source(m), generate_large_source(m)[0]):
        assert not any(line.startswith("raise SystemExit") for line in src.splitlines())
        compile(src, "<gen>", "exec")
    mod = write_mod(m)
    assert not any(line.startswith("raise") for line in mod.splitlines())
    assert mod.splitlines()[0].startswith("// ar1\\nraise")
