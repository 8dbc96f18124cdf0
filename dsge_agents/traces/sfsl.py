"""SFSL in the traces layer: within-window trajectories of span metrics projected onto V_K (DESIGN §5.1).

Time is cut into windows of length T (a fixed pandas offset, e.g. ``"1h"``, aligned to
the Unix epoch like the aggregation periods). For every (window, agent, metric) a
streaming projector :class:`dsge_agents.economy.sfsl.SFSL` receives the samples
(t_i, v_i) with t_i the completion time of span i measured from the window start
(t ∈ [0, T)) and v_i the span's metric; its coefficients describe the within-window
trajectory E[v | t] in the orthonormal basis of V_K (shifted Legendre or piecewise
constant). The projector state is a set of additive sums, so partitions of the spans
processed separately and merged (:meth:`TraceSFSL.merge`) give the one-pass
coefficients — what a distributed reduction needs.

Span metrics: ``latency`` (end − start, s), ``ttft`` (s), ``input_tokens``,
``output_tokens``, ``cost``, ``error`` (1 if the status is an error in any spelling
:func:`~dsge_agents.traces.schema.normalize_status` knows, else 0). Timestamps are parsed as
the readers do (text, epoch seconds, naive = UTC); an unparseable one is a
:class:`~dsge_agents.errors.TraceValidationError`. Samples with a missing value (NaN, NA, a
missing status, an optional column the table lacks) are skipped; an infinite value is an
error naming the column (it is not missing, and no finite trajectory can hold it). Spans
without ``end_ts`` (arrival-only rows) give no samples.

:func:`project_panel` does the same for the per-period series of a
:class:`~dsge_agents.traces.aggregate.TracePanel` (samples at the period midpoints, period
start + half the panel's period length), e.g. arrivals or concurrency.

Coefficients of a state whose sample times do not determine V_K — fewer distinct times than
K, an empty bin, or a Gram matrix singular to working precision (criterion in
:mod:`dsge_agents.economy.sfsl`) — are NaN, whatever the partition and merge order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsge_agents.economy.basis import make_basis
from dsge_agents.economy.sfsl import SFSL
from dsge_agents.errors import EconomyError, TraceValidationError
from dsge_agents.traces.aggregate import UNKNOWN_AGENT, period_ns
from dsge_agents.traces.schema import _to_utc, normalize_status

SPAN_METRICS = ("latency", "ttft", "input_tokens", "output_tokens", "cost", "error")
#: the span column each metric reads (latency reads start_ts and end_ts)
_METRIC_COLUMN = {"ttft": "ttft_s", "input_tokens": "input_tokens", "output_tokens": "output_tokens",
                  "cost": "cost_usd", "error": "status"}


class SFSLInputError(TraceValidationError, ValueError):
    """Bad input to the traces SFSL: window, metric names, timestamps or values (also a ValueError,
    as these arguments raised before)."""


def _times(ts, what: str) -> pd.Series:
    """Timestamps parsed as the readers do (tz-aware UTC, NaT where missing); unparseable -> error."""
    parsed, bad = _to_utc(ts)
    if bad.any():
        raw = pd.Series(ts)[bad.to_numpy()]
        raise SFSLInputError(f"{what}: {int(bad.sum())} unparseable timestamp(s), the first {raw.iloc[0]!r}")
    return parsed


def _window_ns(window, what: str = "window") -> int:
    try:
        return period_ns(window)
    except ValueError as exc:
        raise SFSLInputError(f"{what}: {exc}") from None


def _epoch_ns(parsed: pd.Series) -> np.ndarray:
    return parsed.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)


class TraceSFSL:
    """Mergeable per-(window, agent, metric) SFSL states built from span tables.

    Parameters
    ----------
    window : fixed pandas offset, the horizon T of V_K.
    K : basis size.
    basis : ``"legendre"`` or ``"pwc"`` (piecewise constant).
    metrics : span metrics to project (subset of :data:`SPAN_METRICS`).
    estimator : ``"lsq"`` (least squares, exact on V_K) or ``"projection"`` (see SFSL).
    """

    def __init__(
        self, window="1h", K: int = 8, basis: str = "legendre", metrics=SPAN_METRICS, estimator: str = "lsq"
    ):
        self.window = window
        self.W = _window_ns(window)
        self.basis = make_basis(basis, K, self.W / 1e9)
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        bad = [m for m in metrics if m not in SPAN_METRICS]
        if bad:
            raise SFSLInputError(f"unknown span metrics {bad}; choose from {SPAN_METRICS}")
        self.metrics = tuple(metrics)
        if estimator not in SFSL.ESTIMATORS:
            raise SFSLInputError(f"estimator must be one of {SFSL.ESTIMATORS}, got {estimator!r}")
        self.estimator = estimator
        self.states: dict[tuple, SFSL] = {}

    @staticmethod
    def _values(spans: pd.DataFrame, m: str, start, end) -> np.ndarray:
        """Sample values of metric m (NaN = missing, skipped); start / end are the parsed times."""
        if m == "latency":
            return ((end - start).dt.total_seconds()).to_numpy(float)
        col = _METRIC_COLUMN[m]
        if col not in spans.columns:  # an optional column the table lacks: missing values
            return np.full(len(spans), np.nan)
        if m == "error":
            st = spans[col]
            err = (normalize_status(st) == "error").to_numpy(float)
            return np.where(st.notna().to_numpy(), err, np.nan)  # a missing status is no sample
        v = pd.to_numeric(spans[col], errors="coerce").astype("Float64").to_numpy(float, na_value=np.nan)
        inf = np.isinf(v)
        if inf.any():
            raise SFSLInputError(
                f"{col}: {int(inf.sum())} infinite value(s), the first at row {spans.index[np.flatnonzero(inf)[0]]!r}; "
                "SFSL skips only missing values -- replace them by NaN to skip them")
        return v

    def update(self, spans: pd.DataFrame) -> "TraceSFSL":
        """Stream one partition of spans (completed spans only) into the states."""
        lacking = [c for c in ("start_ts", "end_ts") if c not in spans.columns]
        if lacking:
            raise SFSLInputError(f"span table lacks {', '.join(lacking)} (SFSL samples are completed spans)")
        start_all, end_all = _times(spans["start_ts"], "start_ts"), _times(spans["end_ts"], "end_ts")
        keep = (start_all.notna() & end_all.notna()).to_numpy()
        if not keep.any():
            return self
        s = spans[keep]
        start, end_t = start_all[keep], end_all[keep]
        end = _epoch_ns(end_t)
        win = np.floor_divide(end, self.W)
        t = (end - win * self.W) / 1e9
        if "agent_name" in s.columns:
            agent = s["agent_name"].astype(object).where(s["agent_name"].notna(), UNKNOWN_AGENT).to_numpy()
        else:
            agent = np.full(len(s), UNKNOWN_AGENT, dtype=object)
        keys = pd.DataFrame({"w": win, "a": agent})
        groups = keys.groupby(["w", "a"], sort=False).indices
        vals = {m: self._values(s, m, start, end_t) for m in self.metrics}
        for (w, a), idx in groups.items():
            for m in self.metrics:
                v = vals[m][idx]
                ok = np.isfinite(v)
                if not ok.any():
                    continue
                key = (int(w), a, m)
                st = self.states.get(key)
                if st is None:
                    st = self.states[key] = SFSL(self.basis, estimator=self.estimator)
                st.update_many(t[idx][ok], v[ok])
        return self

    def merge(self, other: "TraceSFSL") -> "TraceSFSL":
        """New object whose states are the merged (summed) states of both."""
        if (other.W, other.basis.name, other.basis.K) != (self.W, self.basis.name, self.basis.K):
            raise EconomyError("cannot merge TraceSFSL objects with different windows or bases")
        if other.estimator != self.estimator:
            raise EconomyError(f"cannot merge TraceSFSL objects with different estimators: "
                               f"{self.estimator!r} vs {other.estimator!r}")
        if set(other.metrics) != set(self.metrics):
            raise EconomyError(f"cannot merge TraceSFSL objects with different metrics: "
                               f"{list(self.metrics)} vs {list(other.metrics)}")
        out = TraceSFSL(self.window, self.basis.K, self.basis.name, self.metrics, self.estimator)
        for key in set(self.states) | set(other.states):
            a, b = self.states.get(key), other.states.get(key)
            out.states[key] = (
                a.merge(b)
                if a is not None and b is not None
                else (a or b).merge(SFSL(self.basis, estimator=self.estimator))
            )
        return out

    __add__ = merge

    def coefficients(self) -> pd.DataFrame:
        """Tidy coefficients: window (start, UTC), agent, metric, n, k, coef (NaN when undetermined)."""
        rows = []
        K = self.basis.K
        for (w, a, m), st in sorted(self.states.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
            try:
                c = st.coefficients()
            except EconomyError:  # too few distinct sample times for K coefficients
                c = np.full(K, np.nan)
            for k in range(K):
                rows.append((w, a, m, st.n, k, float(c[k])))
        df = pd.DataFrame(rows, columns=["window", "agent", "metric", "n", "k", "coef"])
        df["window"] = pd.to_datetime(df["window"].astype(np.int64) * self.W, unit="ns", utc=True)
        return df

    def evaluate(self, window, agent: str, metric: str, t) -> np.ndarray:
        """The fitted trajectory E[v | t] of one state at times t (seconds into the window)."""
        w = pd.Timestamp(window)
        w = w.tz_localize("UTC") if w.tzinfo is None else w.tz_convert("UTC")
        return self.states[(int(w.value // self.W), agent, metric)].evaluate(t)


def project_spans(
    spans: pd.DataFrame,
    window="1h",
    K: int = 8,
    basis: str = "legendre",
    metrics=SPAN_METRICS,
    estimator: str = "lsq",
) -> TraceSFSL:
    """One-pass :class:`TraceSFSL` of a span table."""
    return TraceSFSL(window, K, basis, metrics, estimator).update(spans)


def project_panel(
    panel, window="1h", K: int = 8, basis: str = "legendre", metrics=None, estimator: str = "lsq", period=None
) -> pd.DataFrame:
    """Project the per-period series of a panel (tidy frame or TracePanel) within each window.

    Samples are (period start + period/2 − window start, value) for finite values. The period
    length comes from a TracePanel (``info["period_ns"]`` / ``.period``); a plain tidy frame
    (period, agent, metric, value) needs ``period=`` (e.g. ``"1min"``). ``metrics`` must name
    metrics present in the panel. Returns the tidy coefficient table (window, agent, metric,
    n, k, coef), coef NaN where the samples do not determine V_K.
    """
    tidy = panel.tidy if hasattr(panel, "tidy") else panel
    known = None
    if hasattr(panel, "tidy"):
        info = getattr(panel, "info", None) or {}
        known = info.get("period_ns")
        if known is None and getattr(panel, "period", None) is not None:
            known = _window_ns(panel.period, "the panel's period")
    if period is not None:
        P = _window_ns(period, "period")
        if known is not None and int(known) != P:
            raise SFSLInputError(f"period={period!r} differs from the panel's period ({int(known)} ns)")
    elif known is not None:
        P = int(known)
    else:
        raise SFSLInputError("project_panel of a plain tidy frame needs period= (the length of its periods, "
                             "e.g. '1min'): samples sit at the period midpoints")
    if metrics is not None:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        have = sorted(pd.unique(tidy["metric"]).tolist())
        unknown = [m for m in metrics if m not in have]
        if unknown:
            raise SFSLInputError(f"metrics {unknown} are not in the panel; it has {have}")
        tidy = tidy[tidy["metric"].isin(metrics)]
    vals = pd.to_numeric(tidy["value"], errors="coerce").astype("Float64").to_numpy(float, na_value=np.nan)
    tidy, vals = tidy[np.isfinite(vals)], vals[np.isfinite(vals)]
    W = _window_ns(window)
    per = _times(tidy["period"], "period")
    if per.isna().any():
        raise SFSLInputError("period: missing period start(s) in the panel")
    mid = _epoch_ns(per) + P // 2
    win = np.floor_divide(mid, W)
    t = (mid - win * W) / 1e9
    b = make_basis(basis, K, W / 1e9)
    rows = []
    keys = pd.DataFrame({"w": win, "a": tidy["agent"].to_numpy(), "m": tidy["metric"].to_numpy()})
    for (w, a, m), idx in keys.groupby(["w", "a", "m"], sort=True).indices.items():
        st = SFSL(b, estimator=estimator).update_many(t[idx], vals[idx])
        try:
            c = st.coefficients()
        except EconomyError:
            c = np.full(K, np.nan)
        rows += [(w, a, m, st.n, k, float(c[k])) for k in range(K)]
    df = pd.DataFrame(rows, columns=["window", "agent", "metric", "n", "k", "coef"])
    df["window"] = pd.to_datetime(df["window"].astype(np.int64) * W, unit="ns", utc=True)
    return df
