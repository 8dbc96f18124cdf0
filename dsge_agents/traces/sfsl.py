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
``output_tokens``, ``cost``, ``error`` (1 if status is error, else 0). Samples with a
missing value are skipped. :func:`project_panel` does the same for the per-period
series of a :class:`~dsge_agents.traces.aggregate.TracePanel` (samples at the period
midpoints), e.g. arrivals or concurrency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsge_agents.economy.basis import make_basis
from dsge_agents.economy.sfsl import SFSL
from dsge_agents.errors import EconomyError

SPAN_METRICS = ("latency", "ttft", "input_tokens", "output_tokens", "cost", "error")


def _ns(ts: pd.Series) -> np.ndarray:
    return pd.to_datetime(ts, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)


def _window_ns(window) -> int:
    td = pd.Timedelta(pd.tseries.frequencies.to_offset(window))
    if td.value <= 0:
        raise ValueError(f"window {window!r} must be a positive fixed offset")
    return int(td.value)


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
        bad = [m for m in metrics if m not in SPAN_METRICS]
        if bad:
            raise ValueError(f"unknown span metrics {bad}; choose from {SPAN_METRICS}")
        self.metrics = tuple(metrics)
        self.estimator = estimator
        self.states: dict[tuple, SFSL] = {}

    def _values(self, spans: pd.DataFrame, m: str) -> np.ndarray:
        if m == "latency":
            return (spans["end_ts"] - spans["start_ts"]).dt.total_seconds().to_numpy(float)
        if m == "ttft":
            return pd.to_numeric(spans["ttft_s"], errors="coerce").to_numpy(float)
        if m in ("input_tokens", "output_tokens"):
            return pd.to_numeric(spans[m], errors="coerce").astype("Float64").to_numpy(float, na_value=np.nan)
        if m == "cost":
            return pd.to_numeric(spans["cost_usd"], errors="coerce").to_numpy(float)
        return (spans["status"].astype(str) == "error").to_numpy(float)

    def update(self, spans: pd.DataFrame) -> "TraceSFSL":
        """Stream one partition of spans (completed spans only) into the states."""
        s = spans[spans["end_ts"].notna() & spans["start_ts"].notna()]
        if not len(s):
            return self
        end = _ns(s["end_ts"])
        win = np.floor_divide(end, self.W)
        t = (end - win * self.W) / 1e9
        agent = s["agent_name"].astype(object).where(s["agent_name"].notna(), "_unknown").to_numpy()
        keys = pd.DataFrame({"w": win, "a": agent})
        groups = keys.groupby(["w", "a"], sort=False).indices
        vals = {m: self._values(s, m) for m in self.metrics}
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
    panel, window="1h", K: int = 8, basis: str = "legendre", metrics=None, estimator: str = "lsq"
) -> pd.DataFrame:
    """Project the per-period series of a panel (tidy frame or TracePanel) within each window.

    Samples are (period midpoint − window start, value) for non-NaN values. Returns the
    tidy coefficient table (window, agent, metric, n, k, coef).
    """
    tidy = panel.tidy if hasattr(panel, "tidy") else panel
    if metrics is not None:
        tidy = tidy[tidy["metric"].isin(list(metrics))]
    tidy = tidy[np.isfinite(tidy["value"].to_numpy(float))]
    W = _window_ns(window)
    per = np.diff(np.unique(_ns(tidy["period"])))
    half = int(per.min() // 2) if len(per) else 0
    mid = _ns(tidy["period"]) + half
    win = np.floor_divide(mid, W)
    t = (mid - win * W) / 1e9
    b = make_basis(basis, K, W / 1e9)
    rows = []
    keys = pd.DataFrame({"w": win, "a": tidy["agent"].to_numpy(), "m": tidy["metric"].to_numpy()})
    vals = tidy["value"].to_numpy(float)
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
