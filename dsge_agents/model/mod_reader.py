"""Reader of Dynare ``.mod`` files (the subset of DESIGN §3 / issue 2 item 2).

Supported: ``var``/``varexo``/``parameters`` declarations (TeX names and
``long_name=`` options ignored), parameter assignments (expressions of
parameters assigned earlier), ``model;`` / ``model(linear);`` with ``#`` local
definitions and equation tags, leads and lags of any order (auxiliary variables,
:func:`dsge_agents.model.spec._aux_transform`), ``steady_state_model;``,
``initval;``, ``predetermined_variables``, ``change_type(...)``, ``shocks;``
(``var e; stderr s;``, ``var e = v;``, ``var e, u = c;``, ``corr e, u = r;``; with observed
variables instead of shocks: calibrated measurement errors, ``Model.measurement_errors``),
``varobs``, ``estimated_params;`` (+ ``_init`` / ``_bounds``; ``stderr y`` / ``corr y, z`` of
observed variables: estimated measurement errors), and the commands ``steady``, ``check``,
``stoch_simul(...)`` (order 1), ``estimation(...)`` whose options are recorded. The macro
language (``@#define``, ``@#if``, ``@#for``, ``@#include``, ``@{...}``) is expanded first by
:mod:`dsge_agents.model.macro`.
Reporting commands are ignored with a warning; anything else raises
:class:`~dsge_agents.errors.UnsupportedStatementError` with file, line and
statement. Comments: ``//``, ``%`` (to end of line) and ``/* ... */``.

No text of the file is ever executed: statements are recognised by keyword and
expressions go through :mod:`dsge_agents.model.expr`.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

from dsge_agents.errors import (ModelStructureError, ModelSyntaxError, UnknownNameError,
                                UnsupportedStatementError)
from dsge_agents.model.expr import FUNCTIONS, parse_equation, parse_expr, split_tsym, tsym
from dsge_agents.model.macro import expand, has_macros, original_column
from dsge_agents.model.spec import Equation, Model, build_model
from dsge_agents.model.yaml_reader import PRIOR_SHAPES

__all__ = ["read_mod", "parse_mod", "REPORTING_COMMANDS"]

REPORTING_COMMANDS = {
    "write_latex_dynamic_model", "write_latex_static_model", "write_latex_original_model",
    "write_latex_definitions", "write_latex_parameter_table", "write_latex_prior_table",
    "write_latex_steady_state_model", "collect_latex_files", "shock_decomposition",
    "realtime_shock_decomposition", "plot_shock_decomposition", "initial_condition_decomposition",
    "model_diagnostics", "model_info", "print_bytecode_dynamic_model", "print_bytecode_static_model",
    "dynatype", "dynasave", "rplot", "resid", "squeeze_shock_decomposition", "write_json",
    "save_params_and_steady_state", "disp", "fprintf", "plot", "figure", "model_local_variable",
}
UNSUPPORTED = {
    "occbin_constraints": "OccBin", "occbin_setup": "OccBin", "occbin_solver": "OccBin",
    "occbin_graph": "OccBin", "occbin_write_regimes": "OccBin",
    "ramsey_model": "Ramsey policy", "ramsey_policy": "Ramsey policy", "planner_objective": "Ramsey policy",
    "discretionary_policy": "discretionary policy", "osr": "optimal simple rules (use dsge_agents.policy)",
    "osr_params": "optimal simple rules", "optim_weights": "optimal simple rules",
    "simul": "perfect foresight", "perfect_foresight_setup": "perfect foresight",
    "perfect_foresight_solver": "perfect foresight", "endval": "deterministic simulation",
    "varexo_det": "deterministic exogenous variables",
    "trend_var": "trend variables",
    "observation_trends": "observation trends", "deterministic_trends": "trends",
    "external_function": "external functions", "verbatim": "verbatim blocks",
    "markov_switching": "Markov switching", "svar_identification": "SVAR", "bvar_density": "BVAR",
    "identification": "identification analysis", "dynare_sensitivity": "sensitivity analysis",
    "forecast": "forecast", "conditional_forecast": "conditional forecasts",
    "calib_smoother": "calib_smoother", "homotopy_setup": "homotopy",
    "load_params_and_steady_state": "load_params_and_steady_state", "mshocks": "mshocks",
    "extended_path": "extended path", "steady_state_model_block": "",
}
#: the options Dynare 5.3's preprocessor accepts in stoch_simul(...) (each checked with its
#: dynare-preprocessor; others, e.g. a misspelled 'hp_fliter', are a syntax error there)
STOCH_SIMUL_OPTIONS = frozenset(
    "ar drop hp_filter one_sided_hp_filter bandpass_filter irf irf_shocks irf_plot_threshold relative_irf noprint "
    "print nocorr nodecomposition nofunctions nomoments nograph nodisplay graph graph_format order k_order_solver "
    "periods qz_criterium qz_zero_threshold replic simul_replic solve_algo aim_solver "
    "conditional_variance_decomposition pruning partial_information sylvester sylvester_fixed_point_tol dr "
    "dr_cycle_reduction_tol dr_logarithmic_reduction_tol dr_logarithmic_reduction_maxiter loglinear tex "
    "dr_display_tol contemporaneous_correlation spectral_density filtered_theoretical_moments_grid hp_ngrid".split())
BLOCKS = {"model", "steady_state_model", "initval", "shocks", "estimated_params", "estimated_params_init",
          "estimated_params_bounds", "histval"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Stmt:
    text: str        # raw text (no trailing ';')
    line: int        # position of text[0]
    col: int

    def first_pos(self) -> tuple[int, int, str]:
        """Line, column and stripped text of the first non-blank character."""
        ln, c = self.line, self.col
        for ch in self.text:
            if ch == "\n":
                ln, c = ln + 1, 1
            elif ch.isspace():
                c += 1
            else:
                break
        return ln, c, self.text.strip()


# ------------------------------------------------------------------------------ lexical stage
def _is_transpose(text: str, i: int) -> bool:
    """Whether the ``'`` at ``text[i]`` is MATLAB's transpose (``x'``, ``f(x)'``, ``a.'``) rather
    than the start of a string: it directly follows a name, a number, a closing bracket or another
    transpose (the MATLAB rule). Native MATLAB lines such as ``write_json(f, {v(:)'});`` then split
    at their ``;`` like any other statement."""
    if text[i] != "'" or i == 0:
        return False
    p = text[i - 1]
    return p.isalnum() or p in "_)]}.'"


def _strip_comments(text: str, file: str) -> str:
    """Blank out comments (keeping newlines and columns) outside of quoted strings."""
    out = list(text)
    i, n = 0, len(text)
    quote = None
    while i < n:
        c = text[i]
        if quote:
            if c == quote or c == "\n":
                quote = None
            i += 1
            continue
        if c in "'\"" and not _is_transpose(text, i):
            quote = c
            i += 1
            continue
        if text.startswith("//", i) or c == "%":
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                line = text.count("\n", 0, i) + 1
                raise ModelSyntaxError("unterminated /* comment", file, line, i - text.rfind("\n", 0, i), "/*")
            for k in range(i, j + 2):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 2
            continue
        i += 1
    return "".join(out)


def _split_statements(text: str, file: str) -> list[Stmt]:
    stmts = []
    line, col = 1, 1
    start, sline, scol = 0, 1, 1
    quote = None
    depth = 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"" and not _is_transpose(text, i):
            quote = c
        elif c == ";" and depth == 0:
            stmts.append(Stmt(text[start:i], sline, scol))
            start, sline, scol = i + 1, line, col + 1
        elif c in "[":
            depth += 1
        elif c in "]":
            depth = max(0, depth - 1)
        if c == "\n":
            line, col = line + 1, 1
            if i + 1 == start:
                sline, scol = line, 1
        else:
            col += 1
    rest = text[start:]
    if rest.strip():
        st = Stmt(rest, sline, scol)
        ln, c, t = st.first_pos()
        raise ModelSyntaxError("statement not terminated by ';'", file, ln, c, t.split()[0] if t else None)
    return stmts


# ------------------------------------------------------------------------------ options
def _split_top(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur, quote = [], 0, [], None
    for c in s:
        if quote:
            cur.append(c)
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def _option_value(v: str):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    if re.fullmatch(r"[+-]?\d+", v):
        return int(v)
    try:
        return float(v)
    except ValueError:
        return v


def parse_options(s: str) -> dict:
    """Options ``key=value, flag, ...`` of a Dynare command (values: int, float or string)."""
    out = {}
    s = s.strip()
    if not s:
        return out
    for part in _split_top(s):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().lower()] = _option_value(v)
        else:
            out[part.lower()] = True
    return out


def _command(text: str) -> tuple[str, dict, list[str]]:
    """Split ``name(options) args`` into name, options and trailing names."""
    m = _NAME.match(text)
    name = m.group(0)
    rest = text[m.end():].lstrip()
    opts = {}
    if rest.startswith("("):
        depth, j = 0, 0
        for j, c in enumerate(rest):
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
        opts = parse_options(rest[1:j])
        rest = rest[j + 1:]
    return name, opts, rest.replace(",", " ").split()


def _declared_names(body: str) -> list[str]:
    """Names of a ``var``/``varexo``/``parameters`` statement, without TeX names and options."""
    body = re.sub(r"\$[^$]*\$", " ", body)
    depth, quote, cur = 0, None, []
    for c in body:
        if quote:
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
            continue
        if c == "(":
            depth += 1
            continue
        if c == ")":
            depth -= 1
            continue
        if depth == 0:
            cur.append(c)
    return " ".join("".join(cur).replace(",", " ").split()).split()


# ------------------------------------------------------------------------------ the reader
class _ModReader:
    def __init__(self, text: str, file: str):
        self.file = file
        self.text = text
        self.variables: list[str] = []
        self.shocks: list[str] = []
        self.params: list[str] = []
        self.values: dict[str, float] = {}
        self.param_exprs: dict[str, Any] = {}
        self.derived_order: list[str] = []
        self.equations: list[Equation] = []
        self.locals: dict[str, Any] = {}
        self.linear = False
        self.has_model = False
        self.ss_block: list = []
        self.ss_exprs: dict | None = None
        self.initval: dict[str, float] = {}
        self.shock_std: dict[str, Any] = {}
        self.shock_var: dict[str, Any] = {}
        self.shock_cov: dict[tuple[str, str], Any] = {}
        self.shock_corr: dict[tuple[str, str], Any] = {}
        # measurement errors: `var <observed endogenous>; stderr s;` etc. in the shocks block
        self.me_std: dict[str, Any] = {}
        self.me_var: dict[str, Any] = {}
        self.me_cov: dict[tuple[str, str], Any] = {}
        self.me_corr: dict[tuple[str, str], Any] = {}
        self.me_stmt: dict[str, Any] = {}
        self.observables: list[str] = []
        self.estimated: list[dict] = []
        self.est_opts: dict = {}
        self.commands: list = []
        self.loglinear = False
        self.predetermined: list[str] = []
        self.decl_order: list[str] = []   # every declared symbol, in declaration order
        self.origin: list[tuple] | None = None   # (file, line[, column map]) of each line after macro expansion

    def where(self, line: int) -> tuple[str, int]:
        """File and line in the user's files of line ``line`` of the (macro-expanded) text."""
        if self.origin and line is not None and 1 <= line <= len(self.origin):
            return self.origin[line - 1][:2]
        return self.file, line

    # -- helpers
    def err(self, cls, msg, st: Stmt, token=None):
        ln, c, t = st.first_pos()
        raise cls(msg, self.file, ln, c, token if token is not None else (t.split()[0] if t else ";"))

    def names(self, ss=False, timing=True):
        d = {p: "param" for p in self.params}
        for v in self.variables:
            d[v] = "var"
        for u in self.shocks:
            d[u] = "shock"
        return d

    def declare(self, kind, st, body):
        names = _declared_names(body)
        if not names:
            self.err(ModelSyntaxError, f"empty {kind} declaration", st)
        target = {"var": self.variables, "varexo": self.shocks, "parameters": self.params}[kind]
        for n in names:
            if not _NAME.fullmatch(n):
                self.err(ModelSyntaxError, f"invalid name in {kind} declaration", st, n)
            if "__" in n or n in FUNCTIONS:
                self.err(ModelSyntaxError, f"name {n!r} is reserved", st, n)
            if n in self.variables or n in self.shocks or n in self.params:
                self.err(ModelSyntaxError, f"name {n!r} declared twice", st, n)
            target.append(n)
            self.decl_order.append(n)

    def change_type(self, st, opts, args):
        """``change_type(var|varexo|parameters) names;``: the symbols take the new kind, ordered
        among its symbols by first declaration (as Dynare's symbol table numbers them)."""
        kinds = [k for k in opts if k in ("var", "varexo", "parameters")]
        if len(kinds) != 1 or len(opts) != 1:
            self.err(UnsupportedStatementError if "varexo_det" in opts else ModelSyntaxError,
                     "expected change_type(var), change_type(varexo) or change_type(parameters)", st)
        if self.has_model:
            self.err(UnsupportedStatementError, "change_type after the model block is not supported", st)
        lists = {"var": self.variables, "varexo": self.shocks, "parameters": self.params}
        target = lists[kinds[0]]
        for n in args:
            src = next((lst for lst in lists.values() if n in lst), None)
            if src is None:
                self.err(UnknownNameError, "change_type names an undeclared symbol", st, n)
            if src is target:
                continue
            src.remove(n)
            target.append(n)
            target.sort(key=self.decl_order.index)
            self.values.pop(n, None)
            self.param_exprs.pop(n, None)
            if n in self.derived_order:
                self.derived_order.remove(n)

    def expr(self, text, st: Stmt, offset: int, names, locals=None, timing=False):
        """Parse text that starts at character ``offset`` of statement ``st``."""
        pre = st.text[:offset]
        ln = st.line + pre.count("\n")
        col = (len(pre) - pre.rfind("\n")) if "\n" in pre else st.col + len(pre)
        return parse_expr(text, names, locals, allow_timing=timing, file=self.file, line=ln, col=col)

    def pvalue(self, e: sp.Expr, st) -> float:
        env = {tsym(p): self.values[p] for p in self.values}
        # a bare parameter name ('y = rho;') xreplaces to the Python float itself
        v = sp.sympify(e.xreplace(env) if isinstance(e, sp.Basic) else e)
        if v.free_symbols:
            missing = ", ".join(sorted(s.name for s in v.free_symbols))
            self.err(ModelSyntaxError, f"uses parameter(s) not yet assigned: {missing}", st)
        try:
            return float(v)
        except TypeError:
            self.err(ModelSyntaxError, "value is not a real number", st)

    # -- main loop
    def run(self):
        clean = _strip_comments(self.text, self.file)
        stmts = _split_statements(clean, self.file)
        i = 0
        while i < len(stmts):
            st = stmts[i]
            ln, col, t = st.first_pos()
            i += 1
            if not t:
                continue
            m = _NAME.match(t)
            if not m:
                self.err(UnsupportedStatementError, "unsupported statement", st, t[:20])
            kw = m.group(0)
            rest = t[m.end():]
            low = kw.lower()
            if low in ("var", "varexo", "parameters") and (rest[:1].isspace() or rest[:1] in ("", "$", "(")
                                                           ) and not rest.lstrip().startswith("="):
                if low == "var" and rest.lstrip().startswith("("):
                    self.err(UnsupportedStatementError, "var(...) options (deflator, log) are not supported", st)
                self.declare(low, st, rest)
                continue
            if low in BLOCKS and not rest.lstrip().startswith("="):
                name, opts, _ = _command(t)
                j = i
                while j < len(stmts) and stmts[j].text.strip().lower() != "end":
                    j += 1
                if j >= len(stmts):
                    for s2 in stmts[i:]:   # 'x = 1 end;': the ';' before 'end' is missing
                        m2 = re.search(r"(?<![A-Za-z0-9_])end\s*$", s2.text)
                        if m2 and s2.text[:m2.start()].strip():
                            pre = s2.text[:m2.start()]
                            ln2 = s2.line + pre.count("\n")
                            c2 = (len(pre) - pre.rfind("\n")) if "\n" in pre else s2.col + len(pre)
                            raise ModelSyntaxError(f"block '{kw}' (line {ln}) is not closed: missing ';' "
                                                   "before this 'end'?", self.file, ln2, c2, "end")
                    self.err(ModelSyntaxError, f"block '{kw}' is not closed by 'end;'", st)
                body = stmts[i:j]
                i = j + 1
                getattr(self, f"block_{low}")(st, opts, body)
                continue
            if re.match(r"\s*=", rest) and not rest.lstrip().startswith("=="):
                self.assignment(st, kw)
                continue
            if low == "change_type":
                name, opts, args = _command(t)
                self.change_type(st, opts, args)
                continue
            if low == "unit_root_vars":
                # Dynare 5.3: "'unit_root_vars' is now obsolete; use the 'diffuse_filter' option of
                # 'estimation' instead" -- a warning, and the statement has no effect
                for n in _declared_names(rest):
                    if n not in self.variables:
                        self.err(UnknownNameError, "unit_root_vars names an undeclared variable", st, n)
                wf, wl = self.where(ln)
                warnings.warn(f"{wf}, line {wl}: 'unit_root_vars' is obsolete (Dynare 5.3 ignores it with a "
                              "warning too): ignored", stacklevel=3)
                continue
            if low == "predetermined_variables":
                for n in _declared_names(rest):
                    if n not in self.variables:
                        self.err(UnknownNameError, "predetermined_variables names an undeclared variable", st, n)
                    self.predetermined.append(n)
                continue
            if low == "varobs":
                for n in _declared_names(rest):
                    if n not in self.variables:
                        self.err(UnknownNameError, "varobs names an undeclared variable", st, n)
                    if n in self.observables:
                        self.err(ModelSyntaxError, "variable observed twice (varobs)", st, n)
                    self.observables.append(n)
                continue
            if low in ("steady", "check", "stoch_simul", "estimation"):
                name, opts, args = _command(t)
                self.command(low, opts, args, st)
                continue
            if low in REPORTING_COMMANDS:
                wf, wl = self.where(ln)
                warnings.warn(f"{wf}, line {wl}: reporting command '{kw}' ignored", stacklevel=3)
                continue
            if low == "end":
                self.err(ModelSyntaxError, "'end' without an open block", st)
            what = UNSUPPORTED.get(low)
            msg = f"unsupported statement '{kw}'" + (f" ({what} is outside the supported Dynare subset)"
                                                       if what else " (outside the supported Dynare subset)")
            self.err(UnsupportedStatementError, msg, st, kw)
        return self.build()

    # -- statements
    def assignment(self, st: Stmt, name: str):
        if name not in self.params:
            kind = "variable" if name in self.variables else "shock" if name in self.shocks else None
            if kind:
                self.err(ModelSyntaxError, f"cannot assign to {kind} {name!r} outside a block", st, name)
            self.err(UnknownNameError, f"assignment to undeclared parameter {name!r}", st, name)
        off = st.text.index("=") + 1
        e = self.expr(st.text[off:], st, off, {p: "param" for p in self.params})
        val = self.pvalue(e, st)
        if name in self.values:
            # Dynare assigns in sequence (MATLAB statements): a parameter computed earlier from
            # ``name`` keeps the value it got then, so it stops being derived from ``name``
            me = tsym(name)
            for d in list(self.derived_order):
                if d != name and me in self.param_exprs[d].free_symbols:
                    self.param_exprs.pop(d)
                    self.derived_order.remove(d)
            # likewise a shocks block already read used the value of that time (Dynare sets M_.Sigma_e there)
            env = {tsym(p): v for p, v in self.values.items()}
            for table in (self.shock_std, self.shock_var, self.shock_cov, self.shock_corr,
                          self.me_std, self.me_var, self.me_cov, self.me_corr):
                for key, e in table.items():
                    if me in getattr(e, "free_symbols", ()):
                        table[key] = sp.Float(float(e.xreplace(env)))
        self.values[name] = val
        if e.free_symbols and tsym(name) not in e.free_symbols:   # 'a = 2*a' is a plain value
            self.param_exprs[name] = e
            if name in self.derived_order:
                self.derived_order.remove(name)
            self.derived_order.append(name)
        else:
            self.param_exprs.pop(name, None)
            if name in self.derived_order:
                self.derived_order.remove(name)

    def command(self, name, opts, args, st):
        for a in args:
            if a not in self.variables:
                self.err(UnknownNameError, f"{name} lists {a!r}, which is not a declared endogenous variable",
                         st, a)
        if name == "stoch_simul":
            unknown = [k for k in opts if k.lower() not in STOCH_SIMUL_OPTIONS]
            if unknown:
                wf, wl = self.where(st.first_pos()[0])
                warnings.warn(f"{wf}, line {wl}: stoch_simul option(s) {', '.join(unknown)} are not options of "
                              "Dynare 5.3's stoch_simul (its preprocessor stops with a syntax error): ignored",
                              stacklevel=4)
            shocks = opts.get("irf_shocks")
            if shocks is not None:
                names = str(shocks).strip().strip("()[]").replace(",", " ").split() if shocks is not True else []
                if not names:
                    self.err(ModelSyntaxError, "stoch_simul option irf_shocks needs shock names, "
                             "e.g. irf_shocks=(e_a, e_m)", st, "irf_shocks")
                for n in names:
                    if n not in self.shocks:
                        self.err(UnknownNameError, f"stoch_simul option irf_shocks names {n!r}, which is not a "
                                 "declared exogenous variable (varexo)", st, n)
            order = opts.get("order", 1)
            if order != 1:
                self.err(UnsupportedStatementError, f"stoch_simul(order={order}): only order=1 is supported",
                         st, "order")
        if name == "estimation":
            if opts.get("order", 1) != 1:
                self.err(UnsupportedStatementError, "estimation(order>1) is not supported", st, "order")
            self.est_opts.update(opts)
            if args:
                self.est_opts["varlist"] = args
            df = opts.get("datafile")
            if df is not None:
                self.est_opts["datafile_path"] = _resolve_datafile(str(df), self.file)
        if name in ("stoch_simul", "estimation") and opts.get("loglinear"):
            self.loglinear = True
        if args:
            opts = dict(opts, varlist=args)
        self.commands.append((name, opts))

    # -- blocks
    def block_model(self, st, opts, body):
        linear = bool(opts.get("linear", False))
        if self.has_model and linear != self.linear:
            self.err(ModelSyntaxError, "a model block with and one without the 'linear' option", st)
        # several model blocks add up (Dynare 5.3 appends their equations; '#' locals stay defined)
        self.has_model = True
        self.linear = linear
        names = self.names()
        for lname in self.locals:
            names[lname] = "local"
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            text, off = s.text, 0
            if t.startswith("#"):
                k = text.index("#") + 1
                m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", text[k:])
                if not m:
                    self.err(ModelSyntaxError, "malformed '#' local definition (expected '# name = expr')", s)
                lname = m.group(1)
                if lname in names:
                    self.err(ModelSyntaxError, f"local {lname!r} clashes with a declared name", s, lname)
                off = k + m.end()
                self.locals[lname] = self.expr(text[off:], s, off, names, self.locals, timing=True)
                names[lname] = "local"
                continue
            ename = None
            if t.startswith("["):
                k = text.index("[")
                j = text.index("]", k)
                tag = text[k + 1:j]
                for key in _split_top(re.sub(r"(['\"]).*?\1", "''", tag)):
                    if key.strip() in ("static", "dynamic"):
                        self.err(UnsupportedStatementError,
                                 f"[{key.strip()}] equation tags (separate static and dynamic equations) are "
                                 "not supported; write one equation valid in both, and give the steady state "
                                 "in steady_state_model", s, key.strip())
                mm = re.search(r"name\s*=\s*['\"]([^'\"]*)['\"]", tag)
                ename = mm.group(1) if mm else None
                off = j + 1
            pre = text[:off]
            lnum = s.line + pre.count("\n")
            c = (len(pre) - pre.rfind("\n")) if "\n" in pre else s.col + len(pre)
            expr = parse_equation(text[off:], names, self.locals, file=self.file, line=lnum, col=c)
            fl, _, _ = Stmt(text[off:], lnum, c).first_pos()
            self.equations.append(Equation(" ".join(text[off:].split()), expr, fl, self.file, ename))

    def block_steady_state_model(self, st, opts, body):
        names = {p: "param" for p in self.params}
        loc: dict[str, Any] = {}
        exprs = {}
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", s.text)
            if not m:
                self.err(UnsupportedStatementError if t.startswith("[") else ModelSyntaxError,
                         "steady_state_model accepts only 'name = expression;' statements", s)
            target = m.group(1)
            if target in self.shocks:
                self.err(ModelSyntaxError, "cannot assign a shock in steady_state_model", s, target)
            e = self.expr(s.text[m.end():], s, m.end(), names, loc)
            raw_names = {**{p: "param" for p in self.params}, **{t: "param" for t, _ in self.ss_block}}
            e_raw = self.expr(s.text[m.end():], s, m.end(), raw_names)
            if target in self.params:
                # Dynare updates the parameter: it becomes derived from the others
                self.param_exprs[target] = e
                if target in self.derived_order:
                    self.derived_order.remove(target)
                self.derived_order.append(target)
                continue
            loc[target] = e
            names[target] = "local"
            if target in self.variables:
                exprs[target] = e
            self.ss_block.append((target, e_raw))
        self.ss_exprs = {v: exprs.get(v, sp.Integer(0)) for v in self.variables}

    def block_initval(self, st, opts, body):
        names = {p: "param" for p in self.params}
        loc = {}
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", s.text)
            if not m:
                self.err(ModelSyntaxError, "initval accepts only 'name = expression;'", s)
            target = m.group(1)
            if target not in self.variables and target not in self.shocks:
                self.err(UnknownNameError, "initval for an undeclared variable", s, target)
            e = self.expr(s.text[m.end():], s, m.end(), names, loc)
            v = self.pvalue(e, s)
            if target in self.variables:
                self.initval[target] = v
                loc[target] = sp.Float(v)
                names[target] = "local"

    def block_histval(self, st, opts, body):
        """``histval; x(0) = v; x(-1) = w; end;``: checked (declared endogenous variable, period 0 or
        earlier, a value from parameters and numbers), then left aside. In Dynare 5.3 it only sets the
        initial condition of simulations
        (``stoch_simul(periods=...)``, ``simul``); decision rules, IRFs and theoretical moments do not
        depend on it, and nothing here simulates from it: a warning says so."""
        names = {p: "param" for p in self.params}
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*([+-]?\s*\d+)\s*\)\s*=", s.text)
            if not m:
                m0 = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", s.text)
                if m0 and m0.group(1) in self.variables:
                    self.err(ModelSyntaxError, "histval needs the period: 'x(0) = value;'", s, m0.group(1))
                self.err(ModelSyntaxError, "histval accepts only 'name(period) = expression;'", s)
            target, period = m.group(1), int(m.group(2).replace(" ", ""))
            if target not in self.variables:
                self.err(UnknownNameError, "histval for a name that is not a declared endogenous variable", s, target)
            if period > 0:
                self.err(ModelSyntaxError, f"histval period {period} of {target!r}: only 0 or earlier periods "
                         "(initial conditions) can be given", s, target)
            e = self.expr(s.text[m.end():], s, m.end(), names, {})
            self.pvalue(e, s)
        wf, wl = self.where(st.first_pos()[0])
        warnings.warn(f"{wf}, line {wl}: histval only sets the starting point of simulations; decision rules, "
                      "IRFs and moments do not depend on it (ignored)", stacklevel=4)

    def block_shocks(self, st, opts, body):
        pn = {p: "param" for p in self.params}
        if opts.get("overwrite"):
            # Dynare 5.3: shocks(overwrite) replaces everything earlier shocks blocks set (checked)
            self.shock_std, self.shock_var, self.shock_cov, self.shock_corr = {}, {}, {}, {}
            self.me_std, self.me_var, self.me_cov, self.me_corr = {}, {}, {}, {}
        current = None
        given: set = set()   # shocks and pairs already given a value in this block (Dynare: an error)
        # Dynare turns 'corr e, u = r' into the number Sigma_e(e, u) = r * std_e * std_u when its block
        # runs: a later block that changes std_e keeps that covariance (so the correlation moves)
        # (tests/data/dynare/qa_shocks_blocks.json). Remember the earlier blocks' correlations and stds.
        earlier_corr = dict(self.shock_corr)
        earlier_std = {u: (self.shock_std[u] if u in self.shock_std else
                           sp.sqrt(self.shock_var[u]) if u in self.shock_var else sp.Integer(0))
                       for u in self.shocks}

        def once(key, s, what):
            k = key if isinstance(key, str) else tuple(sorted(key))
            if k in given:
                self.err(ModelSyntaxError, f"{what} of {', '.join([key] if isinstance(key, str) else key)} "
                         "given twice in the shocks block", s)
            given.add(k)
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            m = _NAME.match(t)
            kw = m.group(0).lower() if m else ""
            text = s.text
            if kw in ("var", "corr") and not re.match(r"\s*=", t[m.end():]):
                k = text.index(m.group(0)) + len(m.group(0))
                if "=" in text[k:]:
                    eq = text.index("=", k)
                    who = [w.strip() for w in text[k:eq].split(",")]
                    e = self.expr(text[eq + 1:], s, eq + 1, pn)
                    if who and all(w in self.variables for w in who):
                        # measurement error of observed variables (Dynare: `var y = v;`,
                        # `var y, z = cov;`, `corr y, z = c;`)
                        for w in who:
                            self.me_stmt.setdefault(w, s)
                        if kw == "var" and len(who) == 1:
                            once(who[0], s, "variance or stderr")
                            self.me_var[who[0]] = e
                            self.me_std.pop(who[0], None)
                        elif len(who) == 2:
                            (self.me_cov if kw == "var" else self.me_corr)[(who[0], who[1])] = e
                        else:
                            self.err(ModelSyntaxError, "expected 'var y = variance', 'var y, z = covariance' "
                                     "or 'corr y, z = correlation'", s)
                        current = None
                        continue
                    for w in who:
                        if w not in self.shocks:
                            if w in self.variables:
                                self.err(ModelSyntaxError, "a shocks-block entry cannot mix a shock and a "
                                         "measurement error (endogenous variable)", s, w)
                            self.err(UnknownNameError, "unknown shock in shocks block", s, w)
                    if kw == "var" and len(who) == 1:
                        once(who[0], s, "variance or stderr")
                        self.shock_var[who[0]] = e
                        self.shock_std.pop(who[0], None)
                    elif len(who) == 2:
                        key = (who[0], who[1])
                        once(key, s, "covariance or correlation")
                        for table in (self.shock_cov, self.shock_corr):   # the later statement wins
                            table.pop(key, None)
                            table.pop((who[1], who[0]), None)
                        earlier_corr.pop(key, None)
                        earlier_corr.pop((who[1], who[0]), None)
                        (self.shock_cov if kw == "var" else self.shock_corr)[key] = e
                    else:
                        self.err(ModelSyntaxError, "expected 'var e = variance', 'var e, u = covariance' "
                                 "or 'corr e, u = correlation'", s)
                    current = None
                else:
                    w = text[k:].strip()
                    if w not in self.shocks and w not in self.variables:
                        self.err(UnknownNameError, "unknown shock in shocks block", s, w)
                    current = w
                continue
            if kw == "stderr":
                if current is None:
                    self.err(ModelSyntaxError, "'stderr' must follow 'var <shock>;'", s)
                k = text.index(m.group(0)) + len(m.group(0))
                e = self.expr(text[k:], s, k, pn)
                once(current, s, "variance or stderr")
                if current in self.shocks:
                    self.shock_std[current] = e
                    self.shock_var.pop(current, None)
                else:                       # measurement error of an observed variable
                    self.me_std[current] = e
                    self.me_var.pop(current, None)
                    self.me_stmt.setdefault(current, s)
                continue
            if kw in ("periods", "values"):
                self.err(UnsupportedStatementError, "deterministic shocks (periods/values) are not supported", s, kw)
            self.err(ModelSyntaxError, "unexpected statement in shocks block", s)
        for (a, b), r in earlier_corr.items():
            if (a in given or b in given) and (a, b) in self.shock_corr:
                # a std of the pair changed in this block: keep the covariance of the earlier block
                env = {tsym(p): v for p, v in self.values.items()}
                self.shock_corr.pop((a, b))
                cov = sp.sympify(r * earlier_std[a] * earlier_std[b]).xreplace(env)
                self.shock_cov[(a, b)] = sp.Float(float(cov))

    def _est_values(self, parts, s, names):
        out = []
        for p in parts:
            p2 = p.strip()
            if p2 == "":
                out.append(float("nan"))
                continue
            if p2.lower() in ("inf", "+inf"):
                out.append(float("inf"))
                continue
            if p2.lower() == "-inf":
                out.append(float("-inf"))
                continue
            if p2.lower() == "nan":
                out.append(float("nan"))
                continue
            off = s.text.find(p2)
            e = self.expr(p2, s, max(off, 0), names)
            out.append(self.pvalue(e, s))
        return out

    def _est_target(self, head: str, parts: list[str], s):
        head = head.strip()
        toks = head.split()
        if toks and toks[0].lower() == "stderr":
            name = " ".join(toks[1:])
            if name not in self.shocks and name not in self.variables:
                self.err(UnknownNameError, "stderr of an undeclared shock or variable", s, name)
            # `stderr <observed variable>`: estimated measurement error (checked against varobs
            # when the likelihood is set up)
            return "stderr", name, parts
        if toks and toks[0].lower() == "corr":
            a, b = " ".join(toks[1:]), parts[0].strip()
            if not (a in self.variables and b in self.variables):
                for w in (a, b):
                    if w not in self.shocks:
                        self.err(UnknownNameError, "corr of two shocks or of two observed variables "
                                 "(measurement errors) expected", s, w)
            return "corr", [a, b], parts[1:]
        if head not in self.params:
            self.err(UnknownNameError, "estimated parameter is not declared", s, head)
        return "param", head, parts

    def block_estimated_params(self, st, opts, body):
        pn = {p: "param" for p in self.params}
        for s in body:
            ln, col, t = s.first_pos()
            if not t:
                continue
            parts = _split_top(s.text)
            kind, name, rest = self._est_target(parts[0], parts[1:], s)
            low = [r.strip().lower() for r in rest]
            k = next((i for i, r in enumerate(low) if r in PRIOR_SHAPES), None)
            if k is None:
                # maximum likelihood: name, init, lower, upper
                vals = self._est_values(rest, s, pn) + [float("nan")] * 3
                entry = {"prior": None, "init": vals[0], "lower": vals[1] if len(rest) > 1 else float("-inf"),
                         "upper": vals[2] if len(rest) > 2 else float("inf"), "mean": float("nan"),
                         "std": float("nan"), "p3": float("nan"), "p4": float("nan")}
            else:
                shape = PRIOR_SHAPES[low[k]]
                pre = self._est_values(rest[:k], s, pn)
                post = self._est_values(rest[k + 1:], s, pn) + [float("nan")] * 5
                if len(pre) not in (0, 1, 3):
                    self.err(ModelSyntaxError, "expected 'name, [init, [lower, upper,]] shape, mean, std"
                             "[, p3, p4, jscale]'", s)
                init = pre[0] if pre else float("nan")
                lower = pre[1] if len(pre) == 3 else float("-inf")
                upper = pre[2] if len(pre) == 3 else float("inf")
                entry = {"prior": shape, "init": init, "lower": lower, "upper": upper, "mean": post[0],
                         "std": post[1], "p3": post[2], "p4": post[3], "jscale": post[4]}
            entry = {"name": name, "kind": kind, **entry, "line": ln}
            self.estimated.append(entry)

    def _find_est(self, kind, name, s):
        for e in self.estimated:
            if e["kind"] == kind and e["name"] == name:
                return e
        self.err(ModelSyntaxError, "not declared in estimated_params", s)

    def _est_updates(self, body):
        """(entry already declared in estimated_params, its new values) per statement of an
        ``estimated_params_init`` / ``estimated_params_bounds`` block."""
        pn = {p: "param" for p in self.params}
        for s in body:
            if not s.text.strip():
                continue
            parts = _split_top(s.text)
            kind, name, rest = self._est_target(parts[0], parts[1:], s)
            vals = self._est_values(rest, s, pn)
            yield self._find_est(kind, name, s), vals

    def block_estimated_params_init(self, st, opts, body):
        for e, vals in self._est_updates(body):
            e["init"] = vals[0]

    def block_estimated_params_bounds(self, st, opts, body):
        for e, vals in self._est_updates(body):
            e["lower"], e["upper"] = vals[0], vals[1]

    # -- assemble
    def build(self) -> Model:
        if not self.has_model:
            raise ModelStructureError(f"{self.file}: no model block")
        for p in self.params:
            if p not in self.values:
                # Dynare leaves it NaN; use the estimation start (init, else prior mean) when there is one
                v = float("nan")
                for e in self.estimated:
                    if e["kind"] == "param" and e["name"] == p:
                        v = e["init"] if not math.isnan(e["init"]) else e["mean"]
                self.values[p] = v
        n_u = len(self.shocks)
        cov = sp.zeros(n_u, n_u)
        std = {}
        stderr_params = {}
        for i, u in enumerate(self.shocks):
            if u in self.shock_std:
                s = self.shock_std[u]
                std[u] = s
                cov[i, i] = s ** 2
                if isinstance(s, sp.Symbol):
                    stderr_params[u] = s.name
            elif u in self.shock_var:
                cov[i, i] = self.shock_var[u]
                std[u] = sp.sqrt(self.shock_var[u])
            else:
                std[u] = sp.Integer(0)
        for (a, b), c in self.shock_cov.items():
            i, j = self.shocks.index(a), self.shocks.index(b)
            cov[i, j] = cov[j, i] = c
        for (a, b), r in self.shock_corr.items():
            i, j = self.shocks.index(a), self.shocks.index(b)
            cov[i, j] = cov[j, i] = r * std[a] * std[b]
        me = self._measurement_errors()
        if self.est_opts.get("loglinear"):
            self.loglinear = True
        if self.predetermined:
            # beginning-of-period stocks: Dynare reads k as k(-1) and k(+1) as k
            pre = set(self.predetermined)
            for e in self.equations:
                rep = {}
                for sym in e.expr.free_symbols:
                    nm, lag = split_tsym(sym)
                    if nm in pre:
                        rep[sym] = tsym(nm, lag - 1)
                e.expr = e.expr.xreplace(rep)
        if self.origin:
            for e in self.equations:
                e.file, e.line = self.where(e.line)
            for e in self.estimated:
                e["line"] = self.where(e["line"])[1]
        name = Path(self.file).stem
        return build_model(name=name, source=self.file, variables=self.variables, shocks=self.shocks,
                           parameters={p: self.values[p] for p in self.params}, param_exprs=self.param_exprs,
                           derived_order=self.derived_order, equations=self.equations, shock_cov_exprs=cov,
                           ss_block=self.ss_block, ss_exprs=self.ss_exprs, initval=self.initval,
                           loglinear=self.loglinear, linear=self.linear, observables=self.observables,
                           estimated_params=self.estimated, estimation_options=self.est_opts,
                           commands=self.commands, shock_stderr_params=stderr_params, file=self.file,
                           measurement_errors=me)

    def _measurement_errors(self) -> dict:
        """Calibrated measurement-error covariance of the shocks block as {(a, b): value}
        (a == b: variance; numbers at the calibration). Every variable must be observed."""
        for v, s in self.me_stmt.items():
            if v not in self.observables:
                ln, col, _ = s.first_pos()
                raise ModelStructureError(f"{self.file}, line {ln}: measurement error of {v!r}, which "
                                          f"is not observed (varobs: {' '.join(self.observables) or 'none'})")
        out = {}
        std = {}
        for v in self.observables:
            if v in self.me_std:
                sd = self.pvalue(self.me_std[v], self.me_stmt[v])
                out[(v, v)], std[v] = sd * sd, sd
            elif v in self.me_var:
                out[(v, v)] = self.pvalue(self.me_var[v], self.me_stmt[v])
                std[v] = math.sqrt(max(out[(v, v)], 0.0))
        for (a, b), c in self.me_cov.items():
            out[(a, b)] = self.pvalue(c, self.me_stmt[a])
        for (a, b), r in self.me_corr.items():
            out[(a, b)] = self.pvalue(r, self.me_stmt[a]) * std.get(a, 0.0) * std.get(b, 0.0)
        return out


def _resolve_datafile(name: str, modfile: str) -> str | None:
    base = Path(modfile).parent
    p = Path(name)
    cands = [p] if p.suffix else [p.with_suffix(s) for s in (".m", ".csv", ".mat", ".xlsx", ".xls")]
    for c in cands:
        q = c if c.is_absolute() else base / c
        if q.exists():
            return str(q.resolve())
    return None


def parse_mod(text: str, file: str = "<string>", defines: dict | None = None) -> Model:
    """Parse the text of a ``.mod`` file (a leading byte-order mark and ``\\r\\n`` line ends are accepted).

    The macro language (``@#define``, ``@#if``, ``@#for``, ``@#include``, ``@{...}``;
    :mod:`dsge_agents.model.macro`) is expanded first; ``defines`` are macro variables set
    beforehand, like Dynare's ``-DNAME=VALUE``. Errors name the line of the user's file (or of the
    included file) the offending text comes from.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not (defines or has_macros(text)):
        return _ModReader(text, file).run()
    expanded, origin = expand(text, file, defines)
    reader = _ModReader(expanded, file)
    reader.origin = origin
    try:
        return reader.run()
    except ModelSyntaxError as exc:
        if exc.line is None or exc.file != file:
            raise
        f, ln = reader.where(exc.line)
        col = original_column(origin[exc.line - 1], exc.column) if 1 <= exc.line <= len(origin) else exc.column
        raise type(exc)(exc.msg, f, ln, col, exc.token) from None


def read_mod(path, defines: dict | None = None, data: bytes | None = None) -> Model:
    """Read a Dynare ``.mod`` file (see module docstring for the supported subset).

    ``defines``: macro variables set beforehand (see :func:`parse_mod`); ``data``: the file's bytes
    when the caller has read them already (the model cache keys on exactly these bytes; files
    that ``@#include`` others are not cached, see :func:`dsge_agents.model.load`)."""
    path = Path(path)
    return parse_mod(_decode(path.read_bytes() if data is None else data), str(path), defines)


def _decode(data: bytes) -> str:
    """Text of a ``.mod`` file: UTF-8 with or without a byte-order mark (editors on Windows write
    one; Dynare skips it), else Latin-1 (Dynare reads bytes), so that accented letters of an older
    editor in comments do not stop the reader (outside comments they are reported by the tokenizer
    with their line and column)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
