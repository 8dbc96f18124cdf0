"""The :class:`Model` specification shared by the YAML and Dynare readers.

A model is the system ``f(y_{t+1}, y_t, y_{t-1}, u_t; θ) = 0`` (DESIGN §3, §4)
with Dynare's timing. Readers parse text into SymPy residuals ``lhs - rhs``
(:mod:`dsge_agents.model.expr`) and hand them to :func:`build_model`, which

* checks the structure (counts, unused variables, duplicate names),
* rewrites leads beyond +1 and lags beyond -1 (and lags of shocks) with
  auxiliary variables as Dynare does (``AUX_ENDO_LEAD_x_k``,
  ``AUX_ENDO_LAG_x_k``, ``AUX_EXO_LAG_e_k``), so every equation involves only
  ``y_{t-1}, y_t, y_{t+1}, u_t``,
* separates *base* parameters (the vector θ, ``param_names``) from *derived*
  ones (assignments that depend on other parameters), which compiled code
  recomputes from θ.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dsge_agents.errors import ModelStructureError, UnknownNameError
from dsge_agents.model import tree as T

__all__ = ["Equation", "Model", "build_model", "as_tree"]


def as_tree(e):
    """Expression tree of ``e`` (a tree, a Python number or a SymPy expression)."""
    if isinstance(e, tuple):
        return e
    if isinstance(e, (int, float)) and not isinstance(e, bool):
        return T.num(e)
    return T.from_sympy(e)


class Equation:
    """One model equation.

    ``tree`` is the residual ``lhs - rhs`` as an expression tree
    (:mod:`dsge_agents.model.tree`); ``expr`` is the same residual as a SymPy
    expression whose symbols are parameters and timed variables (see
    :func:`dsge_agents.model.expr.tsym`), built from the tree on first access.
    The constructor accepts either form as ``expr``.
    """

    def __init__(self, text: str, expr: Any = None, line: int | None = None, file: str | None = None,
                 name: str | None = None, aux: bool = False, *, tree: tuple | None = None):
        self.text = text
        self.line = line
        self.file = file
        self.name = name
        self.aux = aux
        if tree is None and isinstance(expr, tuple):
            tree, expr = expr, None
        if tree is None and expr is None:
            raise ValueError("Equation needs an expression")
        self._tree = tree
        self._expr = expr
        self._symbols = None

    @property
    def symbols(self) -> set:
        """Set of ``(name, lag)`` in the equation (cached)."""
        if self._symbols is None:
            self._symbols = T.symbols(self.tree)
        return self._symbols

    @property
    def tree(self) -> tuple:
        if self._tree is None:
            self._tree = T.from_sympy(self._expr)
        return self._tree

    @property
    def expr(self):
        if self._expr is None:
            self._expr = T.to_sympy(self._tree)
        return self._expr

    @expr.setter
    def expr(self, value):
        if isinstance(value, tuple):
            self._tree, self._expr = value, None
        else:
            self._expr, self._tree = value, None
        self._symbols = None

    def __getstate__(self):
        d = self.__dict__.copy()
        d["_tree"] = self.tree
        d["_expr"] = None      # SymPy is rebuilt lazily: unpickling needs no SymPy
        d["_symbols"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)

    def __eq__(self, other):
        if not isinstance(other, Equation):
            return NotImplemented
        return (self.text, self.tree, self.line, self.file, self.name, self.aux) == (
            other.text, other.tree, other.line, other.file, other.name, other.aux)

    __hash__ = None

    def __repr__(self):
        return f"Equation({self.text!r}, line={self.line}, name={self.name!r})"

    def where(self) -> str:
        loc = []
        if self.file:
            loc.append(str(self.file))
        if self.line:
            loc.append(f"line {self.line}")
        return ", ".join(loc)


@dataclass
class Model:
    """A DSGE model (see docs/ARCHITECTURE.md, model layer)."""
    name: str
    source: str | None
    variables: list[str]
    aux_variables: list[str]
    shocks: list[str]
    shock_cov: np.ndarray
    parameters: dict[str, float]
    param_names: list[str]
    equations: list[Equation]
    loglinear: bool = False
    linear: bool = False
    observables: list[str] = field(default_factory=list)
    measurement: dict = field(default_factory=dict)
    estimated_params: list[dict] = field(default_factory=list)
    estimation_options: dict = field(default_factory=dict)
    commands: list = field(default_factory=list)
    policy_rule: dict | None = None
    shock_stderr_params: dict = field(default_factory=dict)
    # calibrated measurement errors of observables (.mod shocks block): {(a, b): covariance}
    measurement_errors: dict = field(default_factory=dict)
    initval: dict = field(default_factory=dict)
    # symbolic internals: expression trees (dsge_agents.model.tree), no SymPy
    param_exprs: dict = field(default_factory=dict)          # derived param -> tree of params
    derived_order: list = field(default_factory=list)        # evaluation order of derived params
    ss_exprs: dict | None = None                             # var -> tree of params (analytic ss)
    ss_block: list = field(default_factory=list)             # [(target, tree)] for the writer
    shock_cov_entries: dict = field(default_factory=dict)    # (i, j) -> tree of params (nonzero cells)
    original_equations: list = field(default_factory=list)   # pre-aux Equations (writer)
    declared_variables: list = field(default_factory=list)
    aux_info: dict = field(default_factory=dict)             # aux -> (kind 'lead'|'lag'|'exo', original)
    lead_lag_incidence: tuple | None = None                  # (has_lag, has_lead) bool arrays (n_var,)

    def __post_init__(self):
        self._compiled = None

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        d = self.__dict__.copy()
        d["_compiled"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)

    # ------------------------------------------------------------------ basics
    @property
    def n_var(self) -> int:
        return len(self.variables)

    @property
    def shock_cov_exprs(self):
        """Shock covariance as a SymPy Matrix of parameter expressions (built on demand)."""
        import sympy as sp
        n = len(self.shocks)
        M = sp.zeros(n, n)
        for (i, j), e in self.shock_cov_entries.items():
            M[i, j] = T.to_sympy(e)
        return M

    @property
    def derived_parameters(self) -> list[str]:
        return list(self.derived_order)

    @property
    def has_analytic_steady_state(self) -> bool:
        return self.ss_exprs is not None

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, {len(self.variables)} variables, {len(self.shocks)} shocks, "
                f"{len(self.parameters)} parameters, loglinear={self.loglinear})")

    @property
    def compiled(self):
        """The :class:`~dsge_agents.model.compiled.CompiledModel` (built once, cached)."""
        if self._compiled is None:
            from dsge_agents.model.compiled import compile_model
            self._compiled = compile_model(self)
        return self._compiled

    def steady_state(self, params: dict | None = None) -> dict[str, float]:
        """Steady state at the calibration (updated by ``params``), verified by residuals.

        Analytic when the file gives one (``steady_state`` / ``steady_state_model``),
        else numeric (:func:`dsge_agents.model.steady.solve_steady_state`).
        Raises :class:`SteadyStateError` listing the equations with largest residuals.
        """
        from dsge_agents.model.steady import steady_state_vector
        cm = self.compiled
        ss = steady_state_vector(self, cm.theta(params))
        return {v: float(x) for v, x in zip(self.variables, ss)}

    def all_parameters(self, params: dict | None = None) -> dict[str, float]:
        """All parameters (base and derived) at the calibration updated by ``params``."""
        cm = self.compiled
        full = cm.all_params(cm.theta(params))
        return dict(zip(self.parameters, (float(x) for x in full)))

    def with_parameters(self, **values) -> "Model":
        """Copy of the model with new calibration values.

        Setting a derived parameter turns it into a base parameter (its
        assignment is dropped).
        """
        for k in values:
            if k not in self.parameters:
                raise UnknownNameError(f"unknown parameter {k!r} in with_parameters", self.source)
        m = copy.copy(self)
        m._compiled = None
        m.parameters = dict(self.parameters)
        m.param_exprs = {k: v for k, v in self.param_exprs.items() if k not in values}
        m.derived_order = [k for k in self.derived_order if k not in values]
        m.param_names = [p for p in self.parameters if p not in m.param_exprs]
        for k, v in values.items():
            m.parameters[k] = float(v)
        # recompute derived values
        env = {p: m.parameters[p] for p in m.param_names}
        for d in m.derived_order:
            val = T.evaluate(m.param_exprs[d], env)
            m.parameters[d] = val
            env[d] = val
        m.shock_cov = _eval_cov(m.shock_cov_entries, len(m.shocks), env)
        return m

    def to_mod(self, path=None, stoch_simul: str | None = None) -> str:
        """Write the model as a Dynare ``.mod`` file (see :mod:`dsge_agents.model.mod_writer`)."""
        from dsge_agents.model.mod_writer import write_mod
        return write_mod(self, path, stoch_simul=stoch_simul)

    def equation_index(self, key) -> int:
        """Index of an equation given an int or its name."""
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            i = int(key)
            if not 0 <= i < len(self.equations):
                raise ModelStructureError(f"equation index {i} out of range (0..{len(self.equations) - 1})")
            return i
        for i, e in enumerate(self.equations):
            if e.name == key:
                return i
        raise ModelStructureError(f"no equation named {key!r}")


def _eval_cov(entries: dict, n: int, env) -> np.ndarray:
    out = np.zeros((n, n))
    for (i, j), e in entries.items():
        out[i, j] = T.evaluate(e, env)
    return out


def _cov_entries(C, n: int) -> dict:
    """Nonzero cells of a shock covariance given as a SymPy Matrix, a dict or None -> {(i, j): tree}."""
    if C is None:
        return {}
    if isinstance(C, dict):
        items = C.items()
    else:
        items = (((i, j), C[i, j]) for i in range(n) for j in range(n))
    out = {}
    for (i, j), e in items:
        t = as_tree(e)
        if t != T.ZERO:
            out[(i, j)] = t
    return out


# ---------------------------------------------------------------------------------------- builder
def _aux_transform(eqs: list[Equation], variables: list[str], shocks: list[str]):
    """Rewrite leads > 1, lags < -1 and shock lags with auxiliary variables (Dynare's scheme).

    ``x(+k)``, k ≥ 2:  AUX_ENDO_LEAD_x_1 = x(+1), AUX_ENDO_LEAD_x_j = AUX_ENDO_LEAD_x_{j-1}(+1),
    and ``x(+k) -> AUX_ENDO_LEAD_x_{k-1}(+1)``.
    ``x(-k)``, k ≥ 2:  AUX_ENDO_LAG_x_1 = x(-1), AUX_ENDO_LAG_x_j = AUX_ENDO_LAG_x_{j-1}(-1),
    and ``x(-k) -> AUX_ENDO_LAG_x_{k-1}(-1)``.
    ``e(-k)``, k ≥ 1 (shock):  AUX_EXO_LAG_e_0 = e, AUX_EXO_LAG_e_j = AUX_EXO_LAG_e_{j-1}(-1),
    and ``e(-k) -> AUX_EXO_LAG_e_{k-1}(-1)``.
    ``e(+k)``, k ≥ 1 (shock):  AUX_EXO_LEAD_e = e and ``e(+k) -> AUX_EXO_LEAD_e(+k)`` (then as above).
    """
    vset, uset = set(variables), set(shocks)
    exo_lead = sorted({n for e in eqs for n, k in e.symbols if k > 0 and n in uset}, key=shocks.index)
    pre_vars: list[str] = []
    pre_eqs: list[Equation] = []
    pre_src: dict[str, tuple[str, str]] = {}
    if exo_lead:
        # shock leads: AUX_EXO_LEAD_e = e, and e(+k) -> AUX_EXO_LEAD_e(+k), an endogenous lead (longer
        # ones get the chain below). Its steady state is 0 and, e being unforecastable, so is its
        # expectation: e(+k) drops out of the first-order rules, as in Dynare.
        taken0 = set(variables) | set(shocks)
        rep0 = {}
        for u in exo_lead:
            a = f"AUX_EXO_LEAD_{u}"
            while a in taken0:
                a += "_"
            taken0.add(a)
            pre_vars.append(a)
            pre_src[a] = ("exo", u)
            pre_eqs.append(Equation(f"{a} = {u}", T.sub(T.sym(a), T.sym(u)), aux=True))
            for n, k in {(n, k) for e in eqs for n, k in e.symbols if n == u and k > 0}:
                rep0[(n, k)] = T.sym(a, k)
        eqs = [Equation(e.text, T.subs(e.tree, rep0), e.line, e.file, e.name, e.aux) for e in eqs] + pre_eqs
        variables = list(variables) + pre_vars
        vset = set(variables)
    max_lead: dict[str, int] = {}
    max_lag: dict[str, int] = {}
    max_exo_lag: dict[str, int] = {}
    for e in eqs:
        for n, k in e.symbols:
            if k == 0 or (-1 <= k <= 1 and n not in uset):   # nothing to rewrite
                continue
            if n in vset:
                if k > 1:
                    max_lead[n] = max(max_lead.get(n, 0), k)
                if k < -1:
                    max_lag[n] = max(max_lag.get(n, 0), -k)
            elif n in uset:
                if k < 0:
                    max_exo_lag[n] = max(max_exo_lag.get(n, 0), -k)
    if not (max_lead or max_lag or max_exo_lag):
        return eqs, pre_vars, pre_src
    rep = {}
    aux_vars: list[str] = list(pre_vars)
    aux_eqs: list[Equation] = []
    aux_src: dict[str, tuple[str, str]] = dict(pre_src)   # aux -> (kind, original)
    taken = set(variables) | set(shocks)

    def newname(base):
        nm = base
        while nm in taken:
            nm = nm + "_"
        taken.add(nm)
        return nm

    for v in variables:  # declaration order for determinism
        # leads (sign +1) then lags (sign -1) beyond one period: a chain of auxiliary variables
        # AUX_1 = v(±1), AUX_j = AUX_{j-1}(±1), and v(±k) is replaced by AUX_{k-1}(±1)
        for kind, tag, sign, longest in (("lead", "LEAD", 1, max_lead), ("lag", "LAG", -1, max_lag)):
            if v not in longest:
                continue
            names = []
            t = f"{sign:+d}"
            for j in range(1, longest[v]):
                a = newname(f"AUX_ENDO_{tag}_{v}_{j}")
                names.append(a)
                aux_vars.append(a)
                aux_src[a] = (kind, v)
                src = v if j == 1 else names[j - 2]
                aux_eqs.append(Equation(f"{a} = {src}({t})", T.sub(T.sym(a), T.sym(src, sign)), aux=True))
            for k in range(2, longest[v] + 1):
                rep[(v, sign * k)] = T.sym(names[k - 2], sign)
    for u in shocks:
        if u in max_exo_lag:
            names = []
            for j in range(0, max_exo_lag[u]):
                a = newname(f"AUX_EXO_LAG_{u}_{j}")
                names.append(a)
                aux_vars.append(a)
                aux_src[a] = ("exo", u)
                prev = T.sym(u) if j == 0 else T.sym(names[j - 1], -1)
                txt = f"{a} = {u}" if j == 0 else f"{a} = {names[j - 1]}(-1)"
                aux_eqs.append(Equation(txt, T.sub(T.sym(a), prev), aux=True))
            for k in range(1, max_exo_lag[u] + 1):
                rep[(u, -k)] = T.sym(names[k - 1], -1)
    new = [Equation(e.text, T.subs(e.tree, rep), e.line, e.file, e.name, e.aux) for e in eqs]
    return new + aux_eqs, aux_vars, aux_src


def incidence_of(equations, variables) -> tuple[np.ndarray, np.ndarray]:
    """Structural ``(has_lag, has_lead)`` of each variable (Dynare's lead_lag_incidence as booleans)."""
    idx = {v: j for j, v in enumerate(variables)}
    lag = np.zeros(len(idx), bool)
    lead = np.zeros(len(idx), bool)
    for e in equations:
        for n, k in e.symbols:
            if k and n in idx:
                (lag if k < 0 else lead)[idx[n]] = True
    return lag, lead


def _kink_of(t, variables: set):
    """The first ``min``/``max``/``abs``/``sign`` call in tree ``t`` whose arguments hold a variable."""
    return next((n[1] for n in T.nodes(t) if n[0] == "fn" and n[1] in ("min", "max", "abs", "sign")
                 and any(v in variables for v, _ in T.symbols(n))), None)


def _nonlinear_pair(t, dynamic: set):
    """A pair ``((name, lag), (name, lag))`` of variables/shocks whose second derivative of tree ``t``
    is not identically zero (the first in sorted order), or ``None``."""
    for s1, d in sorted(T.gradient(t, dynamic).items()):
        second = T.gradient(d, dynamic)
        if second:
            return s1, min(second)
    return None


def _check_linear(equations, variables, shocks, where: str) -> None:
    """A model declared linear (YAML ``options: {linear: true}``, Dynare ``model(linear)``) must have
    zero second derivatives with respect to the variables and shocks, as Dynare 5.3's preprocessor
    demands ("If the model is declared linear the second derivatives must be equal to zero"), and
    min/max/abs/sign of an endogenous variable are refused too, as Dynare does ("you have declared
    your model 'linear' but you are using a function (max, min, abs, sign) ... on an endogenous
    variable"). A nonlinear equation would otherwise be linearized silently around a steady state
    of zero. Every offending equation is listed with its line and, for a nonzero second derivative,
    the variable pair."""
    dynamic = set(variables) | set(shocks)
    endo = set(variables)

    def timed(n, k):
        return n if k == 0 else f"{n}({k:+d})"

    bad = []
    for i, e in enumerate(equations):
        at = f"eq {i + 1}"
        if e.line:
            at += f" (line {e.line}" + (f" of {e.file}" if e.file and str(e.file) != str(where) else "") + ")"
        kink = _kink_of(e.tree, endo)
        if kink is not None:
            bad.append((i, e, f"{at}: {kink}() of an endogenous variable: {e.text}"))
            continue
        pair = _nonlinear_pair(e.tree, dynamic)
        if pair is not None:
            (n1, k1), (n2, k2) = pair
            bad.append((i, e, f"{at}: second derivative with respect to {timed(n1, k1)} and {timed(n2, k2)} "
                              f"is not zero: {e.text}"))
    if bad:
        i, e, _ = bad[0]
        first = f"equation {i + 1}" + (f" (line {e.line})" if e.line else "")
        verb = f" and {len(bad) - 1} more are" if len(bad) > 1 else " is"
        raise ModelStructureError(
            f"{where}: the model is declared linear but {first}{verb} not linear in the variables and "
            "shocks, which Dynare 5.3 refuses: " + "; ".join(b for _, _, b in bad))


def build_model(*, name: str, source: str | None, variables: list[str], shocks: list[str],
                parameters: dict[str, float], param_exprs: dict[str, Any], derived_order: list[str],
                equations: list[Equation], shock_cov_exprs=None, ss_block=None, ss_exprs=None,
                initval=None, loglinear=False, linear=False, observables=None, measurement=None,
                estimated_params=None, estimation_options=None, commands=None, policy_rule=None,
                shock_stderr_params=None, file: str | None = None, measurement_errors=None) -> Model:
    """Assemble and check a :class:`Model` (structure checks, aux variables, parameter split)."""
    # -- duplicate names
    seen: dict[str, str] = {}
    for kind, names in (("variable", variables), ("shock", shocks), ("parameter", list(parameters))):
        for n in names:
            if n in seen:
                raise ModelStructureError(f"{file or name}: name {n!r} declared twice (as {seen[n]} and {kind})")
            seen[n] = kind
    # -- counts
    if len(equations) != len(variables):
        raise ModelStructureError(
            f"{file or name}: {len(equations)} equations for {len(variables)} endogenous variables "
            f"(the counts must be equal)")
    if linear:
        _check_linear(equations, variables, shocks, file or name)
    used = set()
    for e in equations:
        for n, _ in e.symbols:
            used.add(n)
    unused = [v for v in variables if v not in used]
    if unused:
        raise ModelStructureError(f"{file or name}: declared variable(s) never used in any equation: "
                                  + ", ".join(unused))
    # -- aux variables
    new_eqs, aux_vars, aux_src = _aux_transform(equations, variables, shocks)
    all_vars = list(variables) + aux_vars
    # -- analytic steady state of aux variables
    if ss_exprs is not None:
        ss_exprs = {k: as_tree(v) for k, v in ss_exprs.items()}
        for a, (kind, orig) in aux_src.items():
            ss_exprs[a] = T.ZERO if kind == "exo" else ss_exprs[orig]
    initval = dict(initval or {})
    for a, (kind, orig) in aux_src.items():
        if kind != "exo" and orig in initval:
            initval.setdefault(a, initval[orig])
    n_u = len(shocks)
    cov_entries = _cov_entries(shock_cov_exprs, n_u)
    param_exprs = {k: as_tree(v) for k, v in param_exprs.items()}
    derived = [d for d in derived_order if d in param_exprs]
    param_names = [p for p in parameters if p not in param_exprs]
    env = {p: float(parameters[p]) for p in param_names}
    params = dict(parameters)
    for d in derived:
        v = T.evaluate(param_exprs[d], env)
        params[d] = v
        env[d] = v
    cov = _eval_cov(cov_entries, n_u, env)
    m = Model(name=name, source=source, variables=all_vars, aux_variables=aux_vars, shocks=list(shocks),
              shock_cov=cov, parameters=params, param_names=param_names, equations=new_eqs,
              loglinear=bool(loglinear), linear=bool(linear), observables=list(observables or []),
              measurement=dict(measurement or {}), estimated_params=list(estimated_params or []),
              estimation_options=dict(estimation_options or {}), commands=list(commands or []),
              policy_rule=policy_rule, shock_stderr_params=dict(shock_stderr_params or {}),
              measurement_errors=dict(measurement_errors or {}), initval=initval, param_exprs=param_exprs, derived_order=derived, ss_exprs=ss_exprs,
              ss_block=[(t, as_tree(e)) for t, e in (ss_block or [])], shock_cov_entries=cov_entries,
              original_equations=list(equations), declared_variables=list(variables),
              aux_info=dict(aux_src), lead_lag_incidence=incidence_of(new_eqs, all_vars))
    if policy_rule is not None:
        pr = dict(policy_rule)
        pr["equation"] = m.equation_index(pr.get("equation"))
        for p in pr.get("parameters", []) or []:
            if p not in params:
                raise UnknownNameError(f"policy_rule parameter {p!r} is not a declared parameter", file)
        m.policy_rule = pr
    for o in ([] if m.measurement else m.observables):
        if o not in all_vars:
            raise UnknownNameError(f"observable {o!r} is not a declared variable", file)
    return m
