"""Writer of Dynare ``.mod`` files from any loaded :class:`~dsge_agents.model.spec.Model`.

Writes ``var``/``varexo``/``parameters`` declarations, the calibration (derived
parameters as their expressions, after the base ones), the model block with
the original equations (before auxiliary-variable substitution; Dynare creates
its own auxiliaries), ``model(linear)`` when declared, the steady state
(``steady_state_model`` with the file's formulas when it has one, else
``initval`` with the numerically computed steady state), ``steady; check;``,
the ``shocks`` block (standard deviations and covariances), ``varobs``,
``estimated_params`` and ``stoch_simul`` with the options the source file gave, else
``stoch_simul(order=1, irf=40, nograph)`` (plus ``loglinear`` for log-linearized models);
``stoch_simul=`` overrides the whole statement; last, the source's ``estimation(...)`` statement
with its options (the data file as the source wrote it).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import sympy as sp
from sympy.printing.str import StrPrinter

from dsge_agents._fileio import atomic_path
from dsge_agents.model.expr import split_tsym

__all__ = ["write_mod", "dynare_expr", "dynare_name_problems", "check_mod_path"]

_DYN_SHAPE = {"beta": "beta_pdf", "gamma": "gamma_pdf", "normal": "normal_pdf", "inv_gamma1": "inv_gamma_pdf",
              "inv_gamma2": "inv_gamma2_pdf", "uniform": "uniform_pdf", "weibull": "weibull_pdf"}


class _DynarePrinter(StrPrinter):
    """SymPy -> Dynare expression syntax (``^``, ``x(+1)``, exact floats)."""

    def _print_Symbol(self, s):
        n, lag = split_tsym(s)
        return n if lag == 0 else f"{n}({lag:+d})"

    def _print_Float(self, f):
        r = repr(float(f))
        return f"({r})" if r.startswith("-") else r

    def _print_Pow(self, e, rational=False):
        b, x = e.args
        if x == sp.Rational(1, 2):
            return f"sqrt({self._print(b)})"
        if x == -1:
            return f"1/({self._print(b)})"
        bs = self._print(b)
        if not (b.is_Symbol or (b.is_Number and b >= 0) or isinstance(b, sp.Function)):
            bs = f"({bs})"
        xs = self._print(x)
        if not (x.is_Symbol or (x.is_Number and x >= 0) or isinstance(x, sp.Function)):
            xs = f"({xs})"
        return f"{bs}^{xs}"

    def _print_Rational(self, e):
        return f"({e.p}/{e.q})"

    def _print_Abs(self, e):
        return f"abs({self._print(e.args[0])})"

    def _print_DynMax(self, e):      # tree.sympy_min_max: the written order (it decides ties in Dynare)
        return f"max({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_DynMin(self, e):
        return f"min({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_Min(self, e):
        return f"min({self._print(e.args[0])}, {self._print(sp.Min(*e.args[1:]))})"

    def _print_Max(self, e):
        return f"max({self._print(e.args[0])}, {self._print(sp.Max(*e.args[1:]))})"

    def _print_Exp1(self, e):
        return "exp(1)"

    def _print_Pi(self, e):
        return "(4*atan(1))"

    def _print_tanh(self, e):
        # Dynare 5.3 has no tanh in the model block ("you must first declare it via the
        # external_function() statement"): tanh(x) = 1 - 2/(exp(2x) + 1), exact and overflow-safe
        # (exp(2x) = inf gives 1, exp(2x) = 0 gives -1)
        return f"(1 - 2/(exp(2*({self._print(e.args[0])})) + 1))"

    def _print_sign(self, e):
        return f"sign({self._print(e.args[0])})"

    def _print_Cbrt(self, e):
        return f"cbrt({self._print(e.args[0])})"

    def _print_SteadyStateOp(self, e):
        return f"STEADY_STATE({self._print(e.args[0])})"


def dynare_expr(e) -> str:
    """Print a SymPy expression in Dynare syntax."""
    if isinstance(e, tuple):      # an expression tree (dsge_agents.model.tree)
        from dsge_agents.model.tree import to_sympy
        e = to_sympy(e)
    return _DynarePrinter().doprint(sp.sympify(e))


def _num(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if math.isnan(x):
        return "NaN"
    return repr(float(x))


#: MATLAB keywords: Dynare writes parameters (and, with ``periods``, simulated variables) into the
#: MATLAB workspace as ``name = ...``; ``end`` and ``function`` already fail as variable names.
_MATLAB_KEYWORDS = frozenset("break case catch classdef continue else elseif end for function global if "
                             "otherwise parfor persistent return spmd switch try while".split())
#: tokens of Dynare 5.3's language that are never names (``var inf;`` is a syntax error)
_DYNARE_TOKENS = frozenset("var varexo varexo_det parameters predetermined_variables trend_var log_trend_var "
                           "model_local_variable inf nan Inf NaN periods".split())
#: Dynare's global structures: a parameter of that name overwrites them
_DYNARE_GLOBALS = frozenset("M_ oo_ options_".split())
#: statement keywords: ``model = 0.5;`` is read as the start of a statement (parameters only)
_DYNARE_STATEMENTS = frozenset(
    "model steady check shocks initval endval histval stoch_simul estimation estimated_params "
    "estimated_params_init estimated_params_bounds varobs steady_state_model simul osr osr_params "
    "optim_weights observation_trends planner_objective ramsey_model ramsey_policy identification "
    "forecast shock_decomposition calib_smoother perfect_foresight_setup perfect_foresight_solver "
    "resid write_latex_dynamic_model dynare_sensitivity".split())


def dynare_name_problems(m) -> list[str]:
    """Names of ``m`` that Dynare 5.3 cannot take (checked by running it: e.g. a variable ``inf`` or
    ``end``, a parameter ``model``, ``steady`` or ``if``): one description per offending name."""
    roles = [("variable", n) for n in (m.declared_variables or m.variables) if n not in m.aux_variables]
    roles += [("shock", n) for n in m.shocks] + [("parameter", n) for n in m.parameters]
    if m.ss_exprs is not None:
        roles += [("steady-state temporary", t) for t, _ in m.ss_block if t not in m.variables]
    out = []
    for role, n in roles:
        if n in _MATLAB_KEYWORDS:
            out.append(f"{role} {n!r} is a MATLAB keyword")
        elif n in _DYNARE_TOKENS:
            out.append(f"{role} {n!r} is a word of Dynare's language")
        elif n in _DYNARE_GLOBALS:
            out.append(f"{role} {n!r} would overwrite Dynare's global {n}")
        elif role == "parameter" and n in _DYNARE_STATEMENTS:
            out.append(f"parameter {n!r} is a Dynare statement ('{n} = ...;' does not parse)")
    return out


def check_mod_path(path) -> Path:
    """``path`` as a Path if Dynare 5.3 can run a file of that name: ``dynare NAME`` needs NAME to
    be a MATLAB function name (a letter, then letters, digits, ``_``); ``my-model.mod`` or ``2m.mod``
    stop Dynare with "argument of dynare must conform to MATLAB's convention for naming functions"."""
    import re

    from dsge_agents.errors import DSGEError
    p = Path(path)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p.stem) or p.suffix.lower() not in (".mod", ".dyn"):
        raise DSGEError(f"{p}: Dynare runs only files named <letter><letters, digits, _>.mod "
                        f"(e.g. {re.sub(r'[^A-Za-z0-9_]', '_', p.stem).lstrip('_0123456789') or 'model'}.mod)")
    return p


def _option_text(v) -> str:
    """A command option's value as Dynare reads it: numbers as numbers, names and parenthesized lists
    as written, anything else (file names) single-quoted (the reader dropped the quotes)."""
    if not isinstance(v, str):
        return _num(v) if isinstance(v, float) else str(v)
    if re.fullmatch(r"[A-Za-z_]\w*|\(.*\)|\[.*\]", v):
        return v
    return "'" + v.replace("'", "''") + "'"


def _one_line(text) -> str:
    """``text`` with every non-printable character (line breaks included) escaped as in ``repr``."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def write_mod(m, path=None, stoch_simul: str | None = None) -> str:
    """Render model ``m`` as a Dynare 5.3 ``.mod`` file; write it to ``path`` if given; return the text.

    Names Dynare cannot read (:func:`dynare_name_problems`) are a ``ModelStructureError`` listing
    them: a file that Dynare rejects is not written."""
    if path is not None:
        check_mod_path(path)
    problems = dynare_name_problems(m)
    if problems:
        from dsge_agents.errors import ModelStructureError
        raise ModelStructureError(f"{m.source or m.name}: cannot export to a Dynare .mod: "
                                  + "; ".join(problems) + " (rename them in the model)")
    # one comment line whatever the name and path hold (a line break would start a statement)
    L = [f"// {_one_line(m.name)}: exported by dsge_agents from {_one_line(m.source or '<dict>')}", ""]
    decl = m.declared_variables or [v for v in m.variables if v not in m.aux_variables]
    L.append("var " + " ".join(decl) + ";")
    if m.shocks:
        L.append("varexo " + " ".join(m.shocks) + ";")
    L.append("parameters " + " ".join(m.parameters) + ";")
    L.append("")
    for p in m.param_names:
        L.append(f"{p} = {_num(m.parameters[p])};")
    for d in m.derived_order:
        L.append(f"{d} = {dynare_expr(m.param_exprs[d])};")
    L.append("")
    L.append("model(linear);" if m.linear else "model;")
    for e in m.original_equations or [e for e in m.equations if not e.aux]:
        if e.name:
            L.append(f"[name = '{e.name}']")
        L.append(f"{dynare_expr(e.expr)} = 0;")
    L.append("end;")
    L.append("")
    if m.ss_exprs is not None:
        L.append("steady_state_model;")
        for target, e in m.ss_block:
            L.append(f"{target} = {dynare_expr(e)};")
        assigned = {t for t, _ in m.ss_block}
        for v in decl:
            if v not in assigned:
                L.append(f"{v} = {dynare_expr(m.ss_exprs[v])};")
        L.append("end;")
    else:
        ss = m.steady_state()
        L.append("initval;")
        for v in decl:
            L.append(f"{v} = {_num(ss[v])};")
        L.append("end;")
    L += ["", "steady;", "check;", ""]
    if m.shocks:
        L.append("shocks;")
        C = m.shock_cov_entries      # (i, j) -> expression tree of the nonzero cells
        for i, u in enumerate(m.shocks):
            if u in m.shock_stderr_params:
                L.append(f"var {u}; stderr {m.shock_stderr_params[u]};")
            else:
                L.append(f"var {u} = {dynare_expr(C.get((i, i), ('num', 0)))};")
        for (i, j), c in sorted(C.items()):
            if i < j:
                L.append(f"var {m.shocks[i]}, {m.shocks[j]} = {dynare_expr(c)};")
        # calibrated measurement errors of observed variables (Dynare: `var y = variance;`)
        for (a, b), c in (getattr(m, "measurement_errors", None) or {}).items():
            L.append(f"var {a} = {_num(c)};" if a == b else f"var {a}, {b} = {_num(c)};")
        L.append("end;")
        L.append("")
    if m.observables and not m.measurement:
        L.append("varobs " + " ".join(m.observables) + ";")
        L.append("")
    if m.estimated_params:
        L.append("estimated_params;")
        # a parameter that is exactly a shock's standard deviation is estimated as Dynare's
        # `stderr <shock>` (Dynare rejects estimating a parameter used in the shocks block)
        # (unless the file also estimates that shock's stderr itself: then there is nothing to rename)
        has_stderr = {e["name"] for e in m.estimated_params if e["kind"] == "stderr"}
        std_of = {str(v).strip(): u for u, v in m.shock_stderr_params.items() if u not in has_stderr}
        for e in m.estimated_params:
            if e["kind"] == "stderr":
                head = f"stderr {e['name']}"
            elif e["kind"] == "param" and e["name"] in std_of:
                head = f"stderr {std_of[e['name']]}"
            elif e["kind"] == "corr":
                head = f"corr {e['name'][0]}, {e['name'][1]}"
            else:
                head = e["name"]
            if e.get("prior") is None:
                L.append(f"{head}, {_num(e['init'])}, {_num(e['lower'])}, {_num(e['upper'])};")
                continue
            parts = [head]
            if not math.isnan(e.get("init", float("nan"))):
                parts.append(_num(e["init"]))
                if not (math.isinf(e["lower"]) and math.isinf(e["upper"])):
                    parts += [_num(e["lower"]), _num(e["upper"])]
            parts += [_DYN_SHAPE[e["prior"]], _num(e["mean"]), _num(e["std"])]
            p3, p4 = e.get("p3", float("nan")), e.get("p4", float("nan"))
            if not (math.isnan(p3) and math.isnan(p4)):
                parts += ["" if math.isnan(p3) else _num(p3), "" if math.isnan(p4) else _num(p4)]
            L.append(", ".join(parts) + ";")
        L.append("end;")
        L.append("")
    if stoch_simul is None:
        rec = next((o for c, o in m.commands if c == "stoch_simul"), None)
        if rec:
            # the options the source file gave (order 1 only), plus loglinear when the model is
            parts = [k if v is True else f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                     for k, v in rec.items() if k != "varlist"]
            if m.loglinear and "loglinear" not in rec:
                parts.append("loglinear")
            tail = (" " + " ".join(rec["varlist"])) if rec.get("varlist") else ""
            L.append(f"stoch_simul({', '.join(parts)}){tail};")
        else:
            opts = "order=1, irf=40, nograph" + (", loglinear" if m.loglinear else "")
            L.append(f"stoch_simul({opts});")
    else:
        L.append(stoch_simul if stoch_simul.rstrip().endswith(";") else stoch_simul + ";")
    est = next((o for c, o in reversed(m.commands) if c == "estimation"), None)
    if est is not None:
        # the source's estimation(...) with its options (data file as written, sample, lik_init, ...):
        # without it Dynare ignored the exported varobs / estimated_params (sw2007 exported without
        # its first_obs=71, presample=4, lik_init=2)
        parts = [k if v is True else f"{k}={_option_text(v)}" for k, v in est.items()
                 if k not in ("varlist", "datafile_path")]
        tail = (" " + " ".join(est["varlist"])) if est.get("varlist") else ""
        L += ["", f"estimation({', '.join(parts)}){tail};"]
    text = "\n".join(L) + "\n"
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return text
