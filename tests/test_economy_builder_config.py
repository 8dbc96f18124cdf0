"""Economy files as an SRE team writes them: every mistake is an EconomyError naming file, line and column.

The expected positions are found in the file text by the test itself (str.index of the offending token),
not taken from the reader.
"""
from __future__ import annotations

import re

import pytest

from dsge_agents.economy.config import load_config
from dsge_agents.errors import EconomyError


@pytest.fixture(scope="module")
def default_text(models_dir):
    return (models_dir / "orchestrated_default.yaml").read_text(encoding="utf-8")


def _pos(text: str, token: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of ``token`` in ``text``."""
    i = text.index(token)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _err(tmp_path, text: str) -> str:
    p = tmp_path / "eco.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(EconomyError) as ei:
        load_config(p)
    return str(ei.value)


@pytest.mark.parametrize("old, new, token, hint", [
    ("    depreciation: 0.0166667   # δ = 1/60 per minute\n    capacity: 400 ",
     "    depreciaton: 0.5\n    capacity: 400 ", "depreciaton", "depreciation"),
    ("  slo_phi_latency: 2.0 ", "  slo_phi_latncy: 9.0 ", "slo_phi_latncy", "slo_phi_latency"),
    ("  omega: 0.5 ", "  omgea: 0.9 ", "omgea", "omega"),
    ("  persistence: 0.8 ", "  persistance: 0.1 ", "persistance", "persistence"),
    ("  adjustment_cost: 4.0 ", "  adjustment_costs: 40.0 ", "adjustment_costs", "adjustment_cost"),
    ("  cost: {std: 0.02, persistence: 0.9}", "  cost: {std: 0.02, persistnce: 0.1}", "persistnce",
     "persistence"),
    ("  - {from: act, to: verify, prob: 0.7}", "  - {from: act, too: verify, prob: 0.7}", "too", "to"),
])
def test_typo_in_optional_field_is_an_error(tmp_path, default_text, old, new, token, hint):
    """A misspelt optional field used to fall back silently to its default (e.g. slo_phi_latncy: 9 ran
    the model with φ_W = 2); it must be an error at the key's line and column, suggesting the right name."""
    text = _edit(default_text, old, new)
    line, col = _pos(text, token + ":")
    msg = _err(tmp_path, text)
    assert f"eco.yaml, line {line}, column {col}" in msg, msg
    assert f"unknown key {token!r}" in msg and f"did you mean {hint!r}" in msg, msg


def test_duplicate_key_is_an_error(tmp_path, default_text):
    """PyYAML keeps the last of two equal keys; the first rate limit (400) was silently dropped."""
    old = "    capacity: 400             # rate limit, requests per minute\n  - name: plan_llama"
    text = _edit(default_text, old, "    capacity: 400\n    capacity: 40\n  - name: plan_llama")
    line, col = _pos(text, "    capacity: 40\n")
    msg = _err(tmp_path, text)
    assert f"line {line}, column {col + 4}" in msg and "duplicate key 'capacity'" in msg, msg
    assert f"first given on line {line - 1}" in msg


def test_exponent_notation_is_a_number(tmp_path, default_text):
    """YAML 1.1 reads an unquoted 1e3 as a string ('must be a number, got '1e3''); a user means 1000."""
    p = tmp_path / "eco.yaml"
    p.write_text(_edit(default_text, "  mean: 330 ", "  mean: 3.3E2 ").replace(
        "    unit_cost: 0.0            # marginal", "    unit_cost: 0e-3           # marginal"),
        encoding="utf-8")
    assert load_config(p).demand_mean == 330.0
    p.write_text(_edit(default_text, "  mean: 330 ", "  mean: 33e1 "), encoding="utf-8")
    cfg = load_config(p)
    assert cfg.demand_mean == 330.0 and isinstance(cfg.demand_mean, float)
    # a quoted number stays a string, and a wrong one is still an error with its position
    text = _edit(default_text, "  mean: 330 ", '  mean: "1e3" ')
    line, col = _pos(text, '"1e3"')
    assert f"line {line}, column {col + 1}" in _err(tmp_path, text)


def test_self_hosted_fields_on_an_api_agent(tmp_path, default_text):
    """kind defaults to api: an agent meant to be self-hosted but written without `kind` had its
    invest_price/depreciation ignored and became an API agent."""
    text = _edit(default_text, "    kind: self_hosted\n    quality: 0.85", "    quality: 0.85")
    text = _edit(text, "    depreciation: 0.0166667   # δ = 1/60 per minute\n    capacity: 400 ",
                 "    depreciation: 0.0166667   # δ = 1/60 per minute\n    capacity: 600 ")
    line, col = _pos(text, "0.0088082")
    msg = _err(tmp_path, text)
    assert f"line {line}, column {col}" in msg and "plan_llama" in msg and "kind: self_hosted" in msg, msg


def test_tau_alias_is_validated(tmp_path, default_text):
    text = _edit(default_text, "    base_latency: 2.85 ", "    tau: -2.85 ")
    line, col = _pos(text, "-2.85")
    msg = _err(tmp_path, text)
    assert f"line {line}, column {col}" in msg and "'tau'" in msg and "> 0" in msg, msg


def test_wrong_section_types(tmp_path, default_text):
    text = _edit(default_text, "routing:\n  beta: 800.0 ", "routing: [800.0]\nnotes:\n  beta: 800.0 ")
    line, col = _pos(text, "[800.0]")
    msg = _err(tmp_path, text)
    assert f"line {line}, column {col}" in msg and "'routing' must be a mapping" in msg, msg


def test_not_utf8_names_position(tmp_path, default_text):
    i = default_text.index("δ = 1/60")        # a Latin-1 byte there, UTF-8 elsewhere
    p = tmp_path / "eco.yaml"
    p.write_bytes(default_text[:i].encode("utf-8") + b"\xe9" + default_text[i + 1:].encode("utf-8"))
    line, col = _pos(default_text, "δ = 1/60")
    with pytest.raises(EconomyError, match=rf"eco\.yaml, line {line}, column {col}: .*not UTF-8"):
        load_config(p)


def test_yaml_syntax_error_position(tmp_path, default_text):
    text = _edit(default_text, "  mean: 330 ", "  mean: [330 ")
    msg = _err(tmp_path, text)
    assert re.search(r"eco\.yaml, line \d+, column \d+: YAML syntax error", msg), msg


def test_agent_in_two_stages(tmp_path, default_text):
    text = _edit(default_text, "  - name: act_api\n    stage: act\n", "  - name: act_api\n    stage: [act, verify]\n")
    line, col = _pos(text, "[act, verify]")
    msg = _err(tmp_path, text)
    assert f"line {line}, column {col}" in msg and "exactly one stage" in msg and "act_api_verify" in msg, msg


def test_steady_state_errors_name_the_place(tmp_path, default_text):
    """Errors found while solving the steady state point at the field to change (they named only the file,
    or nothing for a stage whose rate limits cannot carry its demand)."""
    from dsge_agents.economy.calibration import steady_state
    from dsge_agents.errors import SLOInfeasibleError
    p = tmp_path / "eco.yaml"
    text = _edit(default_text, "  slo_target_latency: 30.0 ", "  slo_target_latency: 8.0 ")
    p.write_text(text, encoding="utf-8")
    line, col = _pos(text, "8.0    # W*")
    where = rf"^{re.escape(str(p))}, line {line}, column {col}: "
    with pytest.raises(SLOInfeasibleError, match=where + "SLO unreachable"):
        steady_state(load_config(p))
    text = _edit(default_text, "  beta: 800.0 ", "  beta: 1e6 ")
    p.write_text(text, encoding="utf-8")
    line, _ = _pos(text, "  - name: verify_api")
    with pytest.raises(EconomyError, match=rf"^{re.escape(str(p))}, line {line}: agent 'verify_api'"):
        steady_state(load_config(p))
    text = _edit(default_text, "  - name: verify_llama\n", "  - name: verify_llama\n    capacity_shock: {std: 0}\n")
    text = text.replace("    capacity: 300\n", "    capacity: 100\n")
    text = _edit(text, "    kind: self_hosted\n    quality: 0.88", "    kind: api\n    quality: 0.88")
    text = _edit(text, "    invest_price: 0.0061920\n    depreciation: 0.0166667\n    capacity: 200",
                 "    capacity: 100")
    p.write_text(text, encoding="utf-8")
    with pytest.raises(EconomyError, match=rf"^{re.escape(str(p))}: stage 'verify'.*utilization ≥ 1"):
        steady_state(load_config(p))


def test_edge_given_twice(tmp_path, default_text):
    text = _edit(default_text, "  - {from: act, to: verify, prob: 0.7}     # 70 % of answers are checked\n",
                 "  - {from: act, to: verify, prob: 0.35}\n  - {from: act, to: verify, prob: 0.35}\n")
    line, col = _pos(text, "{from: act, to: verify, prob: 0.35}\n  - {from: act, to: verify")
    msg = _err(tmp_path, text)
    assert f"line {line + 1}, column {col}" in msg and "act -> verify is given twice" in msg, msg
    assert f"first on line {line}" in msg
