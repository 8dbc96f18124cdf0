"""Counterfactual replay: re-simulate history with the smoothed shocks under another rule.

Given the smoothed shocks û_t and the smoothed initial deviation ŷ_0 of an
estimated model (Kalman smoother, :mod:`dsge_agents.estimation.decomposition`),
the history is, exactly (the smoother's states obey the transition equation),

    ŷ_t = T ŷ_{t−1} + R û_t,        y_t = ȳ + ŷ_t   (logs for loglinear models).

The counterfactual keeps the shocks and the initial deviation and swaps the
decision rule for the one under an alternative policy rule,

    ŷ^cf_t = T' ŷ^cf_{t−1} + R' û_t,   y^cf_t = ȳ' + ŷ^cf_t,

(the standard "same shocks, different rule" exercise of the monetary-policy
literature). Observables that are model variables are reported with their
smoothed measurement error added back, so that replaying with the estimated rule
itself reproduces the observed series exactly (up to rounding).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import PolicyError
from ._core import first_order
from .rules import PolicyRule, apply_changes, check_parameters, FORM_KEY
from .whatif import scenario_label

__all__ = ["replay", "Replay", "simulate_path"]


def simulate_path(T: np.ndarray, R: np.ndarray, shocks: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """ŷ_t = T ŷ_{t−1} + R u_t for t = 1..n from ŷ_0 (rows of the result are t = 1..n)."""
    n = shocks.shape[0]
    out = np.empty((n, T.shape[0]))
    prev = np.asarray(y0, float)
    for t in range(n):
        prev = T @ prev + R @ shocks[t]
        out[t] = prev
    return out


@dataclass
class Replay:
    """Result of :func:`replay` (levels in model units, index = the data's periods).

    ``baseline``: history under the estimated rule; ``counterfactual``: under
    the alternative; ``observed`` / ``counterfactual_observed``: the observables
    (data units, measurement error included) where they are model variables.
    """

    baseline: pd.DataFrame
    counterfactual: pd.DataFrame
    observed: pd.DataFrame | None
    counterfactual_observed: pd.DataFrame | None
    changes: dict
    label: str = "counterfactual"
    baseline_label: str = "observed"
    shocks: pd.DataFrame | None = field(default=None, repr=False)

    def difference(self) -> pd.DataFrame:
        """Counterfactual minus baseline (all variables)."""
        return self.counterfactual - self.baseline

    def table(self, variables=None) -> pd.DataFrame:
        """Mean, std, max and min of baseline and counterfactual per variable."""
        if variables is None:
            variables = [v for v in ("latency", "cost", "quality", "slo_rate", "net_value")
                         if v in self.baseline.columns] or list(self.baseline.columns)
        rows = {}
        for name, df in ((self.baseline_label, self.baseline), (self.label, self.counterfactual)):
            d = df[list(variables)]
            for stat in ("mean", "std", "max", "min"):
                rows[(name, stat)] = getattr(d, stat)()
        return pd.DataFrame(rows).T

    def tidy(self) -> pd.DataFrame:
        """Long frame: scenario, variable, period, value."""
        out = []
        for name, df in ((self.baseline_label, self.baseline), (self.label, self.counterfactual)):
            long = df.rename_axis("period").reset_index().melt(id_vars="period", var_name="variable")
            long.insert(0, "scenario", name)
            out.append(long[["scenario", "variable", "period", "value"]])
        return pd.concat(out, ignore_index=True)

    def plot(self, variables=None, **kw):
        from ..plots.policy import plot_replay
        return plot_replay(self, variables=variables, **kw)


def _levels(ss, dev, loglinear):
    return np.exp(np.log(ss)[None, :] + dev) if loglinear else ss[None, :] + dev


def replay(model, smoothed, alternative: Mapping[str, Any] | PolicyRule, *,
           params: Mapping[str, float] | None = None, label: str | None = None) -> Replay:
    """Re-simulate the smoothed history of ``model`` under an alternative rule.

    Parameters
    ----------
    model : Model
        The estimated model (its calibration updated by ``params``, e.g. the
        posterior mode).
    smoothed : dsge_agents.estimation.Smoothed or EstimationResult
        Smoothed shocks, initial deviation and decision rule (``smooth(llk, x)``
        or ``result.smoothed()``); an :class:`EstimationResult` is smoothed at
        its mode and its parameters are used.
    alternative : mapping or PolicyRule
        Parameter changes (and ``form``) defining the alternative rule; ``{}``
        replays the estimated rule itself.
    params : mapping, optional
        Estimated parameter values (default: the model's calibration).
    """
    if hasattr(smoothed, "smoothed") and hasattr(smoothed, "llk"):   # an EstimationResult
        res = smoothed
        x = res.point("mode")
        theta = res.llk.theta(x)
        params = dict(zip(res.llk.model.param_names, map(float, theta)))
        smoothed = res.smoothed("mode")
    if isinstance(alternative, PolicyRule):
        alternative = alternative.as_dict()
    alternative = dict(alternative)
    check_parameters(model, [k for k in alternative if k != FORM_KEY])
    if params:
        check_parameters(model, list(params))
        derived = set(getattr(model, "derived_parameters", []) or [])
        est = model.with_parameters(**{k: v for k, v in params.items() if k not in derived})
    else:
        est = model
    vars_ = list(model.variables)
    sm_vars = list(smoothed.variables.columns)
    if sm_vars != vars_:
        raise PolicyError("the smoothed history does not belong to this model (variables differ)")
    shocks = smoothed.shocks[list(model.shocks)].to_numpy(float)
    y0 = np.asarray(smoothed.initial, float)
    loglin = bool(getattr(model, "loglinear", False))
    ss = smoothed.steady_state[vars_].to_numpy(float)
    base_dev = simulate_path(np.asarray(smoothed.T, float), np.asarray(smoothed.R, float), shocks, y0)
    alt = apply_changes(est, alternative) if alternative else est
    if alternative:
        T2, R2, _Q, ss2 = first_order(alt)
        if list(alt.variables) != vars_:
            raise PolicyError("the alternative rule changes the model's variables; cannot replay")
    else:
        T2, R2, ss2 = np.asarray(smoothed.T, float), np.asarray(smoothed.R, float), ss
    cf_dev = simulate_path(T2, R2, shocks, y0)
    idx = smoothed.variables.index
    base = pd.DataFrame(_levels(ss, base_dev, loglin), index=idx, columns=vars_)
    cf = pd.DataFrame(_levels(np.asarray(ss2, float), cf_dev, loglin), index=idx, columns=vars_)
    obs, cf_obs = None, None
    od = getattr(smoothed, "observed_deviation", None)
    if od is not None and len(od.columns):
        names = [c for c in od.columns if c in vars_]
        if names:
            j = [vars_.index(c) for c in names]
            # observed = ȳ + ŷ + measurement error; the counterfactual keeps the measurement error
            obs_dev = od[names].to_numpy(float)
            cf_obs_dev = obs_dev + (cf_dev[:, j] - base_dev[:, j])
            obs = pd.DataFrame(_levels(ss[j], obs_dev, loglin), index=idx, columns=names)
            cf_obs = pd.DataFrame(_levels(np.asarray(ss2, float)[j], cf_obs_dev, loglin), index=idx,
                                  columns=names)
    return Replay(base, cf, obs, cf_obs, alternative,
                  label=label or (scenario_label(alternative) if alternative else "estimated rule"),
                  shocks=smoothed.shocks)
