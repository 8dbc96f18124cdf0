"""``dsge-agents loglik MODEL [--data PATH] [--params JSON] [--exact] [--time N]``.

Prints the Kalman-filter log-likelihood (Dynare-consistent) at the model's
calibration updated by ``--params`` (a JSON object, inline or a file), on the
model's datafile and sample (``estimation(...)`` options of a ``.mod``) or on
``--data``. Like Dynare, the filter switches to the steady-state gain once the
Riccati recursion has converged (``riccati_tol=1e-6``); ``--exact`` disables it.
``--time N`` also prints the mean wall time of one evaluation (steady state +
solution + filter) over N repetitions.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from dsge_agents.cli._common import load_model
from dsge_agents.errors import DSGEError


_load = load_model


PANEL_COLUMNS = {"period", "agent", "metric", "value"}


def _read_panel(path):
    """A tidy trace panel (``dsge-agents ingest`` output) or ``None`` if ``path`` is other data."""
    import numpy as np
    import pandas as pd
    from dsge_agents.errors import DataError
    p = Path(path)
    if not p.is_file():
        raise DataError(f"data file not found: {path}")
    if p.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(p)
        except Exception as exc:        # pyarrow: not a Parquet file, truncated, ...
            raise DataError(f"{path}: cannot read Parquet: {exc}") from None
    elif p.suffix.lower() == ".csv":
        try:
            head = pd.read_csv(p, nrows=0)
        except Exception:               # empty / malformed: the data-file reader reports it
            return None
        if not PANEL_COLUMNS <= set(head.columns):
            return None
        df = pd.read_csv(p)
    else:
        return None
    if not PANEL_COLUMNS <= set(df.columns):
        return None
    per = pd.to_datetime(df["period"], utc=True, errors="coerce", format="mixed")
    bad = per.isna() & df["period"].notna()
    if bad.any():
        r = int(np.argmax(bad.to_numpy()))
        where = f"line {r + 2}" if p.suffix.lower() == ".csv" else f"row {r + 1}"
        raise DataError(f"{path}, {where}: period {df['period'].iloc[r]!r} is not a date/time")
    df["period"] = per
    return df


def parse_window(window):
    """``--window START END`` -> a (start, end) pair of UTC timestamps (naive times are UTC, as the
    trace readers take them); None when not given."""
    if not window:
        return None
    import pandas as pd
    out = []
    for text in window:
        try:
            t = pd.Timestamp(text)
        except (ValueError, TypeError) as exc:
            raise DSGEError(f"--window: {text!r} is not a date/time ({exc})") from None
        if t is pd.NaT:
            raise DSGEError(f"--window: {text!r} is not a date/time")
        out.append(t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC"))
    if out[1] < out[0]:
        raise DSGEError(f"--window: END {window[1]} is before START {window[0]}")
    return tuple(out)


def make_likelihood(model, data=None, window=None, **options):
    """The likelihood of ``model`` on ``data``: a trace panel (``period, agent, metric, value``, as
    written by ``dsge-agents ingest``) goes through the model's declared observables (mapping,
    transforms, measurement errors: :func:`dsge_agents.estimation.traces.likelihood_from_panel`);
    any other data (or the model's own datafile) through :class:`LogLikelihood`."""
    from dsge_agents.estimation.likelihood import LogLikelihood
    panel = _read_panel(data) if data is not None else None
    if window is not None and panel is None:
        raise DSGEError("--window selects periods of a trace panel (--data PATH written by "
                        "`dsge-agents ingest`); use --first-obs / --nobs for other data")
    if panel is not None:
        if not getattr(model, "measurement", None):
            raise DSGEError(f"{data} is a trace panel but the model declares no observables mapping "
                            "(an `observables:` section with agent/metric per observable)")
        from dsge_agents.estimation.traces import likelihood_from_panel
        return likelihood_from_panel(model, panel, period=window, **options)
    return LogLikelihood(model, data, **options)


def parse_params(text):
    """JSON object inline or in a file -> dict of floats."""
    if not text:
        return {}
    p = Path(text)
    raw = p.read_text() if (not text.lstrip().startswith("{") and p.exists()) else text
    try:
        d = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DSGEError(f"--params: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
    if not isinstance(d, dict):
        raise DSGEError("--params: expected a JSON object {\"name\": value, ...}")
    try:
        return {str(k): float(v) for k, v in d.items()}
    except (TypeError, ValueError):
        raise DSGEError("--params: every value must be a number") from None


def register(subparsers):
    p = subparsers.add_parser("loglik", help="log-likelihood of a model on data (Dynare-consistent)",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("model", nargs="?", default=None, help="model file (.mod or .yaml; default: the bundled default model)")
    p.add_argument("--data", help="data file (.csv or .m), or a trace panel from `dsge-agents ingest` "
                                  "(.parquet/.csv with period,agent,metric,value); default: the model's datafile")
    p.add_argument("--window", nargs=2, metavar=("START", "END"),
                   help="trace panel only: use the periods from START to END (inclusive; e.g. 2023-11-16T18:16 "
                        "2023-11-16T18:56, UTC unless a zone is given), e.g. to leave out partial first/last "
                        "minutes or minutes without requests; the transforms' sample means are over this window")
    p.add_argument("--params", help="JSON object of parameter values (inline or a file)")
    p.add_argument("--exact", action="store_true", help="exact filter (no steady-state gain switch)")
    p.add_argument("--time", type=int, default=0, metavar="N",
                   help="also print the mean wall time of one evaluation over N repetitions")
    p.add_argument("--first-obs", type=int, default=None, metavar="N",
                   help="first observation used, 1-based (default: the file's first_obs, else 1)")
    p.add_argument("--nobs", type=int, default=None, metavar="N",
                   help="number of observations (default: the file's nobs, else all from --first-obs)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from dsge_agents.estimation.likelihood import STATUS
    if args.time < 0:
        raise DSGEError(f"--time must be >= 0 (number of repetitions), got {args.time}")
    model = _load(args.model)
    params = parse_params(args.params)
    opts = dict(riccati_tol=0.0 if args.exact else 1e-6)
    if args.first_obs is not None:
        opts["first_obs"] = args.first_obs
    if args.nobs is not None:
        opts["nobs"] = args.nobs
    pparams = {k: v for k, v in params.items() if k in model.param_names}
    llk = make_likelihood(model, args.data, window=parse_window(args.window), params=pparams, **opts)
    x = llk.x_from_params(params)
    unknown = [k for k in params if k not in model.param_names and k not in llk.space.names
               and f"stderr {k}" not in llk.space.names]
    if unknown:
        raise DSGEError(f"--params: unknown names {unknown}")
    res = llk.evaluate(x)
    if res.status != 0:
        raise DSGEError(f"log-likelihood not available: {STATUS.get(res.status, res.status)}")
    info = llk.data_info
    print(f"log-likelihood: {res.loglik:.10f}")
    print(f"  observables {', '.join(llk.observables)}; sample first_obs={info['first_obs']}, "
          f"nobs={info['nobs']}, presample={llk.presample}; lik_init={llk.lik_init}; "
          f"{'exact filter' if args.exact else 'riccati_tol=1e-6'}"
          + (f" (steady-state gain from period {res.riccati_switch + 1})" if res.riccati_switch >= 0 else ""))
    if len(llk.space):
        lp = llk.log_prior(x)
        if lp > -float("inf"):
            print(f"log prior: {lp:.10f}   log posterior kernel: {res.loglik + lp:.10f}")
    if args.time and args.time > 0:
        llk(x)
        t0 = time.perf_counter()
        for _ in range(args.time):
            llk(x)
        dt = (time.perf_counter() - t0) / args.time
        print(f"mean wall time per evaluation: {dt * 1e3:.4f} ms over {args.time} repetitions")
    return 0
