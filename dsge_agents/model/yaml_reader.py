"""Reader of the native YAML model format (DESIGN §3; schema in docs/model_language.md).

The YAML is read with ``yaml.compose`` (a safe, non-executing node tree) so that
every equation and expression keeps its line and column for error messages;
the expressions themselves go through the whitelisting parser of
:mod:`dsge_agents.model.expr`.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from dsge_agents.errors import ModelStructureError, ModelSyntaxError, UnknownNameError, UnsupportedStatementError
from dsge_agents.model import tree as T
from dsge_agents.model.expr import FUNCTIONS, parse_equation_tree, parse_expr_tree
from dsge_agents.model.spec import Equation, Model, build_model

__all__ = ["read_yaml", "from_dict"]

_TOP_KEYS = {"name", "description", "notes", "kind", "variables", "shocks", "parameters", "equations",
             "steady_state", "initval", "observables", "estimation", "options", "policy_rule", "locals",
             "metadata", "long_names", "stoch_simul", "shock_correlations"}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PRIOR_SHAPES = {
    "beta": "beta", "beta_pdf": "beta", "gamma": "gamma", "gamma_pdf": "gamma",
    "normal": "normal", "normal_pdf": "normal", "gaussian": "normal",
    "inv_gamma": "inv_gamma1", "inv_gamma1": "inv_gamma1", "inv_gamma_pdf": "inv_gamma1",
    "inv_gamma1_pdf": "inv_gamma1", "inv_gamma2": "inv_gamma2", "inv_gamma2_pdf": "inv_gamma2",
    "uniform": "uniform", "uniform_pdf": "uniform", "weibull": "weibull", "weibull_pdf": "weibull",
}


class _Pos:
    """Line/column lookup in the composed YAML node tree (1-based)."""

    def __init__(self, node):
        self.node = node

    def get(self, *path):
        n = self.node
        for key in path:
            if n is None:
                return None
            if isinstance(n, yaml.MappingNode):
                nxt = None
                for k, v in n.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == key:
                        nxt = v
                        break
                n = nxt
            elif isinstance(n, yaml.SequenceNode) and isinstance(key, int):
                n = n.value[key] if key < len(n.value) else None
            else:
                return None
        return n

    def loc(self, *path) -> tuple[int, int]:
        n = self.get(*path)
        if n is None:
            return None, None
        col = n.start_mark.column + 1
        if isinstance(n, yaml.ScalarNode) and n.style in ("'", '"'):
            col += 1
        return n.start_mark.line + 1, col

    def key_loc(self, *path) -> tuple[int, int]:
        """Position of the key (not the value) of the last path element."""
        parent = self.get(*path[:-1])
        if isinstance(parent, yaml.MappingNode):
            for k, v in parent.value:
                if isinstance(k, yaml.ScalarNode) and k.value == path[-1]:
                    return k.start_mark.line + 1, k.start_mark.column + 1
        return None, None


def _check_name(n, what, file, pos: _Pos | None = None, path=()):
    line, col = pos.loc(*path) if pos is not None else (None, None)
    if not isinstance(n, str) or not _NAME_RE.match(n):
        raise ModelSyntaxError(f"invalid {what} name", file, line, col, str(n))
    if "__" in n:
        raise ModelSyntaxError(f"{what} names may not contain '__'", file, line, col, n)
    if n in FUNCTIONS:
        raise ModelSyntaxError(f"{what} name clashes with the function {n!r}", file, line, col, n)


_OPTION_KEYS = {"loglinear", "linear"}
_EQUATION_KEYS = {"name", "equation", "eq"}
_ESTIMATION_KEYS = {"priors", "options"}
_PRIOR_KEYS = {"prior", "shape", "dist", "mean", "std", "lower", "upper", "init", "p3", "p4", "name"}


def _unknown_keys(d: dict, allowed, what, file, pos: _Pos | None, path=()) -> None:
    """A key of mapping ``d`` (at ``path``) outside ``allowed`` is an error naming it: a typo'd
    key (``loglinaer:``) must not be ignored silently."""
    for k in d:
        if k not in allowed:
            line, col = pos.key_loc(*path, k) if pos is not None else (None, None)
            hint = ""
            if what == "an equation" and len(d) == 1:   # `- x = f(y): z` is a YAML mapping
                hint = "; an equation containing ': ' must be quoted"
            raise ModelSyntaxError(f"unknown key in {what} (allowed: {', '.join(sorted(allowed))}){hint}",
                                   file, line, col, str(k))


def _mapping(d: dict, key, file, pos: _Pos | None, what: str) -> dict:
    """``d[key]`` as a dict (missing or empty: {}); any other type is an error at its position."""
    val = d.get(key)
    if val is None:
        return {}
    if not isinstance(val, dict):
        line, col = pos.loc(key) if pos is not None else (None, None)
        raise ModelSyntaxError(f"{key} must be a mapping {what}", file, line, col, type(val).__name__)
    return val


def _check_duplicate_keys(node, file) -> None:
    """PyYAML keeps the last of two equal keys of a mapping; in a model file that silently drops a
    parameter value or a whole block, so a repeated key is an error naming its second position."""
    stack = [node]
    seen_nodes: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen_nodes:     # an alias: each node once (no exponential walk of nested aliases)
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            seen = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise ModelSyntaxError(
                            f"duplicate key (first given on line {seen[k.value]})", file,
                            k.start_mark.line + 1, k.start_mark.column + 1, k.value)
                    seen[k.value] = k.start_mark.line + 1
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _model_name(raw, file, pos: _Pos | None) -> str:
    """The model's name: ``name:`` if given, else the file name. The name ends up in file names
    (``irf_<name>.png``, ``estimate_<name>/``) and in comments of generated code and exported
    ``.mod`` files, so it must be one line of printable characters without path separators
    (``/``, ``\\``), not starting with a dot and without leading or trailing spaces."""
    if raw is None or raw == "":
        return Path(file).stem if file else "model"
    line, col = pos.loc("name") if pos is not None else (None, None)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ModelSyntaxError("the model name must be a string", file, line, col, str(raw))
    name = str(raw)
    if (not name.isprintable() or "/" in name or "\\" in name or name.startswith(".")
            or name != name.strip()):
        raise ModelSyntaxError("invalid model name (one line of printable characters, no '/' or '\\', "
                               "no leading '.' or surrounding spaces)", file, line, col, name)
    return name


def _expr_or_number(val, names, file, line, col, locals=None) -> tuple:
    """Expression tree of a YAML scalar (number or expression text)."""
    if isinstance(val, bool):
        raise ModelSyntaxError("expected a number or an expression", file, line, col, str(val))
    if isinstance(val, (int, float)):
        return ("num", float(val)) if isinstance(val, float) else ("num", int(val))
    if isinstance(val, str):
        return parse_expr_tree(val, names, locals, allow_timing=False, file=file, line=line or 1, col=col or 1)
    raise ModelSyntaxError("expected a number or an expression", file, line, col, repr(val))


def from_dict(d: dict, source: str | None = None, *, cache: bool = False, _node=None) -> Model:
    """Build a :class:`Model` from a dict in the DESIGN §3 YAML schema.

    With ``cache=True`` the model is stored in (and, for an identical dict and source, read
    back from) the on-disk model cache (:mod:`dsge_agents.model.cache`, key = a hash of a
    canonical JSON dump of ``d``): a warm call parses nothing and imports no SymPy.
    """
    if cache and _node is None:
        from dsge_agents.model import cache as _cache
        key = _cache.key_for_dict(d, source) if isinstance(d, dict) else None
        m = _cache.get(key)
        if m is None:
            m, warned = _cache.parse_recording(_from_dict, d, source)
            _cache.put(key, m, warned)
        return m
    return _from_dict(d, source, _node=_node)


def _from_dict(d: dict, source: str | None = None, *, _node=None) -> Model:
    file = source
    pos = _Pos(_node) if _node is not None else None

    def L(*path):
        return pos.loc(*path) if pos is not None else (None, None)

    if not isinstance(d, dict):
        raise ModelSyntaxError("a model file must be a mapping (name:, variables:, ...)", file, 1, 1)
    if d.get("kind") not in (None, "dsge", "model"):
        raise ModelStructureError(
            f"{file}: model kind {d.get('kind')!r} is not a plain DSGE model; load it with "
            "dsge_agents.api.load_model")
    for k in d:
        if k not in _TOP_KEYS:
            line, col = pos.key_loc(k) if pos else (None, None)
            raise ModelSyntaxError(f"unknown top-level key (allowed: {', '.join(sorted(_TOP_KEYS))})",
                                   file, line, col, str(k))
    for req in ("variables", "equations"):
        if req not in d:
            raise ModelSyntaxError(f"missing required key {req!r}", file, 1, 1)
    name = _model_name(d.get("name"), file, pos)
    variables = d["variables"]
    if isinstance(variables, dict):
        variables = list(variables)
    if not isinstance(variables, list):
        raise ModelSyntaxError("variables must be a list of names", file, *L("variables"), None)
    declared: dict[str, str] = {}

    def declare(n, kind, path):
        if n in declared:
            where = (None, None) if pos is None else (pos.loc(*path) if isinstance(path[-1], int)
                                                      else pos.key_loc(*path))
            raise ModelSyntaxError(f"name declared twice (as {declared[n]} and {kind})", file, *where, n)
        declared[n] = kind

    for i, v in enumerate(variables):
        _check_name(v, "variable", file, pos, ("variables", i))
        declare(v, "variable", ("variables", i))
    # shocks
    raw_shocks = d.get("shocks") or {}
    if isinstance(raw_shocks, list):
        for i, s in enumerate(raw_shocks):      # checked here: the list positions are lost below
            _check_name(s, "shock", file, pos, ("shocks", i))
            declare(s, "shock", ("shocks", i))
        declared_list = True
        raw_shocks = {s: 1.0 for s in raw_shocks}
    else:
        declared_list = False
    if not isinstance(raw_shocks, dict):
        raise ModelSyntaxError("shocks must be a mapping {name: std} or a list of names", file, *L("shocks"), None)
    shocks = list(raw_shocks)
    for s in shocks if not declared_list else ():
        _check_name(s, "shock", file, pos, ("shocks", s))
        declare(s, "shock", ("shocks", s))
    # parameters (in order; expressions of earlier parameters allowed)
    raw_params = d.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ModelSyntaxError("parameters must be a mapping {name: value}", file, *L("parameters"), None)
    names: dict[str, str] = {}
    parameters: dict[str, float] = {}
    param_exprs: dict[str, Any] = {}
    derived_order: list[str] = []
    for p, val in raw_params.items():
        _check_name(p, "parameter", file, pos, ("parameters", p))
        declare(p, "parameter", ("parameters", p))
        line, col = L("parameters", p)
        e = _expr_or_number(val, names, file, line, col)
        if e[0] not in ("num", "rat") and T.symbols(e):
            param_exprs[p] = e
            derived_order.append(p)
        try:
            parameters[p] = T.evaluate(e, parameters)
            if not math.isfinite(parameters[p]):
                raise ValueError
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            raise ModelSyntaxError("parameter value is not a finite number", file, line, col, str(val))
        names[p] = "param"
    for v in variables:
        names[v] = "var"
    for s in shocks:
        names[s] = "shock"
    # shock covariance
    cov: dict = {}      # sparse shock covariance (i, j) -> tree
    stderr_params = {}
    pnames = {p: "param" for p in parameters}
    for i, s in enumerate(shocks):
        line, col = L("shocks", s)
        e = _expr_or_number(raw_shocks[s], pnames, file, line, col)
        c = T.pow_(e, ("num", 2))
        if c != T.ZERO:
            cov[(i, i)] = c
        if e[0] == "sym":
            stderr_params[s] = e[1]
    corr = _mapping(d, "shock_correlations", file, pos, '{"shock_a, shock_b": correlation}')
    for key, val in corr.items():
        pair = [x.strip() for x in str(key).split(",")]
        if len(pair) != 2 or not all(pair):
            raise ModelSyntaxError("a shock_correlations key names two shocks: \"e_a, e_b\"", file,
                                   *(pos.key_loc("shock_correlations", key) if pos else (None, None)), str(key))
        a, b = pair
        if a == b:
            raise ModelSyntaxError("a shock cannot be correlated with itself", file,
                                   *(pos.key_loc("shock_correlations", key) if pos else (None, None)), str(key))
        for x in (a, b):
            if x not in shocks:
                raise UnknownNameError("unknown shock in shock_correlations", file, *L("shock_correlations", key), x)
        i, j = shocks.index(a), shocks.index(b)
        e = _expr_or_number(val, pnames, file, *L("shock_correlations", key))
        try:
            r = T.evaluate(e, parameters)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            r = float("nan")
        if not (math.isfinite(r) and -1.0 <= r <= 1.0):
            raise ModelSyntaxError("a correlation must lie in [-1, 1]", file, *L("shock_correlations", key), str(val))
        c = T.mul(e, T.fn("sqrt", cov.get((i, i), T.ZERO)), T.fn("sqrt", cov.get((j, j), T.ZERO)))
        if c != T.ZERO:
            cov[(i, j)] = cov[(j, i)] = c
    # locals (model-local definitions, like Dynare '#')
    locals_: dict[str, Any] = {}
    for k, val in _mapping(d, "locals", file, pos, "{name: expression}").items():
        _check_name(k, "local", file, pos, ("locals", k))
        line, col = L("locals", k)
        if k in names:
            raise ModelSyntaxError(f"local name clashes with a declared {declared.get(k, names[k])}",
                                   file, line, col, k)
        locals_[k] = parse_expr_tree(str(val), names, locals_, allow_timing=True, file=file, line=line or 1,
                                     col=col or 1)
        names[k] = "local"
    # equations
    eqs_raw = d["equations"]
    if not isinstance(eqs_raw, list):
        raise ModelSyntaxError("equations must be a list", file, *L("equations"), None)
    equations = []
    timed = {v for v in variables} | set(shocks)
    for i, item in enumerate(eqs_raw):
        ename = None
        path = ("equations", i)
        if isinstance(item, dict):
            _unknown_keys(item, _EQUATION_KEYS, "an equation", file, pos, path)
            ename = item.get("name")
            if ename is not None and (not isinstance(ename, str) or not ename.isprintable() or "'" in ename
                                      or not ename.strip()):
                raise ModelSyntaxError("an equation name must be one line of text without quotes", file,
                                       *L(*path, "name"), str(ename))
            key = "equation" if "equation" in item else "eq"
            if key not in item:
                raise ModelSyntaxError("equation mapping needs an 'equation' key", file, *L(*path), None)
            text = item[key]
            path = path + (key,)
        else:
            text = item
        line, col = L(*path)
        if text is None or isinstance(text, (bool, list, dict)) or (isinstance(text, str) and not text.strip()):
            raise ModelSyntaxError("an equation must be a non-empty text 'lhs = rhs' (or a residual expression)",
                                   file, line, col, None if text is None else str(text))
        if not isinstance(text, str):
            text = str(text)
        expr = parse_equation_tree(text, names, locals_, file=file, line=line or 1, col=col or 1,
                                   timed_names=timed)
        equations.append(Equation(text, line=line, file=file, name=ename, tree=expr))
    # steady state (values or expressions evaluated in order)
    ss_exprs = None
    ss_block = []
    initval: dict[str, float] = {}
    raw_ss = _mapping(d, "steady_state", file, pos, "{variable: value or expression}")
    vset, shock_set = set(variables), set(shocks)
    if raw_ss:
        ss_names = {p: "param" for p in parameters}
        raw_names = dict(ss_names)     # parameters and the temporaries assigned so far, as names
        ss_loc: dict[str, Any] = {}
        tmp = {}
        for v, val in raw_ss.items():
            line, col = L("steady_state", v)
            if v not in vset:
                _check_name(v, "steady-state temporary", file, pos, ("steady_state", v))
                if v in parameters or v in shock_set:
                    raise ModelSyntaxError("steady_state may only assign variables or new temporaries",
                                           file, line, col, v)
            e = _expr_or_number(val, ss_names, file, line, col, ss_loc)
            e_raw = e if e[0] in ("num", "rat") else _expr_or_number(val, raw_names, file, line, col)
            ss_loc[v] = e
            ss_names[v] = "local"
            if v in vset:
                tmp[v] = e
            ss_block.append((v, e_raw))
            raw_names[v] = "param"
        if all(v in tmp for v in variables):
            ss_exprs = tmp
        else:
            for v, e in tmp.items():
                initval[v] = T.evaluate(e, parameters)
    used = {n for e in equations for n, _ in T.symbols(e.tree)}
    for i, v in enumerate(variables if len(equations) == len(variables) else ()):   # (else: the count error)
        if v not in used:
            line, col = L("variables", i)
            where = ", ".join(str(x) for x in (file, line and f"line {line}", col and f"column {col}") if x)
            raise ModelStructureError(f"{where}: declared variable(s) never used in any equation: {v}")
    pn = {p: "param" for p in parameters}
    for v, val in _mapping(d, "initval", file, pos, "{variable: value}").items():
        line, col = L("initval", v)
        if v not in vset:
            raise UnknownNameError("initval for an undeclared variable", file, line, col, v)
        e = _expr_or_number(val, pn, file, line, col)
        initval[v] = T.evaluate(e, parameters)
    # observables
    obs = d.get("observables") or []
    measurement = {}
    if not isinstance(obs, (list, dict)):
        raise ModelSyntaxError("observables must be a list of variable names (or a measurement mapping)",
                               file, *L("observables"), str(obs))
    if isinstance(obs, dict):
        for o, spec in obs.items():
            if o not in vset:
                raise UnknownNameError("observable is not a declared variable", file,
                                       *(pos.key_loc("observables", o) if pos else (None, None)), str(o))
            if not isinstance(spec, dict):
                raise ModelSyntaxError("a measurement equation is a mapping {agent: .., metric: .., ...}",
                                       file, *L("observables", o), str(spec))
        measurement = dict(obs)
        observables = list(obs)
    else:
        observables = list(obs)
        for i, o in enumerate(observables):
            if o not in vset:
                raise UnknownNameError("observable is not a declared variable", file, *L("observables", i), o)
    # estimation
    est = d.get("estimation") or {}
    estimated = []
    est_opts = {}
    if not isinstance(est, (dict, list)):
        raise ModelSyntaxError("estimation must be a mapping {priors: ..., options: ...}", file,
                               *L("estimation"), str(est))
    if isinstance(est, dict):
        _unknown_keys(est, _ESTIMATION_KEYS, "estimation", file, pos, ("estimation",))
        for k, what in (("priors", "{name: {prior: shape, mean: .., std: ..}}"), ("options", "{option: value}")):
            if est.get(k) is not None and not isinstance(est[k], (dict, list) if k == "priors" else dict):
                raise ModelSyntaxError(f"estimation {k} must be a mapping {what}", file,
                                       *L("estimation", k), str(est[k]))
    if est:
        priors = (est.get("priors") or {}) if isinstance(est, dict) else est
        base = ("estimation", "priors") if isinstance(est, dict) else ("estimation",)
        if isinstance(priors, dict):
            items = list(priors.items())
        else:
            items = []
            for i, p in enumerate(priors):
                if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                    raise ModelSyntaxError("a prior in a list is a mapping with a name: {name: rho, prior: beta, "
                                           "mean: .., std: ..}", file, *L(*base, i), str(p))
                items.append((p["name"], p))
        for i, (key, spec) in enumerate(items):
            path = base + ((key,) if isinstance(priors, dict) else (i,))
            line, col = L(*path)
            if isinstance(spec, dict):
                _unknown_keys(spec, _PRIOR_KEYS, f"the prior of {key}", file, pos, path)
            estimated.append(_prior_entry(str(key), spec, parameters, shocks, file, line, col))
        est_opts = dict(est.get("options", {}) or {}) if isinstance(est, dict) else {}
    opts = _mapping(d, "options", file, pos, "{loglinear: true|false, linear: true|false}")
    _unknown_keys(opts, _OPTION_KEYS, "options", file, pos, ("options",))
    for k, v in opts.items():
        if isinstance(v, str) or v not in (True, False):    # (NumPy booleans and 0/1 of a dict pass)
            raise ModelSyntaxError(f"option {k} must be true or false", file, *L("options", k), str(v))
    loglinear = bool(opts.get("loglinear", False))
    linear = bool(opts.get("linear", False))
    rule = d.get("policy_rule")
    if rule is not None:      # checked here, where its position is known (build_model checks it again)
        if not isinstance(rule, dict) or "equation" not in rule:
            raise ModelSyntaxError("policy_rule must be a mapping {equation: index or name, parameters: [...]}",
                                   file, *L("policy_rule"), str(rule))
        key = rule["equation"]
        names_eq = [e.name for e in equations]
        if isinstance(key, bool) or not (isinstance(key, int) and 0 <= key < len(equations)
                                         or isinstance(key, str) and key in names_eq):
            raise ModelSyntaxError(f"policy_rule equation is neither an index 0..{len(equations) - 1} nor the "
                                   "name of an equation", file, *L("policy_rule", "equation"), str(key))
        if isinstance(key, str) and names_eq.count(key) > 1:
            raise ModelSyntaxError(f"policy_rule equation {key!r} is ambiguous: {names_eq.count(key)} equations have "
                                   "that name", file, *L("policy_rule", "equation"), key)
        rps = rule.get("parameters") or []
        if not isinstance(rps, list):
            raise ModelSyntaxError("policy_rule parameters must be a list of parameter names", file,
                                   *L("policy_rule", "parameters"), str(rps))
        for i, p in enumerate(rps):
            if p not in parameters:
                raise UnknownNameError("policy_rule parameter is not a declared parameter", file,
                                       *L("policy_rule", "parameters", i), str(p))
    commands = []
    if d.get("stoch_simul") is not None:
        ss_opts = dict(_mapping(d, "stoch_simul", file, pos, "{option: value}"))
        for k, v in ss_opts.items():
            line, col = L("stoch_simul", k)
            if k == "order" and v != 1:     # as the .mod reader: the solution is first order
                raise UnsupportedStatementError("stoch_simul: only order 1 is supported", file, line, col, str(v))
            if k == "varlist":
                if not isinstance(v, list) or any(x not in vset for x in v):
                    raise ModelSyntaxError("stoch_simul varlist must be a list of declared variables",
                                           file, line, col, str(v))
            elif v is False or not isinstance(v, (bool, int, float, str)):
                raise ModelSyntaxError("a stoch_simul option is a number, a text or true (a flag)",
                                       file, line, col, str(v))
        commands.append(("stoch_simul", ss_opts))
    return build_model(name=name, source=file, variables=variables, shocks=shocks, parameters=parameters,
                       param_exprs=param_exprs, derived_order=derived_order, equations=equations,
                       shock_cov_exprs=cov, ss_block=ss_block, ss_exprs=ss_exprs, initval=initval,
                       loglinear=loglinear, linear=linear, observables=observables, measurement=measurement,
                       estimated_params=estimated, estimation_options=est_opts, commands=commands,
                       policy_rule=d.get("policy_rule"), shock_stderr_params=stderr_params, file=file)


def _prior_entry(key, spec, parameters, shocks, file, line, col) -> dict:
    parts = key.replace(",", " ").split()
    if parts and parts[0] in ("stderr", "corr"):
        kind = parts[0]
        targets = parts[1:]
        if len(targets) != (1 if kind == "stderr" else 2) or any(t not in shocks for t in targets):
            raise UnknownNameError(f"{kind} prior needs declared shock name(s)", file, line, col, key)
        pname = targets[0] if kind == "stderr" else targets
    else:
        kind = "param"
        if key not in parameters:
            raise UnknownNameError("prior for an undeclared parameter", file, line, col, key)
        pname = key
    if not isinstance(spec, dict):
        raise ModelSyntaxError("a prior must be a mapping {prior: shape, mean: .., std: ..}", file, line, col, key)
    shape = spec.get("prior", spec.get("shape", spec.get("dist")))
    if shape is not None:
        if str(shape).lower() not in PRIOR_SHAPES:
            raise ModelSyntaxError(f"unknown prior shape (known: {', '.join(sorted(set(PRIOR_SHAPES.values())))})",
                                   file, line, col, str(shape))
        shape = PRIOR_SHAPES[str(shape).lower()]

    def num(field, default=float("nan")):
        x = spec.get(field)
        if x is None:
            return default
        if isinstance(x, str) and x.strip().lower() in ("inf", "+inf"):
            return float("inf")
        if isinstance(x, str) and x.strip().lower() == "-inf":
            return float("-inf")
        try:
            if isinstance(x, bool):
                raise ValueError
            return float(x)
        except (TypeError, ValueError):
            raise ModelSyntaxError(f"prior {field} of {key} must be a number", file, line, col, str(x)) from None

    return {"name": pname, "kind": kind, "prior": shape, "mean": num("mean"),
            "std": num("std"), "lower": num("lower", float("-inf")),
            "upper": num("upper", float("inf")), "init": num("init"),
            "p3": num("p3"), "p4": num("p4")}


def decode_model_text(data: bytes, file: str) -> str:
    """UTF-8 text of a model file (a BOM is dropped); bytes that are not UTF-8 are a
    :class:`ModelSyntaxError` naming their line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.startswith(b"\xef\xbb\xbf") * 3
        before = data[start:exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise ModelSyntaxError("the file is not UTF-8 text", file, line, col,
                               repr(data[exc.start:exc.end])) from None


def read_yaml(path, data: bytes | None = None) -> Model:
    """Read a YAML model file (safe: ``yaml.compose`` + ``SafeLoader``; nothing executed);
    ``data``: its bytes when the caller has read them already (the model cache keys on them)."""
    path = Path(path)
    text = decode_model_text(path.read_bytes() if data is None else data, str(path))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_duplicate_keys(node, str(path))
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ModelSyntaxError(f"invalid YAML: {getattr(exc, 'problem', exc)}", str(path),
                               mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    return from_dict(data, source=str(path), _node=node)
