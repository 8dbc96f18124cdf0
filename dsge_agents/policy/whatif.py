"""What-if comparison of policy rules: IRFs side by side, moments, loss, welfare.

``whatif(model, {"slo_phi_latency": 2.5})`` solves the model under its current
rule (scenario ``baseline``) and under each alternative, and collects

* impulse responses (one-standard-deviation shocks, tidy, with a ``scenario`` column);
* unconditional standard deviations of latency, cost, quality and utilization
  (first-order moments: Σ = T Σ Tᵀ + R Q Rᵀ, discrete Lyapunov equation);
* a quadratic loss Σ_i w_i Var(y_i) with user weights (the ``osr`` objective);
* the orchestrator's welfare (defined below).

Orchestrator's welfare
----------------------
The orchestrator's period utility is quasi-linear in money (DESIGN §5.1), and
its per-period surplus is ``net_value = θ λ Q − C`` (DESIGN §5.2). We report the
certainty-equivalent net value of a log-utility orchestrator, to second order
around the steady state,

    welfare = NV̄ · (1 − ½ Var(net_value) / NV̄²)      (NV̄ = steady-state net value)

i.e. E[log NV] ≈ log NV̄ − ½ Var(NV)/NV̄² with the first-order mean E[NV] = NV̄
(certainty equivalence of the first-order solution), mapped back to value units
by exp(·) and linearized. Rule coefficients do not move the steady state (the
SLO rule's P̄ and C̄ are derived, DESIGN §5.2), so across coefficient changes
welfare ranks rules by the variance of net value; a change of the SLO target
moves NV̄ as well. A different risk attitude can be given as ``welfare_risk``
(the coefficient a in NV̄ − ½ a Var(NV); default a = 1/NV̄). For models without
the welfare variable the column is NaN.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DSGEError, PolicyError
from ._core import unconditional_cov, variable_index
from .rules import FORM_KEY, PolicyRule, apply_changes, check_changes

__all__ = ["whatif", "WhatIf", "scenario_label", "normalize_scenarios", "default_report_variables"]

_REPORT_CORE = ("latency", "cost", "quality")


def default_report_variables(model) -> list[str]:
    """Latency, cost, quality and utilization (``*_util``) when the model has them, else all declared variables."""
    vars_ = list(model.variables)
    out = [v for v in _REPORT_CORE if v in vars_]
    out += [v for v in vars_ if v.endswith("_util") or v == "utilization"]
    if not out:
        aux = set(getattr(model, "aux_variables", []) or [])
        out = [v for v in vars_ if v not in aux]
    return out


def scenario_label(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                     for k, v in changes.items())


def normalize_scenarios(alternatives) -> list[tuple[str, dict]]:
    """``[(name, changes), ...]`` from a dict of changes, a rule, a list of either, or ``{name: changes}``."""
    if alternatives is None:
        return []
    if isinstance(alternatives, PolicyRule):
        return [(str(alternatives.name if alternatives.name != "rule" else scenario_label(alternatives.as_dict())),
                 alternatives.as_dict())]
    if isinstance(alternatives, Mapping):
        if alternatives and all(isinstance(v, (Mapping, PolicyRule)) for v in alternatives.values()):
            out = []
            for name, ch in alternatives.items():
                out.append((str(name), ch.as_dict() if isinstance(ch, PolicyRule) else dict(ch)))
            return out
        return [(scenario_label(alternatives), dict(alternatives))]
    if isinstance(alternatives, (list, tuple)):
        out = []
        for a in alternatives:
            out += normalize_scenarios(a)
        return out
    raise PolicyError(f"cannot interpret what-if alternatives of type {type(alternatives).__name__}")


@dataclass
class WhatIf:
    """Comparison of scenarios (``baseline`` first).

    Attributes
    ----------
    scenarios : list of str
    changes : dict scenario -> dict of parameter changes
    solutions : dict scenario -> :class:`dsge_agents.linear.Solution` (missing where the scenario failed)
    errors : dict scenario -> message (for scenarios without a determinate solution)
    irfs : DataFrame [scenario, shock, variable, period, value]
    covariances : dict scenario -> DataFrame (unconditional covariance of all variables)
    report_variables : variables whose std the table reports
    loss_weights : dict variable -> weight
    """

    scenarios: list[str]
    changes: dict[str, dict]
    solutions: dict[str, Any]
    errors: dict[str, str]
    irfs: pd.DataFrame
    covariances: dict[str, pd.DataFrame]
    report_variables: list[str]
    loss_weights: dict[str, float]
    welfare_variable: str | None = "net_value"
    welfare_risk: float | None = None
    steady_states: dict[str, pd.Series] = field(default_factory=dict)

    # ------------------------------------------------------------------
    def std(self) -> pd.DataFrame:
        """Unconditional standard deviations (rows scenarios, columns report variables)."""
        rows = {}
        for s in self.scenarios:
            if s in self.covariances:
                d = np.sqrt(np.clip(np.diag(self.covariances[s].loc[self.report_variables,
                                                                   self.report_variables]), 0, None))
                rows[s] = pd.Series(d, index=self.report_variables)
            else:
                rows[s] = pd.Series(np.nan, index=self.report_variables)
        return pd.DataFrame(rows).T.rename_axis("scenario")

    def loss(self) -> pd.Series:
        """Quadratic loss Σ_i w_i Var(y_i) per scenario."""
        out = {}
        for s in self.scenarios:
            if s not in self.covariances:
                out[s] = np.nan
                continue
            C = self.covariances[s]
            out[s] = float(sum(w * C.loc[v, v] for v, w in self.loss_weights.items()))
        return pd.Series(out, name="loss").rename_axis("scenario")

    def welfare(self) -> pd.Series:
        """Orchestrator's welfare per scenario (see the module docstring)."""
        v = self.welfare_variable
        out = {}
        for s in self.scenarios:
            if v is None or s not in self.covariances or v not in self.covariances[s].index:
                out[s] = np.nan
                continue
            nv = float(self.steady_states[s][v])
            var = float(self.covariances[s].loc[v, v])
            a = self.welfare_risk if self.welfare_risk is not None else (1.0 / abs(nv) if nv != 0 else 0.0)
            out[s] = nv - 0.5 * a * var
        return pd.Series(out, name="welfare").rename_axis("scenario")

    def table(self) -> pd.DataFrame:
        """One row per scenario: status, std of the report variables, loss, welfare."""
        t = self.std().add_prefix("std_")
        t.insert(0, "status", ["ok" if s not in self.errors else "failed" for s in self.scenarios])
        t["loss"] = self.loss()
        t["welfare"] = self.welfare()
        return t

    def irf(self, shock: str | None = None, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """IRFs filtered by shock / variables (tidy, with ``scenario``)."""
        df = self.irfs
        if shock is not None:
            df = df[df["shock"] == shock]
        if variables is not None:
            df = df[df["variable"].isin(list(variables))]
        return df.reset_index(drop=True)

    def summary(self) -> str:
        lines = [f"what-if: {len(self.scenarios)} scenarios"]
        for s in self.scenarios:
            ch = scenario_label(self.changes[s]) if self.changes[s] else "(model as given)"
            err = f"  FAILED: {self.errors[s]}" if s in self.errors else ""
            lines.append(f"  {s}: {ch}{err}")
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            lines.append(self.table().to_string(float_format=lambda x: f"{x:.6g}"))
        return "\n".join(lines)

    def plot(self, shock: str | None = None, variables: Sequence[str] | None = None, **kw):
        """IRFs side by side (see :func:`dsge_agents.plots.policy.plot_whatif`)."""
        from ..plots.policy import plot_whatif
        if shock is not None and shock not in set(self.irfs["shock"]):
            raise PolicyError(f"unknown shock {shock!r}; shocks: {', '.join(pd.unique(self.irfs['shock']))}")
        if variables is not None:
            bad = [v for v in variables if v not in set(self.irfs["variable"])]
            if bad:
                raise PolicyError(f"unknown variable(s) {', '.join(map(repr, bad))} in the what-if IRFs")
        return plot_whatif(self, shock=shock, variables=variables, **kw)


def whatif(model, alternatives=None, *, periods: int = 40, shocks: Sequence[str] | None = None,
           loss: Mapping[str, float] | None = None, variables: Sequence[str] | None = None,
           welfare_variable: str | None = "net_value", welfare_risk: float | None = None,
           baseline_name: str = "baseline") -> WhatIf:
    """Compare the model's current rule with alternatives.

    Parameters
    ----------
    model : Model
    alternatives : dict of changes, PolicyRule, list of those, or ``{name: changes}``
        Each changes dict maps parameter names to values; ``"form"`` selects a
        rule form (rebuilds an orchestrated-economy model).
    periods : int
        IRF horizon (period 1 = impact).
    shocks : list of str, optional
        Shocks for the IRFs (default all).
    loss : mapping variable -> weight, optional
        Weights of the quadratic loss (default: 1 on each report variable).
    variables : list of str, optional
        Variables whose std the table reports (default latency, cost, quality,
        utilizations if present, else all declared variables).
    welfare_variable, welfare_risk
        See the module docstring.
    """
    from ..linear import solve
    scen = [(baseline_name, {})] + normalize_scenarios(alternatives)
    names = [s for s, _ in scen]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise PolicyError(f"duplicate scenario names: {', '.join(dup)}")
    for _, ch in scen:   # input errors raise here; a scenario only "fails" for want of a solution
        check_changes(model, ch)
    report = list(variables) if variables is not None else default_report_variables(model)
    variable_index(model, report)
    weights = dict(loss) if loss is not None else {v: 1.0 for v in report}
    variable_index(model, list(weights), what="loss variable")
    bad = [k for k, w in weights.items() if not (np.isfinite(float(w)) and float(w) >= 0)]
    if bad:
        raise PolicyError(f"loss weight(s) of {', '.join(map(repr, bad))} must be finite and >= 0")
    if shocks is not None:
        bad = [s for s in shocks if s not in model.shocks]
        if bad:
            raise PolicyError(f"unknown shock(s) {', '.join(map(repr, bad))}; shocks: {', '.join(model.shocks)}")
    if welfare_variable is not None and welfare_variable not in model.variables:
        welfare_variable = None
    sols, errs, covs, sss, irfs = {}, {}, {}, {}, []
    for name, ch in scen:
        try:
            m = apply_changes(model, ch)
            sol = solve(m)
            # a determinate but non-stationary scenario (unit root: integral rule with φ = 0) has no
            # moments: it fails like an unsolvable one instead of reporting NaN statistics as "ok"
            S = unconditional_cov(sol.T, sol.R, np.asarray(sol.shock_cov, float))
        except DSGEError as exc:
            errs[name] = f"{type(exc).__name__}: {exc}"
            continue
        sols[name] = sol
        covs[name] = pd.DataFrame(S, index=list(m.variables), columns=list(m.variables))
        sss[name] = pd.Series(sol.steady_state, index=list(m.variables)) \
            if not isinstance(sol.steady_state, pd.Series) else sol.steady_state
        irf = sol.irf(periods=periods, shocks=list(shocks) if shocks is not None else None)
        irf.insert(0, "scenario", name)
        irfs.append(irf)
    if baseline_name in errs:
        raise PolicyError(f"the baseline has no determinate solution: {errs[baseline_name]}")
    irf_df = pd.concat(irfs, ignore_index=True) if irfs else \
        pd.DataFrame(columns=["scenario", "shock", "variable", "period", "value"])
    return WhatIf(names, dict(scen), sols, errs, irf_df, covs, report, weights,
                  welfare_variable=welfare_variable, welfare_risk=welfare_risk, steady_states=sss)


_SET_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*=\s*(.+?)\s*$")


def parse_assignments(text: str) -> dict[str, Any]:
    """``"a=1,b=2"`` -> ``{"a": 1.0, "b": 2.0}`` (``form=`` keeps its string value)."""
    out: dict[str, Any] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        m = _SET_RE.match(part)
        if not m:
            raise PolicyError(f"malformed assignment {part.strip()!r}: expected NAME=VALUE")
        k, v = m.group(1), m.group(2)
        if k in out:
            raise PolicyError(f"{k!r} is assigned twice in {text!r}")
        if k == FORM_KEY:
            out[k] = v
            continue
        try:
            out[k] = float(v)
        except ValueError:
            raise PolicyError(f"value of {k!r} is not a number: {v!r}") from None
        if not np.isfinite(out[k]):
            raise PolicyError(f"value of {k!r} is not finite: {v!r}")
    if not out:
        raise PolicyError(f"empty assignment {text!r}")
    return out
