"""The ``kind: orchestrated_economy`` YAML schema: reading and validation (DESIGN §5.2).

An orchestrated economy is described by stages (a DAG with branch
probabilities), candidate agents per stage, a demand process, the SLO rule,
capacity provisioning and shocks. :func:`load_config` turns a YAML file or a
dict into an :class:`EconomyConfig`; every structural mistake raises
:class:`dsge_agents.errors.EconomyError` naming the file (with line and column
when the input is YAML text), the stage or agent, and what to change. A key
outside the schema below (a typo such as ``slo_phi_latncy``), a key given twice
in one mapping, and ``invest_price``/``depreciation`` on an API agent are errors,
not silently ignored; unquoted exponent numbers (``1e3``) are numbers.

Schema (all rates are per period; the default period is one minute)::

    kind: orchestrated_economy
    name: orchestrated_default
    period_seconds: 60
    stages: [plan, act, verify]
    entry: {plan: 1.0}                 # optional; default: the unique source stage
    edges:                             # branch probabilities; 'end' = leave the DAG
      - {from: plan, to: act, prob: 1.0}
      - {from: act, to: verify, prob: 0.7}
      - {from: act, to: end, prob: 0.3}
    agents:
      - name: plan_api
        stage: plan
        kind: api                      # api | self_hosted
        quality: 0.70                  # q_a
        base_latency: 2.85             # τ_a, seconds
        kingman: 1.094                 # k_a = (c_a² + c_s²)/2 (or service_cv: c_s)
        unit_cost: 0.00033             # κ_a $/request (or tokens_in/tokens_out/price_in/price_out)
        capacity: 600                  # API rate limit K̄_a (requests/period)
      - name: plan_llama
        stage: plan
        kind: self_hosted
        ...
        invest_price: 0.0059           # p^I_a, $ per unit of capacity (requests/period)
        depreciation: 0.0166667        # δ_a per period
        capacity: 400                  # optional initial stock (informational)
    demand: {mean: 330, persistence: 0.8, std: 0.165, retry_feedback: 0.0, arrival_cv: 1.09}
    routing: {beta: 800, theta: 0.01, omega: 0.5}
    eta: 0.0                           # value of time: the floor of the latency price
    capital: {discount: 0.9999999, adjustment_cost: 4.0}
    slo: {form: current, slo_rho: 0.5, slo_phi_latency: 2.0, slo_phi_cost: 0.0,
          slo_target_latency: 14.0, shock_std: 0.1, shock_persistence: 0.5}
    shocks:
      capacity: {std: 0.05, persistence: 0.7}   # defaults; an agent may override
      cost: {std: 0.02, persistence: 0.9}       #   with capacity_shock / cost_shock
    estimation: {...}                  # passed through to the model (priors)
"""
from __future__ import annotations

import copy
import difflib
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dsge_agents.errors import EconomyError

__all__ = ["AgentSpec", "Edge", "ShockSpec", "SLOSpec", "EconomyConfig", "load_config", "to_static_economy",
           "END", "SLO_FORMS"]

END = "end"
SLO_FORMS = ("current", "expected", "integral")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = {"demand", "latency", "cost", "quality", "net_value", "slo_rate", "spend", END}
_TOP_KEYS = {"kind", "name", "description", "period_seconds", "stages", "entry", "edges", "agents", "demand",
             "routing", "eta", "capital", "slo", "shocks", "estimation", "observables", "notes", "metadata"}


@dataclass
class ShockSpec:
    """An AR(1) shock z_t = persistence·z_{t−1} + ε_t, ε ~ N(0, std²)."""

    std: float = 0.0
    persistence: float = 0.0


@dataclass
class AgentSpec:
    """One candidate agent (a firm of DESIGN §5.1) at one stage."""

    name: str
    stage: str
    kind: str                    # 'api' | 'self_hosted'
    quality: float               # q_a
    base_latency: float          # τ_a (s)
    kingman: float               # k_a
    unit_cost: float             # κ_a ($/request)
    capacity: float | None       # API: rate limit K̄_a; self-hosted: optional initial stock
    invest_price: float = 0.0    # p^I_a ($ per unit capacity), self-hosted
    depreciation: float = 0.0    # δ_a per period, self-hosted
    capacity_shock: ShockSpec = field(default_factory=ShockSpec)
    cost_shock: ShockSpec = field(default_factory=ShockSpec)
    line: int | None = None

    @property
    def self_hosted(self) -> bool:
        return self.kind == "self_hosted"


@dataclass
class Edge:
    src: str
    dst: str
    prob: float
    line: int | None = None


@dataclass
class SLOSpec:
    """The SLO policy rule (DESIGN §5.2).

    Sign convention: ``slo_rate`` P is the price of latency; a positive
    ``slo_phi_latency`` raises P when latency is above the target W*
    (tightens); a positive ``slo_phi_cost`` raises P when cost is above its
    steady state C̄ (a cost-conscious operator uses a negative value, which
    loosens the SLO when spending overshoots). A positive ``eps_slo`` raises
    P: it tightens the SLO.
    """

    form: str = "current"
    slo_rho: float = 0.5
    slo_phi_latency: float = 2.0
    slo_phi_cost: float = 0.0
    slo_target_latency: float = 10.0
    shock: ShockSpec = field(default_factory=lambda: ShockSpec(0.1, 0.5))
    target_pos: tuple | None = None   # (line, column) of slo_target_latency in the file, for error messages


@dataclass
class EconomyConfig:
    """A validated orchestrated economy (see the module docstring for the YAML schema)."""

    name: str
    stages: list[str]
    edges: list[Edge]
    entry: dict[str, float]
    agents: list[AgentSpec]
    demand_mean: float
    demand_shock: ShockSpec
    retry_feedback: float = 0.0
    arrival_cv: float = 1.0
    beta: float = 1000.0           # logit precision (1/$)
    theta: float = 0.01            # value of one unit of quality per request ($)
    omega: float = 0.0             # routing partial adjustment
    eta: float = 0.0               # value of time (floor of the latency price)
    discount: float = 0.9999999    # β_d per period
    adjustment_cost: float = 0.0   # ψ
    slo: SLOSpec = field(default_factory=SLOSpec)
    period_seconds: float = 60.0
    estimation: dict | None = None
    observables: Any = None
    source: str | None = None
    description: str = ""

    # ----------------------------------------------------------------- derived
    def stage_agents(self, stage: str) -> list[AgentSpec]:
        return [a for a in self.agents if a.stage == stage]

    @property
    def agent_names(self) -> list[str]:
        return [a.name for a in self.agents]

    def agent(self, name: str) -> AgentSpec:
        for a in self.agents:
            if a.name == name:
                return a
        raise EconomyError(f"{self._where()}unknown agent {name!r}")

    @property
    def visit_ratios(self) -> dict[str, float]:
        """Expected visits per request v_s = entry_s + Σ_{p→s} v_p P(p→s) (topological order)."""
        v = {s: float(self.entry.get(s, 0.0)) for s in self.stages}
        out: dict[str, list] = {s: [] for s in self.stages}
        for e in self.edges:
            if e.dst != END:
                out[e.src].append(e)
        for s in topological_order(self.stages, self.edges):
            for e in out[s]:
                v[e.dst] += v[s] * e.prob
        return v

    def copy(self, **changes) -> "EconomyConfig":
        """Deep copy with top-level fields replaced."""
        c = copy.deepcopy(self)
        for k, val in changes.items():
            if not hasattr(c, k):
                raise EconomyError(f"{self._where()}unknown economy field {k!r}")
            setattr(c, k, val)
        return c

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def where_slo(self) -> str:
        """``file, line L, column C: `` of slo_target_latency (the file only when unknown)."""
        pos = self.slo.target_pos
        if self.source and pos and pos[0]:
            return f"{self.source}, line {pos[0]}, column {pos[1]}: "
        return self._where()

    def where_agent(self, j: int) -> str:
        """``file, line L: `` of agent ``j``'s entry (the file only when unknown)."""
        line = self.agents[j].line
        if self.source and line:
            return f"{self.source}, line {line}: "
        return self._where()


# ---------------------------------------------------------------------------- DAG helpers
def topological_order(stages: list[str], edges: list[Edge], where: str = "") -> list[str]:
    """Kahn's algorithm; raises :class:`EconomyError` naming a cycle."""
    succ = {s: [] for s in stages}
    indeg = {s: 0 for s in stages}
    for e in edges:
        if e.dst != END:
            succ[e.src].append(e.dst)
            indeg[e.dst] += 1
    from collections import deque
    order, ready = [], deque(s for s in stages if indeg[s] == 0)
    while ready:
        s = ready.popleft()
        order.append(s)
        for t in succ[s]:
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    if len(order) < len(stages):
        left = [s for s in stages if s not in order]
        cyc = _find_cycle(succ, left)
        raise EconomyError(f"{where}the stage graph has a cycle: {' -> '.join(cyc)}; the orchestrator's "
                           "stages must form a DAG (model a retry loop with demand.retry_feedback, or "
                           "unroll it into separate stages)")
    return order


def _find_cycle(succ, candidates) -> list[str]:
    cand = set(candidates)
    start = candidates[0]
    path, seen = [start], {start: 0}
    node = start
    while True:
        nxt = next((t for t in succ[node] if t in cand), None)
        if nxt is None:
            return path
        if nxt in seen:
            return path[seen[nxt]:] + [nxt]
        seen[nxt] = len(path)
        path.append(nxt)
        node = nxt


# ---------------------------------------------------------------------------- reading
class _LineLoader(yaml.SafeLoader):
    """Safe loader recording where every mapping and every key/value sits (1-based).

    Each mapping gets ``__line__``/``__col__`` (its start) and ``__pos__`` = {key: (line, column)} of the
    key's value and of the key itself, so that errors name file, line and column. A key given twice in
    one mapping is an error (PyYAML would silently keep the last value). Unquoted numbers in exponent
    notation without a dot (``1e3``, ``2E-5``), which YAML 1.1 reads as strings, are read as floats.
    """


class _DuplicateKey(Exception):
    def __init__(self, key, line, col, first):
        super().__init__(key)
        self.key, self.line, self.col, self.first = key, line, col, first


_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader, node, deep=False):
    seen: dict = {}
    pos: dict = {}
    # '<<: *anchor' (YAML merge keys): the merged pairs come first after flattening and the mapping's
    # own keys may override them; only an own key given twice is a duplicate
    n_own = sum(1 for k, _ in node.value if k.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    n_merged = len(node.value) - n_own
    for i, (k, v) in enumerate(node.value):
        if isinstance(k, yaml.ScalarNode):
            if i >= n_merged and k.value in seen:
                raise _DuplicateKey(k.value, k.start_mark.line + 1, k.start_mark.column + 1, seen[k.value])
            if i >= n_merged:
                seen[k.value] = k.start_mark.line + 1
            quoted = isinstance(v, yaml.ScalarNode) and v.style in ("'", '"')
            col = v.start_mark.column + 1 + (1 if quoted else 0)
            pos[loader.construct_object(k, deep=True)] = (v.start_mark.line + 1, col,
                                                          k.start_mark.line + 1, k.start_mark.column + 1)
    m = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    m["__line__"] = node.start_mark.line + 1
    m["__col__"] = node.start_mark.column + 1
    m["__pos__"] = pos
    return m


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_META = ("__line__", "__col__", "__pos__")


def _strip_lines(x):
    if isinstance(x, dict):
        return {k: _strip_lines(v) for k, v in x.items() if k not in _META}
    if isinstance(x, list):
        return [_strip_lines(v) for v in x]
    return x


def _load_text(text: str, name: str):
    """YAML text → annotated data; syntax errors and repeated keys name file, line and column."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except _DuplicateKey as exc:
        raise EconomyError(f"{name}, line {exc.line}, column {exc.col}: duplicate key {exc.key!r} "
                           f"(first given on line {exc.first}); YAML would silently keep only the last "
                           "value, remove one"
                           ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise EconomyError(f"{name}{loc}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise EconomyError(f"{name}: YAML syntax error: {exc}") from None


def read_yaml(path) -> dict:
    """Read a YAML file (UTF-8, safe loader, mappings annotated with their positions)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EconomyError(f"cannot read economy file {path}: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        head = raw[start:exc.start]
        line = head.count(b"\n") + 1
        col = len(head[head.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise EconomyError(f"{path}, line {line}, column {col}: the file is not UTF-8 text (byte "
                           f"0x{raw[exc.start]:02x}); save it as UTF-8") from None
    d = _load_text_cached(text, str(path))
    if not isinstance(d, dict):
        raise EconomyError(f"{path}: an economy file must be a mapping with kind: orchestrated_economy")
    return copy.deepcopy(d)   # callers may change what they get; the cached parse stays as read


@functools.lru_cache(maxsize=16)
def _load_text_cached(text: str, name: str):
    """:func:`_load_text`, remembered for the same file text: a what-if or transition re-reads the
    economy's YAML several times per call (~15 ms of parsing each for the default economy)."""
    return _load_text(text, name)


def load_config(src, source: str | None = None) -> EconomyConfig:
    """Read and validate an orchestrated economy from a YAML path, a dict or an :class:`EconomyConfig`.

    Raises
    ------
    EconomyError
        cyclic DAG, unknown/missing stage of an agent, branch probabilities
        not summing to one, bad numbers (each message names the stage/agent,
        the file and line, and what to change). Steady-state feasibility
        (SLO reachable, utilization < 1) is checked by
        :func:`dsge_agents.economy.calibration.steady_state`.
    """
    if isinstance(src, EconomyConfig):
        return src
    if isinstance(src, (str, Path)) and not (isinstance(src, str) and "\n" in src):
        source = source or str(src)
        d = read_yaml(src)
    elif isinstance(src, str):
        d = _load_text(src, source or "<economy>")
    elif isinstance(src, dict):
        d = src
    else:
        raise EconomyError(f"cannot read an economy from {type(src).__name__}")
    return _parse(d, source)


class _At:
    """Where a mapping of the economy file is: file, line and column (of the mapping or of one key's
    value), plus a label such as ``(agent plan_api)``. Dicts built in Python have no positions: the
    file (or ``<economy>``) and the label only."""

    def __init__(self, file: str, obj=None, label: str = ""):
        self.file, self.obj, self.label = file, obj, label

    def _fmt(self, pos) -> str:
        loc = f"{self.file}, line {pos[0]}, column {pos[1]}" if pos else self.file
        return f"{loc} {self.label}" if self.label else loc

    def __str__(self) -> str:
        o = self.obj
        pos = (o["__line__"], o.get("__col__", 1)) if isinstance(o, dict) and "__line__" in o else None
        return self._fmt(pos)

    def key(self, k, of_key: bool = False) -> str:
        """Position of the value of key ``k`` (of the key itself with ``of_key``; the mapping's position
        when unknown)."""
        o = self.obj
        pos = o.get("__pos__", {}).get(k) if isinstance(o, dict) else None
        if not pos:
            return str(self)
        return self._fmt(pos[2:] if of_key else pos[:2])

    def sub(self, k, label: str) -> "_At":
        """The mapping under key ``k`` (positioned at it when it is not itself a mapping)."""
        o = self.obj
        child = o.get(k) if isinstance(o, dict) else None
        if isinstance(child, dict):
            return _At(self.file, child, label)
        at = _At(self.file, None, label)
        pos = o.get("__pos__", {}).get(k) if isinstance(o, dict) else None
        if pos:
            at.obj = {"__line__": pos[0], "__col__": pos[1]}
        return at


def _check_keys(obj, allowed, at: "_At", what: str) -> None:
    """A key of ``obj`` outside ``allowed`` is an error at the key's position: a typo'd optional field
    (``slo_phi_latncy:``) must not silently fall back to its default."""
    if not isinstance(obj, dict):
        return
    for k in obj:
        if k in _META or k in allowed:
            continue
        close = difflib.get_close_matches(str(k), [str(a) for a in allowed], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise EconomyError(f"{at.key(k, of_key=True)}: unknown key {k!r} in {what} "
                           f"(allowed: {', '.join(sorted(allowed))}){hint}")


_EDGE_KEYS = {"from", "to", "prob"}
_AGENT_KEYS = {"name", "stage", "kind", "quality", "base_latency", "tau", "kingman", "service_cv",
               "unit_cost", "tokens_in", "tokens_out", "price_in", "price_out", "capacity", "invest_price",
               "depreciation",
               "capacity_shock", "cost_shock", "description", "notes"}
_SELF_HOSTED_ONLY = ("invest_price", "depreciation")
_DEMAND_KEYS = {"mean", "persistence", "std", "retry_feedback", "arrival_cv"}
_ROUTING_KEYS = {"beta", "theta", "omega"}
_CAPITAL_KEYS = {"discount", "adjustment_cost"}
_SLO_KEYS = {"form", "slo_rho", "slo_phi_latency", "slo_phi_cost", "slo_target_latency", "shock_std",
             "shock_persistence"}
_SHOCKS_KEYS = {"capacity", "cost"}
_SHOCK_KEYS = {"std", "persistence"}


def _num(d, key, where, default=None, *, lo=None, hi=None, lo_open=False, hi_open=False, required=False):
    w = where.key(key) if isinstance(where, _At) else where
    if key not in d or d[key] is None:
        if required:
            raise EconomyError(f"{where}: missing required field {key!r}")
        return default
    val = d[key]
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise EconomyError(f"{w}: field {key!r} must be a number, got {val!r}")
    val = float(val)
    if not math.isfinite(val):
        raise EconomyError(f"{w}: field {key!r} must be finite, got {val!r}")
    if lo is not None and (val < lo or (lo_open and val == lo)):
        raise EconomyError(f"{w}: field {key!r} = {val:g} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and (val > hi or (hi_open and val == hi)):
        raise EconomyError(f"{w}: field {key!r} = {val:g} must be {'<' if hi_open else '<='} {hi:g}")
    return val


def _shock(d, where, default: ShockSpec) -> ShockSpec:
    if d is None:
        return copy.copy(default)
    if not isinstance(d, dict):
        raise EconomyError(f"{where}: a shock must be a mapping {{std: ..., persistence: ...}}")
    _check_keys(d, _SHOCK_KEYS, where, "a shock")
    return ShockSpec(std=_num(d, "std", where, default.std, lo=0.0),
                     persistence=_num(d, "persistence", where, default.persistence, lo=0.0, hi=1.0,
                                      hi_open=True))


def _parse(d: dict, source: str | None) -> EconomyConfig:
    file = source or "<economy>"

    def at(obj) -> str:
        return str(_At(file, obj))

    top = _At(file, d)
    kind = d.get("kind")
    if kind != "orchestrated_economy":
        raise EconomyError(f"{top.key('kind')}: kind must be 'orchestrated_economy' (got {kind!r})")
    _check_keys(d, _TOP_KEYS, top, "the economy file (top level)")
    name = str(d.get("name") or (Path(source).stem if source else "orchestrated_economy"))

    # stages
    stages = d.get("stages")
    if isinstance(stages, dict):
        stages = [k for k in stages if k not in _META]
    if not isinstance(stages, list) or not stages:
        raise EconomyError(f"{top.key('stages')}: 'stages' must be a non-empty list of stage names")
    stages = [str(s) for s in stages]
    for s in stages:
        if not _NAME_RE.match(s) or s == END:
            loc = top.key('stages')
            raise EconomyError(f"{loc}: invalid stage name {s!r} (letters, digits, '_'; not {END!r})")
    if len(set(stages)) != len(stages):
        dup = sorted({s for s in stages if stages.count(s) > 1})
        raise EconomyError(f"{top.key('stages')}: duplicate stage name(s) {dup}")

    # edges
    edges: list[Edge] = []
    for e in d.get("edges") or []:
        if not isinstance(e, dict):
            raise EconomyError(f"{top.key('edges')}: each edge must be a mapping {{from:, to:, prob:}}")
        ew = _At(file, e, "(edge)")
        w = str(ew)
        _check_keys(e, _EDGE_KEYS, ew, "an edge")
        src, dst = e.get("from"), e.get("to")
        if src not in stages:
            loc = ew.key('from')
            raise EconomyError(f"{loc}: edge from unknown stage {src!r} "
                               f"(declared stages: {', '.join(stages)})")
        if dst != END and dst not in stages:
            loc = ew.key('to')
            raise EconomyError(f"{loc}: edge to unknown stage {dst!r} (declared stages: {', '.join(stages)}, "
                               f"or {END!r} to leave the DAG)")
        if src == dst:
            raise EconomyError(f"{w}: edge {src} -> {dst} is a self-loop; the stages must form a DAG "
                               "(model retries with demand.retry_feedback)")
        prob = _num(e, "prob", ew, 1.0, lo=0.0, hi=1.0)
        twin = next((x for x in edges if x.src == src and x.dst == dst), None)
        if twin is not None:
            raise EconomyError(f"{w}: edge {src} -> {dst} is given twice (first on line {twin.line}); its branch "
                               "probabilities would add up silently: give one edge with the total probability")
        edges.append(Edge(str(src), str(dst), prob, e.get("__line__")))
    by_src: dict[str, list] = {s: [] for s in stages}
    for e in edges:
        by_src[e.src].append(e)
    for s in stages:
        out = by_src[s]
        if out:
            tot = sum(e.prob for e in out)
            if abs(tot - 1.0) > 1e-9:
                w = f"{file}, line {out[0].line}" if out[0].line else file
                raise EconomyError(
                    f"{w}: branch probabilities out of stage {s!r} sum to {tot:.6g}, not 1 "
                    f"({', '.join(f'{e.dst}: {e.prob:g}' for e in out)}); rescale them or add an edge "
                    f"{{from: {s}, to: {END}, prob: {1.0 - tot:.6g}}}" if tot < 1 else
                    f"{w}: branch probabilities out of stage {s!r} sum to {tot:.6g}, not 1 "
                    f"({', '.join(f'{e.dst}: {e.prob:g}' for e in out)}); rescale them to sum to one")
    order = topological_order(stages, edges, where=f"{file}: ")
    # entry distribution
    entry_raw = d.get("entry")
    if entry_raw is None:
        sources = [s for s in stages if not any(e.dst == s for e in edges)]
        if len(sources) != 1:
            loc = top.key('edges')
            raise EconomyError(f"{loc}: the DAG has {len(sources)} source stages ({', '.join(sources)}); "
                               "give 'entry: {stage: probability, ...}' summing to one")
        entry = {sources[0]: 1.0}
    else:
        if not isinstance(entry_raw, dict):
            raise EconomyError(f"{top.key('entry')}: 'entry' must be a mapping {{stage: probability}}")
        entry = {}
        for k, v in entry_raw.items():
            if k in _META:
                continue
            if k not in stages:
                raise EconomyError(f"{_At(file, entry_raw).key(k)}: entry names unknown stage {k!r}")
            entry[k] = _num(entry_raw, k, _At(file, entry_raw, "(entry)"), lo=0.0, hi=1.0)
        if abs(sum(entry.values()) - 1.0) > 1e-9:
            loc = at(entry_raw)
            raise EconomyError(f"{loc}: entry probabilities sum to {sum(entry.values()):.6g}, not 1; "
                               "rescale them")

    # shocks defaults
    shocks = d.get("shocks") or {}
    if not isinstance(shocks, dict):
        loc = top.key('shocks')
        raise EconomyError(f"{loc}: 'shocks' must be a mapping with 'capacity' and 'cost' entries")
    sw = top.sub("shocks", "(shocks)")
    _check_keys(shocks, _SHOCKS_KEYS, sw, "shocks")
    cap_default = _shock(shocks.get("capacity"), sw.sub("capacity", "(shocks.capacity)"),
                         ShockSpec(0.05, 0.7))
    cost_default = _shock(shocks.get("cost"), sw.sub("cost", "(shocks.cost)"), ShockSpec(0.02, 0.9))

    # agents
    raw_agents = d.get("agents")
    if not isinstance(raw_agents, list) or not raw_agents:
        raise EconomyError(f"{top.key('agents')}: 'agents' must be a non-empty list")
    agents: list[AgentSpec] = []
    seen = set()
    for ra in raw_agents:
        if not isinstance(ra, dict):
            loc = top.key('agents')
            raise EconomyError(f"{loc}: each agent must be a mapping (name:, stage:, kind:, ...)")
        nm = ra.get("name")
        aw = _At(file, ra, f"(agent {nm})")
        if not isinstance(nm, str) or not _NAME_RE.match(nm) or "__" in nm:
            loc = _At(file, ra).key('name')
            raise EconomyError(f"{loc}: invalid agent name {nm!r} "
                               "(letters, digits, single '_', starting with a letter)")
        if nm in _RESERVED or nm in seen:
            loc = _At(file, ra).key('name')
            raise EconomyError(f"{loc}: agent name {nm!r} is "
                               f"{'reserved' if nm in _RESERVED else 'duplicated'}")
        seen.add(nm)
        _check_keys(ra, _AGENT_KEYS, aw, f"agent {nm!r}")
        w = str(aw)
        st = ra.get("stage")
        if st is None:
            raise EconomyError(f"{w}: the agent is attached to no stage; add 'stage: <one of "
                               f"{', '.join(stages)}>'")
        if isinstance(st, list):
            raise EconomyError(f"{aw.key('stage')}: an agent serves exactly one stage (got {st!r}); to run the "
                               "same model at several stages declare one agent per stage, e.g. "
                               f"{', '.join(f'{nm}_{x}' for x in st[:2] if isinstance(x, str))}: each has its own "
                               "capacity, queue and routing share")
        if not isinstance(st, str) or st not in stages:
            loc = aw.key('stage')
            raise EconomyError(f"{loc}: the agent's stage {st!r} is not a declared stage "
                               f"({', '.join(stages)}); "
                               "fix the name or add the stage to 'stages'")
        kind_a = ra.get("kind", "api")
        if kind_a not in ("api", "self_hosted"):
            raise EconomyError(f"{aw.key('kind')}: kind must be 'api' or 'self_hosted' (got {kind_a!r})")
        q = _num(ra, "quality", aw, required=True)
        tau = _num(ra, "base_latency", aw, None, lo=0.0, lo_open=True)
        if tau is None:
            tau = _num(ra, "tau", aw, None, lo=0.0, lo_open=True)
        if tau is None:
            raise EconomyError(f"{w}: missing 'base_latency' (τ_a, seconds at no load)")
        if "kingman" in ra:
            k = _num(ra, "kingman", aw, lo=0.0, lo_open=True)
        else:
            cs = _num(ra, "service_cv", aw, 1.0, lo=0.0)
            ca = _num(d.get("demand") or {}, "arrival_cv", top.sub("demand", "(demand)"), 1.0, lo=0.0)
            k = (ca ** 2 + cs ** 2) / 2.0
            if k <= 0:
                raise EconomyError(f"{w}: Kingman factor (c_a²+c_s²)/2 is zero; give a positive service_cv")
        if "unit_cost" in ra:
            kappa = _num(ra, "unit_cost", aw, lo=0.0)
        elif any(x in ra for x in ("tokens_in", "tokens_out")):
            ti = _num(ra, "tokens_in", aw, 0.0, lo=0.0)
            to = _num(ra, "tokens_out", aw, 0.0, lo=0.0)
            pi_ = _num(ra, "price_in", aw, 0.0, lo=0.0)
            po = _num(ra, "price_out", aw, 0.0, lo=0.0)
            kappa = (ti * pi_ + to * po) / 1e6
        else:
            kappa = 0.0 if kind_a == "self_hosted" else None
            if kappa is None:
                raise EconomyError(f"{w}: an API agent needs 'unit_cost' ($/request) or tokens_in/tokens_out "
                                   "with price_in/price_out ($ per 1M tokens)")
        cap = _num(ra, "capacity", aw, None, lo=0.0, lo_open=True)
        pI, dep = 0.0, 0.0
        if kind_a == "api":
            extra = [k for k in _SELF_HOSTED_ONLY if k in ra]
            if extra:
                loc = aw.key(extra[0])
                raise EconomyError(f"{loc}: {', '.join(extra)} only apply to self-hosted agents, but this "
                                   f"agent is kind {kind_a!r}{' (the default)' if 'kind' not in ra else ''}; "
                                   "add "
                                   "'kind: self_hosted' or remove them")
            if cap is None:
                raise EconomyError(f"{w}: an API agent needs 'capacity' (its rate limit, requests per period)")
        else:
            dep = _num(ra, "depreciation", aw, 1.0 / 60.0, lo=0.0, hi=1.0, lo_open=True)
            pI = _num(ra, "invest_price", aw, None, lo=0.0, lo_open=True)
            if pI is None:
                raise EconomyError(f"{w}: a self-hosted agent needs 'invest_price' (p^I, $ per unit of capacity)")
        agents.append(AgentSpec(
            name=nm, stage=st, kind=kind_a, quality=q, base_latency=tau, kingman=k, unit_cost=kappa,
            capacity=cap, invest_price=pI, depreciation=dep,
            capacity_shock=_shock(ra.get("capacity_shock"),
                                  aw.sub("capacity_shock", f"(agent {nm}: capacity_shock)"), cap_default),
            cost_shock=_shock(ra.get("cost_shock"), aw.sub("cost_shock", f"(agent {nm}: cost_shock)"),
                              cost_default),
            line=ra.get("__line__")))
    used = {a.stage for a in agents}
    for s in stages:
        if s not in used:
            loc = top.key('stages')
            raise EconomyError(f"{loc}: stage {s!r} has no candidate agent; attach at least one agent to it "
                               "or remove the stage")
    # reachable stages
    cfg_tmp_v = {s: float(entry.get(s, 0.0)) for s in stages}
    outs: dict[str, list] = {s: [] for s in stages}
    for e in edges:
        if e.dst != END:
            outs[e.src].append(e)
    for s in order:
        for e in outs[s]:
            cfg_tmp_v[e.dst] += cfg_tmp_v[s] * e.prob
    for s in stages:
        if cfg_tmp_v[s] <= 0:
            loc = top.key('stages')
            raise EconomyError(f"{loc}: stage {s!r} is never visited (visit ratio 0): give it a positive "
                               "incoming branch probability or entry probability, or remove it")

    dem = d.get("demand")
    if not isinstance(dem, dict):
        raise EconomyError(f"{top.key('demand')}: missing 'demand: {{mean: requests per period, ...}}'")
    wd = _At(file, dem, "(demand)")
    _check_keys(dem, _DEMAND_KEYS, wd, "demand")
    mean = _num(dem, "mean", wd, required=True, lo=0.0, lo_open=True)
    dshock = ShockSpec(_num(dem, "std", wd, 0.1, lo=0.0),
                       _num(dem, "persistence", wd, 0.8, lo=0.0, hi=1.0, hi_open=True))
    xi = _num(dem, "retry_feedback", wd, 0.0, lo=0.0)
    ca = _num(dem, "arrival_cv", wd, 1.0, lo=0.0)
    rt = d.get("routing") or {}
    if not isinstance(rt, dict):
        loc = top.key('routing')
        raise EconomyError(f"{loc}: 'routing' must be a mapping of its fields (got {type(rt).__name__})")
    wr = top.sub("routing", "(routing)")
    _check_keys(rt, _ROUTING_KEYS, wr, "routing")
    beta = _num(rt, "beta", wr, 1000.0, lo=0.0, lo_open=True)
    theta = _num(rt, "theta", wr, 0.01, lo=0.0)
    omega = _num(rt, "omega", wr, 0.0, lo=0.0, hi=1.0, hi_open=True)
    eta = _num(d, "eta", top, 0.0, lo=0.0)
    capd = d.get("capital") or {}
    if not isinstance(capd, dict):
        loc = top.key('capital')
        raise EconomyError(f"{loc}: 'capital' must be a mapping of its fields (got {type(capd).__name__})")
    wc = top.sub("capital", "(capital)")
    _check_keys(capd, _CAPITAL_KEYS, wc, "capital")
    disc = _num(capd, "discount", wc, 0.9999999, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    psi = _num(capd, "adjustment_cost", wc, 0.0, lo=0.0)
    slo = d.get("slo") or {}
    if not isinstance(slo, dict):
        loc = top.key('slo')
        raise EconomyError(f"{loc}: 'slo' must be a mapping of its fields (got {type(slo).__name__})")
    ws = top.sub("slo", "(slo)")
    _check_keys(slo, _SLO_KEYS, ws, "slo")
    form = slo.get("form", "current")
    if form not in SLO_FORMS:
        raise EconomyError(f"{ws.key('form')}: form must be one of {', '.join(SLO_FORMS)} (got {form!r})")
    target = _num(slo, "slo_target_latency", ws, required=True, lo=0.0, lo_open=True)
    slo_spec = SLOSpec(
        form=form,
        slo_rho=_num(slo, "slo_rho", ws, 0.5, lo=0.0, hi=1.0, hi_open=True),
        slo_phi_latency=_num(slo, "slo_phi_latency", ws, 2.0),
        slo_phi_cost=_num(slo, "slo_phi_cost", ws, 0.0),
        slo_target_latency=target,
        target_pos=(slo.get("__pos__") or {}).get("slo_target_latency", (None, None))[:2] if slo else None,
        shock=ShockSpec(_num(slo, "shock_std", ws, 0.1, lo=0.0),
                        _num(slo, "shock_persistence", ws, 0.5, lo=0.0, hi=1.0, hi_open=True)))
    period = _num(d, "period_seconds", top, 60.0, lo=0.0, lo_open=True)
    return EconomyConfig(
        name=name, stages=stages, edges=edges, entry=entry, agents=agents, demand_mean=mean,
        demand_shock=dshock, retry_feedback=xi, arrival_cv=ca, beta=beta, theta=theta, omega=omega, eta=eta,
        discount=disc, adjustment_cost=psi, slo=slo_spec, period_seconds=period,
        estimation=_strip_lines(d.get("estimation")), observables=_strip_lines(d.get("observables")),
        source=source, description=str(d.get("description") or ""))


def to_static_economy(cfg, K: int = 4, basis: str = "legendre", T: float = 1.0):
    """The static economy of DESIGN §5.1 whose constant-path equilibrium is the DSGE steady state.

    Capacities are the steady-state effective capacities (self-hosted: K_a from
    the closed form of :func:`dsge_agents.economy.calibration.steady_state`;
    API: the rate limit), demand is the constant λ̄ and the headroom λ̄·W*.
    Defined in :mod:`dsge_agents.economy.calibration` (it needs the steady state).
    """
    from dsge_agents.economy.calibration import static_economy
    return static_economy(load_config(cfg), K=K, basis=basis, T=T)
