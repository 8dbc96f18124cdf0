"""Static-economy spec (``StaticEconomy.from_spec`` / ``dsge-agents equilibrium SPEC.yaml``): typos and
wrong types are errors naming the file, line and column; the file's K / basis hold (QA session 2)."""
from __future__ import annotations

import copy

import pytest
import yaml

from dsge_agents.cli.main import main
from dsge_agents.economy.examples import EXAMPLE_SPEC
from dsge_agents.economy.orchestrator import Orchestrator
from dsge_agents.economy.static import StaticEconomy, load_spec
from dsge_agents.errors import EconomyError


def _spec(**kw):
    s = copy.deepcopy(EXAMPLE_SPEC)
    s["K"] = 2
    s.update(kw)
    return s


def _agent(i, **kw):
    s = _spec()
    s["agents"][i].update(kw)
    return s


def _write(tmp_path, spec, name="eco.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _line_col(path, text):
    """1-based (line, column) of the first occurrence of ``text`` in the file (found independently)."""
    for i, line in enumerate(path.read_text().splitlines(), 1):
        j = line.find(text)
        if j >= 0:
            return i, j + 1
    raise AssertionError(text)


@pytest.mark.parametrize("spec, words", [
    (_spec(betta=200.0), ["betta", "did you mean 'beta'"]),              # was silently beta = 1
    (_agent(2, qualty=0.9), ["agents[2].qualty", "'quality'"]),           # was silently quality = 1
    (_agent(0, capacity="abc"), ["agents[0].capacity", "number", "'abc'"]),
    (_spec(K=2.5), ["K", "positive integer"]),                            # was silently K = 2
    (_spec(K="a"), ["K", "positive integer"]),
    (_spec(horizon="x"), ["horizon", "number"]),
    (_spec(beta=float("inf")), ["beta", "finite"]),
    (_spec(eta=float("inf")), ["eta", "finite"]),
    (_spec(theta=float("nan")), ["theta", "finite"]),
    (_spec(money=float("nan")), ["money", "finite"]),
    (_spec(spend_cap="x"), ["spend_cap", "number"]),
    (_spec(demand={"rate": "x"}), ["demand.rate", "number"]),
    (_spec(demand={"rate": 5.0, "amplitude": 1.5}), ["demand.amplitude", "< 1"]),
    (_spec(demand=[1, 2]), ["demand", "number"]),
    (_spec(agents={"a": 1}), ["agents", "list"]),
    (_spec(agents=[1]), ["agents[0]", "mapping"]),
    (_spec(edges=[["plan", "act", "x"], ["act", "verify", 0.8], ["act", "exit", 0.2]]), ["edges[0][2]", "number"]),
    (_spec(edges=["plan->act"]), ["edges[0]", "[from, to, probability]"]),
])
def test_bad_spec_is_an_economy_error_naming_the_key(spec, words):
    with pytest.raises(EconomyError) as exc:
        StaticEconomy.from_spec(spec, source="my.yaml")
    msg = str(exc.value)
    assert msg.startswith("my.yaml")
    for w in words:
        assert w in msg, (w, msg)


def test_orchestrator_rejects_unreachable_stage_and_non_finite_scalars():
    # 'act' and 'verify' can never be reached: demand there would be 0 and every solver divides by it
    with pytest.raises(EconomyError, match=r"\['act', 'verify'\] are never visited"):
        Orchestrator(["plan", "act", "verify"], [("plan", "exit", 1.0), ("act", "verify", 1.0)], entry="plan")
    for key in ("theta", "money", "beta", "eta", "spend_cap"):
        with pytest.raises(EconomyError, match="finite"):
            Orchestrator(["s"], [], **{key: float("inf")})
    with pytest.raises(EconomyError, match="branch probability must be a number"):
        Orchestrator(["a", "b"], [("a", "b", "x")])


@pytest.mark.parametrize("edit, text, words", [
    (lambda s: s.update(betta=s.pop("beta")), "betta:", ["did you mean 'beta'"]),
    (lambda s: s["agents"][2].update(service_time="fast"), "service_time: fast", ["agents[2].service_time"]),
    (lambda s: s["agents"][3].update(capcity=s["agents"][3].pop("capacity")), "capcity:", ["'capacity'"]),
    (lambda s: s["demand"].update(amplitud=0.1), "amplitud:", ["demand.amplitud"]),
])
def test_cli_spec_errors_name_file_line_and_column(tmp_path, capsys, edit, text, words):
    spec = copy.deepcopy(EXAMPLE_SPEC)
    edit(spec)
    path = _write(tmp_path, spec)
    line, col = _line_col(path, text)
    assert main(["equilibrium", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"{path}, line {line}, column {col}:" in err, err
    for w in words:
        assert w in err
    assert "Traceback" not in err


def test_load_spec_is_the_plain_mapping(tmp_path):
    path = _write(tmp_path, EXAMPLE_SPEC)
    assert load_spec(path) == yaml.safe_load(path.read_text())


def test_cli_keeps_the_spec_files_K_and_basis(tmp_path, capsys):
    spec = copy.deepcopy(EXAMPLE_SPEC)
    spec.update(K=3, basis="pwc")
    path = _write(tmp_path, spec)
    out = tmp_path / "r.json"
    main(["equilibrium", str(path), "--json", str(out)])
    import json
    d = json.loads(out.read_text())
    assert (d["K"], d["basis"]) == (3, "pwc")           # was 8, legendre (the CLI defaults)
    out.unlink()
    main(["equilibrium", str(path), "--K", "2", "--json", str(out)])   # an option wins over the file
    d = json.loads(out.read_text())
    assert (d["K"], d["basis"]) == (2, "pwc")


# ------------------------------------------------------------- orchestrated-economy YAML (config.py)
_DEFAULT = __import__("pathlib").Path(__file__).resolve().parents[1] / "models" / "orchestrated_default.yaml"


@pytest.mark.parametrize("old, new, words", [
    ("  beta: 800.0", "  betta: 800.0", ["(routing)", "unknown key 'betta'", "did you mean 'beta'"]),  # was ignored
    ("    base_latency: 2.85", "    base_latncy: 2.85", ["agent plan_api", "'base_latency'"]),
    ("    base_latency: 2.85", "    base_latency: fast", ["agent plan_api", "'base_latency' must be a number"]),
    ("  persistence: 0.8", "  persistance: 0.8", ["(demand)", "did you mean 'persistence'"]),   # was ignored
    ("\neta: 0.0", "\netaa: 0.0", ["unknown key 'etaa'", "(top level)", "did you mean 'eta'"]),
])
def test_orchestrated_yaml_errors_name_line_and_column_of_the_key(tmp_path, capsys, old, new, words):
    text = _DEFAULT.read_text()
    assert old in text
    path = tmp_path / "eco.yaml"
    path.write_text(text.replace(old, new, 1))
    line, col = _line_col(path, new.strip().split(":")[0] + ":")
    if new.endswith(": fast"):          # a value of the wrong type is pointed at itself, not at its key
        col += len(new.strip()) - len("fast")
    assert main(["equilibrium", str(path), "--K", "2"]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line {line}, column {col}" in err, err
    for w in words:
        assert w in err, (w, err)


def test_duplicate_keys_are_errors_with_both_lines(tmp_path, capsys):
    """PyYAML keeps the last of two equal keys silently (a pasted 'beta:' overrode the first one)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(EXAMPLE_SPEC, sort_keys=False) + "beta: 3.0\n")
    first, _ = _line_col(spec, "beta:")
    last = len(spec.read_text().splitlines())
    assert main(["equilibrium", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"{spec}, line {last}, column 1" in err and f"duplicate key 'beta' (first at line {first})" in err
    text = _DEFAULT.read_text()
    eco = tmp_path / "eco.yaml"
    eco.write_text(text.replace("  beta: 800.0", "  beta: 800.0\n  beta: 900.0", 1))
    line, col = _line_col(eco, "beta: 900.0")
    assert main(["equilibrium", str(eco), "--K", "2"]) == 1
    err = capsys.readouterr().err
    assert f"{eco}, line {line}, column {col}" in err and "duplicate key 'beta'" in err


def test_edge_to_end_hints_exit_and_bad_entry():
    """The orchestrated YAML leaves the DAG with 'end', the static spec with 'exit': say so."""
    with pytest.raises(EconomyError, match="leaves the system goes to 'exit'"):
        Orchestrator(["a", "b"], [("a", "b", 0.5), ("a", "end", 0.5)])
    with pytest.raises(EconomyError, match="entry must be"):          # was a ValueError
        Orchestrator(["a"], [], entry={"a": "x"})


def test_yaml_merge_keys_may_override_without_a_duplicate_error(tmp_path):
    """'<<: *anchor' then an own key of the same name is an override, not a duplicate."""
    spec = copy.deepcopy(EXAMPLE_SPEC)
    text = yaml.safe_dump(spec, sort_keys=False)
    text = text.replace("- name: plan_large\n", "- &big\n  name: plan_large\n", 1)
    assert text.rstrip().splitlines()[-1].startswith("  ")       # agents is the last key, items at column 1
    text += "- <<: *big\n  name: plan_huge\n  capacity: 7.0\n"
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    eco = StaticEconomy.from_spec(load_spec(path), source=str(path))
    assert eco.agent_names[-1] == "plan_huge" and eco.agents[-1].capacity == 7.0
    assert eco.agents[-1].service_time == eco.agents[1].service_time
    from dsge_agents.economy.config import load_config
    od = _DEFAULT.read_text().replace("  - name: plan_api\n", "  - &api\n    name: plan_api\n", 1)
    od = od.replace("\ndemand:", "\n  - <<: *api\n    name: plan_api2\n    capacity: 300\ndemand:", 1)
    path = tmp_path / "od.yaml"
    path.write_text(od)
    cfg = load_config(str(path))
    assert [a.name for a in cfg.agents][-1] == "plan_api2" and cfg.agents[-1].capacity == 300.0
    assert cfg.agents[-1].base_latency == cfg.agents[0].base_latency
