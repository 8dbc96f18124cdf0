"""Measurement equations from a trace panel to a model (DESIGN §6; issue 5 item 4).

A model declares, in its YAML ``observables:`` mapping (``Model.measurement``), for every
observed model variable the trace-panel series that measures it::

    demand:           {agent: _all, metric: arrivals, transform: log_dev_mean, stderr: 0.05}
    act_llama_share:  {agent: act_llama, metric: arrivals, per: {agent: _all, metric: arrivals},
                       transform: log_dev_mean, stderr: {prior: inv_gamma1, mean: 0.05, std: inf}}

The panel is the tidy output of :func:`dsge_agents.traces.aggregate.aggregate`
(columns ``period, agent, metric, value``; agent ``_all`` = request level) or a
:class:`~dsge_agents.traces.aggregate.TracePanel`. The raw series of an observable is
x_t = value(agent, metric, t) [/ value(per.agent, per.metric, t)], and the measurement
equation, for a model in levels with steady state ȳ(θ) and first-order deviation ŷ_t, is

    log_dev_mean    log x_t − (1/n) Σ_s log x_s  =  ŷ_t / ȳ + e_t
    level_dev_mean  x_t − (1/n) Σ_s x_s          =  ŷ_t + e_t
    level           x_t                          =  ȳ + ŷ_t + e_t

with e_t ~ N(0, σ²) independent across observables; σ is fixed (a number) or estimated
(a prior {prior, mean, std}, Dynare's ``stderr`` of an observable). The log deviation
from the sample mean is the first-order approximation log(ȳ + ŷ) − log ȳ ≈ ŷ/ȳ with the
sample mean standing in for log ȳ (Dynare's ``prefilter=1`` on logged data).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from dsge_agents.errors import DataError, ModelStructureError

__all__ = ["TRANSFORMS", "measurement_spec", "panel_series", "apply_transforms",
           "observations_from_panel", "model_for_panel", "likelihood_from_panel",
           "fixed_measurement_errors"]

TRANSFORMS = ("log_dev_mean", "level_dev_mean", "level")
_KEYS = {"agent", "metric", "per", "transform", "stderr", "scale"}


def _num(x):
    if isinstance(x, str) and x.strip().lower() in ("inf", "+inf"):
        return math.inf
    return float(x)


def measurement_spec(model, observables=None) -> dict:
    """Validated measurement spec {observable: dict(agent, metric, per, transform, stderr)}.

    ``observables``: optional subset (and order) of the declared observables to use.

    ``stderr`` is normalized to a float (fixed; 0 = none) or a prior dict. Raises
    ModelStructureError naming the observable for unknown keys/transforms or an observable
    that is not a model variable."""
    meas = getattr(model, "measurement", None) or {}
    if not meas:
        raise ModelStructureError(f"model {getattr(model, 'name', '?')!r} declares no trace measurement "
                                  "equations (YAML `observables:` mapping variable -> {agent, metric, "
                                  "transform, stderr})")
    out = {}
    for obs, spec in meas.items():
        where = f"{getattr(model, 'source', None) or model.name}: observables.{obs}"
        if obs not in model.variables:
            raise ModelStructureError(f"{where}: {obs!r} is not a variable of the model")
        if not isinstance(spec, dict):
            raise ModelStructureError(f"{where}: expected a mapping {{agent, metric, transform, stderr}}")
        bad = [k for k in spec if k not in _KEYS]
        if bad:
            raise ModelStructureError(f"{where}: unknown keys {bad} (allowed: {sorted(_KEYS)})")
        for k in ("agent", "metric"):
            if k not in spec:
                raise ModelStructureError(f"{where}: missing {k!r}")
        per = spec.get("per")
        if per is not None and (not isinstance(per, dict) or "agent" not in per or "metric" not in per):
            raise ModelStructureError(f"{where}: `per` must be {{agent, metric}}")
        tr = spec.get("transform", "log_dev_mean")
        if tr not in TRANSFORMS:
            raise ModelStructureError(f"{where}: unknown transform {tr!r} (known: {', '.join(TRANSFORMS)})")
        se = spec.get("stderr", 0.0)
        if isinstance(se, dict):
            if "prior" not in se or "mean" not in se:
                raise ModelStructureError(f"{where}: stderr prior needs `prior` and `mean`")
            se = {"prior": se["prior"], "mean": _num(se["mean"]), "std": _num(se.get("std", math.inf)),
                  **{k: _num(se[k]) for k in ("lower", "upper", "init") if k in se}}
        else:
            se = _num(se)
            if not (se >= 0 and math.isfinite(se)):
                raise ModelStructureError(f"{where}: stderr must be a finite number ≥ 0 or a prior")
        out[obs] = dict(agent=str(spec["agent"]), metric=str(spec["metric"]),
                        per=None if per is None else dict(agent=str(per["agent"]), metric=str(per["metric"])),
                        transform=tr, stderr=se, scale=float(spec.get("scale", 1.0)))
    if observables is not None:
        unknown = [o for o in observables if o not in out]
        if unknown:
            raise ModelStructureError(f"observables {unknown} have no declared measurement equation "
                                      f"(declared: {', '.join(out)})")
        out = {o: out[o] for o in observables}
    return out


def _tidy(panel) -> pd.DataFrame:
    tidy = getattr(panel, "tidy", panel)
    if not isinstance(tidy, pd.DataFrame):
        raise DataError("panel must be a tidy DataFrame (period, agent, metric, value) or a TracePanel")
    missing = [c for c in ("period", "agent", "metric", "value") if c not in tidy.columns]
    if missing:
        raise DataError(f"panel lacks columns {missing} (need period, agent, metric, value)")
    val = pd.to_numeric(tidy["value"], errors="coerce")
    bad = val.isna() & tidy["value"].notna()
    if bad.any():
        r = tidy[bad.to_numpy()].iloc[0]
        raise DataError(f"panel value {r['value']!r} of agent {r['agent']!r}, metric {r['metric']!r}, "
                        f"period {r['period']} is not a number")
    return tidy


def panel_series(model, panel, period=None, observables=None) -> pd.DataFrame:
    """Raw (untransformed) series of every declared observable, one column each, indexed by
    period. ``period``: optional (start, end) pair or explicit list of periods to keep; every
    requested period must be present for every series (DataError otherwise). ``observables``:
    optional subset of the declared ones."""
    spec = measurement_spec(model, observables)
    tidy = _tidy(panel)
    if tidy.duplicated(["period", "agent", "metric"]).any():
        r = tidy[tidy.duplicated(["period", "agent", "metric"], keep=False)].iloc[0]
        raise DataError(f"panel has duplicate rows for period {r.period}, agent {r.agent!r}, "
                        f"metric {r.metric!r}")
    agents = set(tidy["agent"].astype(str).unique())
    metrics = set(tidy["metric"].astype(str).unique())
    wide = tidy.set_index(["period", "agent", "metric"])["value"].astype(float)
    all_periods = pd.Index(sorted(tidy["period"].unique()))
    if period is None:
        periods = all_periods
    elif isinstance(period, tuple) and len(period) == 2:
        lo, hi = period
        periods = all_periods[(all_periods >= lo) & (all_periods <= hi)]
        if len(periods) == 0:
            raise DataError(f"no panel periods in [{lo}, {hi}]")
    else:
        periods = pd.Index(list(period))

    def series(obs, agent, metric):
        if agent not in agents:
            raise DataError(f"observable {obs!r}: agent {agent!r} is not in the panel "
                            f"(agents: {sorted(agents)})")
        if metric not in metrics:
            raise DataError(f"observable {obs!r}: metric {metric!r} is not in the panel "
                            f"(metrics: {sorted(metrics)})")
        try:
            s = wide.xs((agent, metric), level=("agent", "metric"))
        except KeyError:
            raise DataError(f"observable {obs!r}: no rows for agent {agent!r}, metric {metric!r}") from None
        miss = periods.difference(s.index)
        if len(miss):
            raise DataError(f"observable {obs!r}: agent {agent!r}, metric {metric!r} has no row for "
                            f"period {miss[0]} ({len(miss)} missing period(s))")
        return s.reindex(periods)

    cols = {}
    for obs, sp in spec.items():
        x = series(obs, sp["agent"], sp["metric"])
        if sp["per"] is not None:
            den = series(obs, sp["per"]["agent"], sp["per"]["metric"])
            zero = den.index[(den == 0).to_numpy()]
            if len(zero):
                raise DataError(f"observable {obs!r}: denominator {sp['per']['agent']!r} "
                                f"{sp['per']['metric']!r} is zero in period {zero[0]}"
                                " (leave such periods out: period=(start, end), --window START END)")
            x = x / den
        cols[obs] = x * sp["scale"]
    df = pd.DataFrame(cols, index=periods)
    df.index.name = "period"
    return df


def apply_transforms(raw: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Apply the declared transforms (see module docstring) column by column. NaN (e.g. the
    mean latency of a period without completions) stays NaN = missing observation; log
    transforms need x > 0 (DataError naming observable and period)."""
    out = {}
    for obs in raw.columns:
        x = raw[obs].astype(float)
        tr = spec[obs]["transform"]
        if tr == "log_dev_mean":
            bad = x.index[(~(x > 0) & x.notna()).to_numpy()]
            if len(bad):
                sp = spec[obs]
                raise DataError(f"observable {obs!r} ({sp['agent']} {sp['metric']}): transform "
                                f"log_dev_mean needs positive values; {x.loc[bad[0]]} in period {bad[0]}"
                                " (leave such periods out: period=(start, end), --window START END)")
            lx = np.log(x)
            out[obs] = lx - lx.mean()
        elif tr == "level_dev_mean":
            out[obs] = x - x.mean()
        else:
            out[obs] = x
    return pd.DataFrame(out, index=raw.index)


def observations_from_panel(model, panel, period=None, observables=None) -> pd.DataFrame:
    """Estimation observables of ``model`` from a trace panel: the declared mapping
    (:func:`panel_series`) followed by the declared transforms (:func:`apply_transforms`).
    ``period``: (start, end) or a list of periods; ``observables``: subset of the declared ones."""
    return apply_transforms(panel_series(model, panel, period, observables),
                            measurement_spec(model, observables))


def fixed_measurement_errors(model, observables=None) -> dict:
    """{observable: std} of the fixed (non-zero) measurement errors."""
    return {o: sp["stderr"] for o, sp in measurement_spec(model, observables).items()
            if not isinstance(sp["stderr"], dict) and sp["stderr"] > 0}


def model_for_panel(model, priors=None, observables=None):
    """Copy of ``model`` whose ``observables`` are the declared ones and whose
    ``estimated_params`` are ``priors`` (default: the model's own, e.g. the YAML
    ``estimation:`` section) plus ``stderr OBS`` entries for estimated measurement errors."""
    spec = measurement_spec(model, observables)
    m = copy.copy(model)
    m.observables = list(spec)
    if priors is None:
        est = [dict(e) for e in (model.estimated_params or []) if e.get("kind") == "param"
               or e.get("name") not in spec]
    else:
        est = [dict(name=n, kind="param", prior=s, mean=mu, std=sd, lower=np.nan, upper=np.nan,
                    init=np.nan, p3=np.nan, p4=np.nan) for n, s, mu, sd in priors]
    for o, sp in spec.items():
        se = sp["stderr"]
        if isinstance(se, dict):
            est.append(dict(name=o, kind="stderr", prior=se["prior"], mean=se["mean"], std=se["std"],
                            lower=se.get("lower", np.nan), upper=se.get("upper", np.nan),
                            init=se.get("init", np.nan), p3=np.nan, p4=np.nan))
    m.estimated_params = est
    return m


def likelihood_from_panel(model, panel, period=None, priors=None, observables=None, **options):
    """:class:`~dsge_agents.estimation.likelihood.LogLikelihood` of ``model`` on a trace panel
    with the declared mapping, per-observable transforms and measurement errors (fixed ones
    in H, estimated ones as ``stderr OBS`` parameters). ``priors``: list of (param, shape,
    mean, std) replacing the model's ``estimation:`` priors; ``observables``: subset of the
    declared observables. ``options`` go to LogLikelihood."""
    from dsge_agents.estimation.likelihood import LogLikelihood
    spec = measurement_spec(model, observables)
    raw = panel_series(model, panel, period, observables)
    apply_transforms(raw, spec)          # validation with errors naming observable, agent, metric, period
    m = model_for_panel(model, priors, observables)
    return LogLikelihood(m, data=raw, observables=list(spec),
                         transform={o: sp["transform"] for o, sp in spec.items()},
                         measurement_error=fixed_measurement_errors(model, observables), **options)
