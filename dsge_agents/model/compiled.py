"""Symbolic derivatives compiled once per model into Numba functions of θ.

DESIGN §4: the Jacobians of ``f(y_{t-1}, y_t, y_{t+1}, u_t; θ)`` are derived
with SymPy ONCE per model, simplified by common-subexpression elimination
(``sympy.cse``), printed as plain Python source and compiled with
``numba.njit(cache=True)``. The source is written to a cache directory
(``$DSGE_AGENTS_CACHE`` or ``~/.cache/dsge_agents``) under a name derived from
a hash of the model's symbolic content and *imported* from there, so Numba's
on-disk cache (which needs a real source file) survives across processes, and
a second process skips SymPy differentiation entirely.

Generated functions (all ``@njit``; ``steady_state`` only when the model file
gives an analytic steady state):

* ``all_params(theta)`` — every parameter (base then derived recomputed), declared order;
* ``steady_state(theta)`` — analytic steady state (n_var,);
* ``residual(y_lag, y, y_lead, u, theta)`` — (n_eq,);
* ``static_residual(y, theta)`` / ``static_jacobian(y, theta)`` — f(y, y, y, 0)
  and its derivative (levels), used by the numeric steady-state solver;
* ``jacobian(ss, theta)`` — ``(A_lag, A_cur, A_lead, A_u)`` at the steady state;
  for ``loglinear`` models columns are multiplied by ``ss`` (derivative w.r.t.
  log y — Dynare's ``loglinear`` option);
* ``shock_cov(theta)`` — (n_u, n_u).

Derived parameters (assignments depending on other parameters) are recomputed
from θ at the top of every function, so a change of a base parameter
propagates.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from dsge_agents.errors import UnknownNameError
from dsge_agents.model.expr import split_tsym, tsym

__all__ = ["CompiledModel", "compile_model", "generate_source", "cache_dir"]

_CODEGEN_VERSION = "4"
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Directory holding generated sources (``$DSGE_AGENTS_CACHE`` or ``~/.cache/dsge_agents``)."""
    d = os.environ.get("DSGE_AGENTS_CACHE")
    p = Path(d) if d else Path(os.path.expanduser("~")) / ".cache" / "dsge_agents"
    try:
        p.mkdir(parents=True, exist_ok=True)
        if not os.access(p, os.W_OK):
            raise OSError
    except OSError:
        p = Path(tempfile.gettempdir()) / "dsge_agents_cache"
        p.mkdir(parents=True, exist_ok=True)
    return p


class _Printer(PythonCodePrinter):
    """Python printer for Numba: fixed identifiers, exact floats, float-valued step functions."""

    def __init__(self, names: dict):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})
        self._names = names

    def _print_Symbol(self, s):
        try:
            return self._names[s]
        except KeyError:
            return s.name  # cse temporaries

    def _print_Float(self, f):
        return repr(float(f))

    def _print_Heaviside(self, e):
        a = self._print(e.args[0])
        return f"(0.0 if ({a}) < 0.0 else (0.5 if ({a}) == 0.0 else 1.0))"

    def _print_sign(self, e):
        a = self._print(e.args[0])
        return f"(0.0 if ({a}) == 0.0 else math.copysign(1.0, {a}))"

    def _print_Rational(self, e):
        return f"({float(e.p)}/{float(e.q)})"

    def _print_Integer(self, e):
        return repr(float(int(e))) if abs(int(e)) > 2 ** 52 else str(int(e))


def _model_key(m) -> str:
    parts = [_CODEGEN_VERSION, repr(m.variables), repr(m.shocks), repr(list(m.parameters)),
             repr(m.param_names), repr(m.loglinear)]
    # str() of SymPy expressions is canonical for a given SymPy version (srepr is much slower)
    parts += [sp.__version__] + [str(e.expr) for e in m.equations]
    parts += [f"{d}:{m.param_exprs[d]}" for d in m.derived_order]
    if m.ss_exprs is not None:
        if m.ss_block:
            parts += [f"{t}:{e}" for t, e in m.ss_block] + [f"{a}:{k}" for a, k in m.aux_info.items()]
            parts += [f"{v}:{m.ss_exprs[v]}" for v in m.variables
                      if v not in m.aux_info and v not in {t for t, _ in m.ss_block}]
        else:
            parts += [f"{v}:{m.ss_exprs[v]}" for v in m.variables]
    parts += [str(sp.Matrix(m.shock_cov_exprs).tolist())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _header(m, names, indent="    ") -> list[str]:
    """Unpack θ and recompute derived parameters (in assignment order)."""
    lines = []
    pr = _Printer(names)
    for i, p in enumerate(m.param_names):
        lines.append(f"{indent}{names[tsym(p)]} = theta[{i}]")
    for d in m.derived_order:
        lines.append(f"{indent}{names[tsym(d)]} = {pr.doprint(sp.sympify(m.param_exprs[d]))}")
    return lines


def _emit(exprs, names, indent="    ", prefix="x"):
    """CSE a list of expressions; return (lines, printed results)."""
    pr = _Printer(names)
    if not exprs:
        return [], []
    repl, red = sp.cse(exprs, symbols=sp.numbered_symbols(f"_{prefix}"), optimizations=None)
    lines = [f"{indent}{s.name} = {pr.doprint(e)}" for s, e in repl]
    return lines, [pr.doprint(e) for e in red]


def generate_source(m) -> str:
    """Python source of the compiled functions of model ``m`` (SymPy runs here, once)."""
    nv, nu = len(m.variables), len(m.shocks)
    vidx = {v: j for j, v in enumerate(m.variables)}
    uidx = {u: k for k, u in enumerate(m.shocks)}
    pnames = list(m.parameters)
    # identifier maps
    base = {}
    for i, p in enumerate(pnames):
        base[tsym(p)] = f"p{i}"
    dyn = dict(base)      # residual: y_lag / y / y_lead / u
    for v, j in vidx.items():
        dyn[tsym(v, -1)] = f"vm{j}"
        dyn[tsym(v, 0)] = f"v{j}"
        dyn[tsym(v, 1)] = f"vp{j}"
    for u, k in uidx.items():
        dyn[tsym(u)] = f"u{k}"
    exprs = [sp.sympify(e.expr) for e in m.equations]
    for e in exprs:
        for s in e.free_symbols:
            if s not in dyn:
                raise UnknownNameError(f"symbol {s} in model {m.name} is not declared")

    out = ["# generated by dsge_agents.model.compiled -- do not edit",
           f"# model: {m.name}", "import math", "import numpy as np", "from numba import njit", ""]

    def unpack(arrname, prefix, used):
        return [f"    {prefix}{j} = {arrname}[{j}]" for j in range(nv) if f"{prefix}{j}" in used]

    # ---- all_params
    out += ["@njit(cache=True)", "def all_params(theta):"]
    out += _header(m, base)
    out += [f"    out = np.empty({len(pnames)})"]
    out += [f"    out[{i}] = p{i}" for i in range(len(pnames))]
    out += ["    return out", ""]

    # ---- shock_cov
    out += ["@njit(cache=True)", "def shock_cov(theta):"]
    out += _header(m, base)
    out += [f"    out = np.zeros(({nu}, {nu}))"]
    C = sp.Matrix(m.shock_cov_exprs) if nu else sp.zeros(0, 0)
    cells = [(i, j) for i in range(nu) for j in range(nu) if C[i, j] != 0]
    lines, res = _emit([C[i, j] for i, j in cells], base, prefix="c")
    out += lines + [f"    out[{i}, {j}] = {r}" for (i, j), r in zip(cells, res)]
    out += ["    return out", ""]

    # ---- residual
    used = set(dyn[s] for e in exprs for s in e.free_symbols)
    out += ["@njit(cache=True)", "def residual(y_lag, y, y_lead, u, theta):"]
    out += _header(m, base)
    out += unpack("y_lag", "vm", used) + unpack("y", "v", used) + unpack("y_lead", "vp", used)
    out += [f"    u{k} = u[{k}]" for k in range(nu) if f"u{k}" in used]
    lines, res = _emit(exprs, dyn, prefix="r")
    out += lines + [f"    out = np.empty({len(exprs)})"]
    out += [f"    out[{i}] = {r}" for i, r in enumerate(res)]
    out += ["    return out", ""]

    # ---- derivatives (once)
    stat = dict(base)
    to_static = {}
    for v, j in vidx.items():
        stat[tsym(v)] = f"v{j}"
        to_static[tsym(v, -1)] = tsym(v)
        to_static[tsym(v, 1)] = tsym(v)
    for u in m.shocks:
        to_static[tsym(u)] = sp.Integer(0)
    blocks = {"lag": -1, "cur": 0, "lead": 1}
    entries = []   # (block, i, j, expr at ss)
    for i, e in enumerate(exprs):
        for s in e.free_symbols:
            n, lag = split_tsym(s)
            if n in vidx:
                blk = {-1: "lag", 0: "cur", 1: "lead"}[lag]
                d = sp.diff(e, s)
                if d != 0:
                    entries.append((blk, i, vidx[n], d.xreplace(to_static)))
            elif n in uidx:
                d = sp.diff(e, s)
                if d != 0:
                    entries.append(("u", i, uidx[n], d.xreplace(to_static)))
    entries.sort(key=lambda t: ({"lag": 0, "cur": 1, "lead": 2, "u": 3}[t[0]], t[1], t[2]))
    static_exprs = [e.xreplace(to_static) for e in exprs]

    # ---- static residual / jacobian (levels; numeric steady state)
    s_used = set(stat[s] for e in static_exprs for s in e.free_symbols)
    out += ["@njit(cache=True)", "def static_residual(y, theta):"]
    out += _header(m, base) + unpack("y", "v", s_used)
    lines, res = _emit(static_exprs, stat, prefix="s")
    out += lines + [f"    out = np.empty({len(exprs)})"]
    out += [f"    out[{i}] = {r}" for i, r in enumerate(res)]
    out += ["    return out", ""]
    sj = {}
    for blk, i, j, d in entries:
        if blk != "u":
            sj[(i, j)] = sj.get((i, j), 0) + d
    sj_cells = [(k, v) for k, v in sj.items() if v != 0]
    j_used = set(stat[s] for _, d in sj_cells for s in d.free_symbols)
    out += ["@njit(cache=True)", "def static_jacobian(y, theta):"]
    out += _header(m, base) + unpack("y", "v", j_used)
    lines, res = _emit([d for _, d in sj_cells], stat, prefix="g")
    out += lines + [f"    out = np.zeros(({len(exprs)}, {nv}))"]
    out += [f"    out[{i}, {j}] = {r}" for ((i, j), _), r in zip(sj_cells, res)]
    out += ["    return out", ""]

    # ---- dynamic jacobian at the steady state
    d_used = set(stat[s] for *_, d in entries for s in d.free_symbols)
    if m.loglinear:
        d_used |= {f"v{j}" for blk, i, j, d in entries if blk != "u"}
    out += ["@njit(cache=True)", "def jacobian(ss, theta):"]
    out += _header(m, base) + unpack("ss", "v", d_used)
    lines, res = _emit([d for *_, d in entries], stat, prefix="d")
    out += lines
    ne = len(exprs)
    out += [f"    A_lag = np.zeros(({ne}, {nv}))", f"    A_cur = np.zeros(({ne}, {nv}))",
            f"    A_lead = np.zeros(({ne}, {nv}))", f"    A_u = np.zeros(({ne}, {nu}))"]
    arr = {"lag": "A_lag", "cur": "A_cur", "lead": "A_lead", "u": "A_u"}
    for (blk, i, j, _), r in zip(entries, res):
        if m.loglinear and blk != "u":
            out.append(f"    {arr[blk]}[{i}, {j}] = ({r}) * v{j}")
        else:
            out.append(f"    {arr[blk]}[{i}, {j}] = {r}")
    out += ["    return A_lag, A_cur, A_lead, A_u", ""]

    # ---- analytic steady state
    if m.ss_exprs is not None:
        ss_list = [sp.sympify(m.ss_exprs[v]) for v in m.variables]
        for e in ss_list:
            for s in e.free_symbols:
                if s not in base:
                    raise UnknownNameError(f"steady-state expression of model {m.name} uses {s}, "
                                           "which is not a parameter")
        out += ["@njit(cache=True)", "def steady_state(theta):"]
        out += _header(m, base)
        if m.ss_block:
            # sequential evaluation of the file's steady-state block (temporaries as locals)
            names = dict(base)
            pr = _Printer(names)
            cur = {}
            for k, (target, e) in enumerate(m.ss_block):
                ident = f"q{k}"
                out.append(f"    {ident} = {_Printer(names).doprint(sp.sympify(e))}")
                names[tsym(target)] = ident
                cur[target] = ident
            res = []
            for v in m.variables:
                src = v
                if v in m.aux_info:
                    kind, orig = m.aux_info[v]
                    if kind == "exo":
                        res.append("0.0")
                        continue
                    src = orig
                res.append(cur[src] if src in cur else pr.doprint(sp.sympify(m.ss_exprs[src])))
        else:
            lines, res = _emit(ss_list, base, prefix="q")
            out += lines
        out += [f"    out = np.empty({nv})"]
        out += [f"    out[{j}] = {r}" for j, r in enumerate(res)]
        out += ["    return out", ""]
    return "\n".join(out) + "\n"


def _import_source(path: Path, modname: str):
    spec = importlib.util.spec_from_file_location(modname, str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


def load_generated(m, use_cache: bool = True):
    """Generate (or reuse) the source of ``m``'s compiled functions and import it.

    With ``use_cache=False`` the source is exec'd in memory (Numba compiles
    without its on-disk cache); used by the benchmark to compare.
    """
    key = _model_key(m)
    modname = f"dsge_agents_gen_{key}"
    if use_cache and modname in sys.modules:
        return sys.modules[modname], key
    if not use_cache:
        src = generate_source(m).replace("@njit(cache=True)", "@njit")
        ns: dict = {"__name__": modname + "_mem"}
        exec(compile(src, f"<dsge_agents generated {m.name}>", "exec"), ns)  # our own generated code
        import types
        mod = types.SimpleNamespace(**{k: v for k, v in ns.items() if not k.startswith("__")})
        return mod, key
    d = cache_dir()
    path = d / f"{modname}.py"
    with _LOCK:
        if not path.exists():
            src = generate_source(m)
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(src)
            os.replace(tmp, path)   # atomic: concurrent processes write identical content
        return _import_source(path, modname), key


class CompiledModel:
    """Compiled functions of a :class:`~dsge_agents.model.spec.Model` (docs/ARCHITECTURE.md).

    Attributes ``residual``, ``jacobian``, ``shock_cov``, ``all_params``,
    ``static_residual``, ``static_jacobian`` and (for analytic steady states)
    ``steady_state`` are Numba dispatchers, callable from other ``@njit`` code.
    Without an analytic steady state, ``steady_state`` is a Python function
    running the numeric solver (:mod:`dsge_agents.model.steady`).
    """

    def __init__(self, model, use_cache: bool = True):
        self.model_name = model.name
        self.param_names = list(model.param_names)
        self.all_param_names = list(model.parameters)
        self.variables = list(model.variables)
        self.shocks = list(model.shocks)
        self.loglinear = model.loglinear
        self._defaults = np.array([model.parameters[p] for p in self.param_names], dtype=float)
        self._derived = set(model.derived_order)
        mod, self.key = load_generated(model, use_cache=use_cache)
        self.module = mod
        self.residual = mod.residual
        self.jacobian = mod.jacobian
        self.shock_cov = mod.shock_cov
        self.all_params = mod.all_params
        self.static_residual = mod.static_residual
        self.static_jacobian = mod.static_jacobian
        self.analytic_steady_state = hasattr(mod, "steady_state")
        if self.analytic_steady_state:
            self.steady_state = mod.steady_state
        else:
            from dsge_agents.model.steady import NumericSteadyState
            self.steady_state = NumericSteadyState(model, self)
        self.n_var = len(self.variables)
        self.n_eq = len(self.variables)
        self.n_u = len(self.shocks)

    def theta(self, params: dict | None = None) -> np.ndarray:
        """Parameter vector θ in ``param_names`` order: calibration updated by ``params``."""
        th = self._defaults.copy()
        if params:
            idx = {p: i for i, p in enumerate(self.param_names)}
            for k, v in params.items():
                if k in idx:
                    th[idx[k]] = float(v)
                elif k in self._derived:
                    raise UnknownNameError(
                        f"parameter {k!r} is derived from other parameters (recomputed from θ); "
                        "use Model.with_parameters to override its assignment")
                else:
                    raise UnknownNameError(f"unknown parameter {k!r}")
        return th

    def __repr__(self):
        return f"CompiledModel({self.model_name!r}, key={self.key})"


def compile_model(model, use_cache: bool = True) -> CompiledModel:
    """Build the :class:`CompiledModel` of ``model`` (SymPy differentiation runs at most once)."""
    return CompiledModel(model, use_cache=use_cache)
