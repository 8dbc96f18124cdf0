"""Trace simulator: a discrete-event twin of an orchestrated agent system (DESIGN §6, issue 4 item 5).

A request enters the DAG at the entry stage; at each stage it is routed to one of the
stage's agents with the current routing shares; each agent is an FCFS queue with
``servers`` parallel servers whose service time follows from the call's tokens
and the agent's speeds (prefill tokens/s, decode tokens/s, fixed overhead) or is
exponential (``service="exponential"``, for queueing checks). After service the
request moves to a successor stage with the edge's branch probability (the
remaining probability ends the request). Shocks: capacity outages (a fraction of
an agent's servers, rounded to whole servers, down on [start, end); jobs in service finish),
rate-limit windows (at most N calls per calendar second; extra calls fail at once with
``error_type = "rate_limited"``), SLO-rule changes (new routing shares and/or a new
queueing timeout from a given time; calls not started within the timeout are
abandoned with ``error_type = "timeout"``), and client retries with exponential
backoff. Arrivals (times and token counts) come from a real trace (one request per
trace of a span table, see :func:`_request_arrivals`).

Output: the canonical span table (one root ``invoke_agent`` span per request and
one ``chat`` span per call attempt, with ``queue_wait_s`` and ``stage`` as extra
columns) and the ground-truth table of injected shocks.

Correctness checks (tests): with Poisson arrivals and exponential service one agent
reproduces the M/M/c mean wait of the Erlang C formula
W_q = C(c, λ/μ)/(cμ − λ) (Erlang 1917; Kleinrock, *Queueing Systems I*, §3.5), and
the output satisfies Little's law L = λW.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dsge_agents.errors import EconomyError, TraceValidationError
from dsge_agents.traces.schema import CANONICAL_COLUMNS


# ----------------------------------------------------------------------------- checks
def _number(x, what: str, *, lo=None, hi=None, strict: bool = False, inf: bool = False) -> float:
    """``x`` as a finite (``inf``: or +inf) float in [lo, hi] (``strict``: > lo).

    Anything else is an :class:`EconomyError` naming ``what``.
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise EconomyError(f"{what} must be a number, got {x!r}") from None
    if isinstance(x, bool) or math.isnan(v) or (math.isinf(v) and not (inf and v > 0)):
        raise EconomyError(f"{what} must be a finite number, got {x!r}")
    if lo is not None and (v < lo or (strict and v == lo)):
        raise EconomyError(f"{what} must be {'>' if strict else '>='} {lo:g}, got {x!r}")
    if hi is not None and v > hi:
        raise EconomyError(f"{what} must be <= {hi:g}, got {x!r}")
    return v


def _integer(x, what: str, *, lo=None, hi=None) -> int:
    """``x`` as an int in [lo, hi) (integral floats accepted), else :class:`EconomyError` naming ``what``."""
    ok = isinstance(x, (int, np.integer)) and not isinstance(x, bool)
    if not ok and isinstance(x, (float, np.floating)) and math.isfinite(x) and float(x).is_integer():
        ok = True
    top = (1 << 62) if hi is None else hi
    if ok and hi is None and int(x) >= top:
        raise EconomyError(f"{what} must be an integer below {top:.3g}, got {x!r}")
    if not ok or (lo is not None and int(x) < lo) or int(x) >= top:
        rng = f"in [{lo}, {hi})" if hi is not None else f">= {lo}" if lo is not None else ""
        raise EconomyError(f"{what} must be an integer {rng}".rstrip() + f", got {x!r}")
    return int(x)


def _time_value(x, what: str):
    """A shock time: finite seconds from the first arrival, or a timestamp (UTC if naive)."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return _number(x, what)
    try:
        ts = pd.Timestamp(x)
    except (TypeError, ValueError, OverflowError):
        raise EconomyError(
            f"{what} must be seconds from the first arrival or a timestamp, got {x!r}"
        ) from None
    if ts is pd.NaT:
        raise EconomyError(f"{what} must be seconds from the first arrival or a timestamp, got {x!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _check_window(start, end, what: str) -> None:
    """start < end when both are seconds or both timestamps (mixed pairs are checked in simulate)."""
    a, b = _time_value(start, f"{what}: start"), _time_value(end, f"{what}: end")
    if isinstance(a, float) == isinstance(b, float) and not a < b:
        raise EconomyError(f"{what}: start must be before end")


def _check_agent(a: "AgentSpec") -> None:
    w = f"agent {a.name!r}"
    _integer(a.servers, f"{w}: servers", lo=1)
    _number(a.prefill_tps, f"{w}: prefill_tps", lo=0.0, strict=True, inf=True)
    _number(a.decode_tps, f"{w}: decode_tps", lo=0.0, strict=True, inf=True)
    for k in ("overhead_s", "share", "input_scale", "output_scale", "price_in", "price_out", "cost_per_call"):
        _number(getattr(a, k), f"{w}: {k}", lo=0.0)
    if a.service not in ("tokens", "exponential"):
        raise EconomyError(f"{w}: service must be 'tokens' or 'exponential', got {a.service!r}")
    if a.service == "exponential":
        _number(a.mean_service_s, f"{w}: mean_service_s", lo=0.0, strict=True)


# ----------------------------------------------------------------------------- configuration
@dataclass
class AgentSpec:
    """One agent (a queue with ``servers`` parallel servers).

    Service time of a call with request tokens (i, o):
    ``overhead_s + i·input_scale/prefill_tps + o·output_scale/decode_tps`` (``service="tokens"``),
    or exponential with mean ``mean_service_s`` (``service="exponential"``).
    Prices are USD per 1M input / output tokens, plus ``cost_per_call`` USD (cost of successful calls).
    """

    name: str
    servers: int = 1
    prefill_tps: float = 5000.0
    decode_tps: float = 50.0
    overhead_s: float = 0.05
    share: float = 1.0
    input_scale: float = 1.0
    output_scale: float = 1.0
    model: str | None = None
    provider: str | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    cost_per_call: float = 0.0
    service: str = "tokens"
    mean_service_s: float = 1.0


@dataclass
class StageSpec:
    """A stage of the DAG: its agents and successor stages with branch probabilities."""

    name: str
    agents: list
    next: dict = field(default_factory=dict)


@dataclass
class Outage:
    """``fraction`` of ``agent``'s servers down on [start, end).

    Times are seconds from the first arrival, or timestamps.
    """

    agent: str
    start: Any
    end: Any
    fraction: float = 1.0

    def servers_down(self, servers: int) -> int:
        """Whole servers taken down: ``fraction·servers`` rounded to the nearest integer, halves up.

        (1 of 1 at 0.5, 2 of 3 at 0.5, 1 of 4 at 0.2.) A fraction > 0 that rounds to no server
        is refused by :meth:`SimulationConfig.validate`.
        """
        return int(math.floor(float(self.fraction) * int(servers) + 0.5 + 1e-9))


@dataclass
class RateLimit:
    """At most ``max_per_s`` calls to ``agent`` per calendar second of their ``start_ts``, on [start, end)."""

    agent: str
    start: Any
    end: Any
    max_per_s: int


@dataclass
class SLOChange:
    """From ``at`` on: new routing shares (agent -> weight) and/or a new queueing timeout (s)."""

    at: Any
    shares: dict | None = None
    timeout_s: float | None = None


@dataclass
class RetryPolicy:
    """Client retries: after the k-th failure wait backoff_s·multiplier^(k−1)·(1 + jitter·U)."""

    max_retries: int = 3
    backoff_s: float = 0.5
    multiplier: float = 2.0
    jitter: float = 0.25


@dataclass
class SimulationConfig:
    """DAG of stages and agents plus the shocks to inject."""

    stages: list
    entry: str | None = None
    outages: list = field(default_factory=list)
    rate_limits: list = field(default_factory=list)
    slo_changes: list = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float | None = None
    orchestrator: str = "orchestrator"
    name: str = "simulation"

    # -- helpers
    @property
    def agents(self) -> list[AgentSpec]:
        return [a for s in self.stages for a in s.agents]

    def agent_names(self) -> list[str]:
        return [a.name for a in self.agents]

    def validate(self) -> None:
        """Check the DAG, the agents and the shocks; raise :class:`EconomyError` naming the field."""
        names = self.agent_names()
        if len(set(names)) != len(names):
            raise EconomyError(f"agent names must be unique across stages: {names}")
        snames = [s.name for s in self.stages]
        if not snames:
            raise EconomyError("the simulation needs at least one stage")
        if len(set(snames)) != len(snames):
            raise EconomyError(f"stage names must be unique: {snames}")
        if self.entry is not None and self.entry not in snames:
            raise EconomyError(f"entry stage {self.entry!r} is not a stage; stages are {snames}")
        for s in self.stages:
            if not s.agents:
                raise EconomyError(f"stage {s.name!r} has no agents")
            for nx, p in s.next.items():
                _number(p, f"stage {s.name!r}: branch probability to {nx!r}", lo=0.0, hi=1.0)
            tot = sum(s.next.values())
            if tot > 1 + 1e-9:
                raise EconomyError(
                    f"stage {s.name!r}: branch probabilities must be >= 0 and sum to <= 1, got {s.next}"
                )
            for nx in s.next:
                if nx not in snames:
                    raise EconomyError(f"stage {s.name!r} links to unknown stage {nx!r}")
            for a in s.agents:
                _check_agent(a)
            if sum(float(a.share) for a in s.agents) <= 0:
                raise EconomyError(
                    f"stage {s.name!r}: routing shares are all zero; give one a positive share"
                )
        # acyclic
        succ = {s.name: list(s.next) for s in self.stages}
        state: dict = {}

        def visit(u, path):
            state[u] = 1
            for v in succ[u]:
                if state.get(v) == 1:
                    raise EconomyError(f"stage graph has a cycle: {' -> '.join(path + [u, v])}")
                if v not in state:
                    visit(v, path + [u])
            state[u] = 2

        for s in snames:
            if s not in state:
                visit(s, [])
        for sh in list(self.outages) + list(self.rate_limits):
            if sh.agent not in names:
                raise EconomyError(f"shock names unknown agent {sh.agent!r}; agents are {names}")
        servers = {a.name: a.servers for a in self.agents}
        for o in self.outages:
            what = f"Outage({o.agent!r}, {o.start!r}, {o.end!r})"
            _number(o.fraction, f"{what}: fraction", lo=0.0, hi=1.0)
            c = servers[o.agent]
            if o.fraction > 0 and o.servers_down(c) == 0:
                raise EconomyError(
                    f"{what}: fraction {o.fraction:g} of {c} servers rounds to no server down "
                    f"(whole servers, rounded to nearest); use a fraction >= {0.5 / c:.3g}"
                )
            _check_window(o.start, o.end, what)
        for r in self.rate_limits:
            what = f"RateLimit({r.agent!r}, {r.start!r}, {r.end!r})"
            _integer(r.max_per_s, f"{what}: max_per_s", lo=0)
            _check_window(r.start, r.end, what)
        for ch in self.slo_changes:
            _time_value(ch.at, f"SLOChange at={ch.at!r}: at")
            for a, w in (ch.shares or {}).items():
                if a not in names:
                    raise EconomyError(f"SLO change names unknown agent {a!r}")
                _number(w, f"SLOChange at={ch.at!r}: share of {a!r}", lo=0.0)
            if ch.timeout_s is not None:
                _number(ch.timeout_s, f"SLOChange at={ch.at!r}: timeout_s", lo=0.0, strict=True)
        if self.timeout_s is not None:
            _number(self.timeout_s, "timeout_s", lo=0.0, strict=True)
        r = self.retry
        _integer(r.max_retries, "retry.max_retries", lo=0)
        _number(r.backoff_s, "retry.backoff_s", lo=0.0)
        _number(r.multiplier, "retry.multiplier", lo=0.0, strict=True)
        _number(r.jitter, "retry.jitter", lo=0.0)

    def to_dict(self) -> dict:
        return asdict(self)

    # -- constructors
    @classmethod
    def single_queue(cls, servers: int, mean_service_s: float, name: str = "server") -> "SimulationConfig":
        """One M/M/c-style agent with exponential service (queueing checks)."""
        return cls(
            stages=[
                StageSpec(
                    "serve",
                    [
                        AgentSpec(
                            name,
                            servers=servers,
                            service="exponential",
                            mean_service_s=mean_service_s,
                            overhead_s=0.0,
                        )
                    ],
                )
            ],
            retry=RetryPolicy(max_retries=0),
        )

    @classmethod
    def default(cls) -> "SimulationConfig":
        """A 6-agent, 3-stage DAG sized for the Azure conversation trace (~5.5 requests/s).

        triage (small / medium) → solve (medium / large) with probability 0.85 →
        review (small / large) with probability 0.6. Speeds and prices follow the
        calibration facts of DESIGN §5.2 (decode ~5 ms/token small, ~25 ms/token large;
        prices per 1M tokens small $0.15/$0.60, medium $1.25/$10, large $3/$15).
        """
        small = dict(
            prefill_tps=20000.0,
            decode_tps=150.0,
            overhead_s=0.03,
            model="small-8b",
            provider="selfhosted",
            price_in=0.15,
            price_out=0.60,
        )
        medium = dict(
            prefill_tps=10000.0,
            decode_tps=80.0,
            overhead_s=0.05,
            model="medium",
            provider="api-medium",
            price_in=1.25,
            price_out=10.0,
        )
        large = dict(
            prefill_tps=5000.0,
            decode_tps=40.0,
            overhead_s=0.08,
            model="large-70b",
            provider="api-large",
            price_in=3.0,
            price_out=15.0,
        )
        stages = [
            StageSpec(
                "triage",
                [
                    AgentSpec("triage_small", servers=4, share=0.7, output_scale=0.1, **small),
                    AgentSpec("triage_medium", servers=3, share=0.3, output_scale=0.1, **medium),
                ],
                next={"solve": 0.85},
            ),
            StageSpec(
                "solve",
                [
                    AgentSpec("solve_medium", servers=24, share=0.6, **medium),
                    AgentSpec("solve_large", servers=32, share=0.4, **large),
                ],
                next={"review": 0.6},
            ),
            StageSpec(
                "review",
                [
                    AgentSpec(
                        "review_small", servers=4, share=0.5, input_scale=1.2, output_scale=0.3, **small
                    ),
                    AgentSpec(
                        "review_large", servers=12, share=0.5, input_scale=1.2, output_scale=0.3, **large
                    ),
                ],
            ),
        ]
        return cls(stages=stages, name="default_6_agents")

    @classmethod
    def from_economy(cls, source, *, servers_scale: float = 1.0) -> "SimulationConfig":
        """Build from an orchestrated-economy YAML (``kind: orchestrated_economy``) or its dict.

        Stages, agents, DAG edges and routing shares are taken as declared; an agent's
        ``servers`` is its steady-state capacity in requests per second divided by its
        per-request service rate (rounded up), or ``servers`` when the YAML gives it.
        """
        from dsge_agents.traces._economy_adapter import config_from_economy

        return config_from_economy(source, servers_scale=servers_scale)


# ----------------------------------------------------------------------------- arrivals
def poisson_arrivals(
    rate: float,
    n: int,
    *,
    seed: int = 0,
    start="2024-01-01T00:00:00Z",
    input_tokens: int = 1000,
    output_tokens: int = 200,
) -> pd.DataFrame:
    """``n`` Poisson arrivals of intensity ``rate`` (per second) with constant token counts."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1.0 / rate, size=n))
    t0 = pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    return pd.DataFrame(
        {
            "start_ts": t0 + pd.to_timedelta(np.round(t * 1e6), unit="us"),
            "input_tokens": np.full(n, input_tokens),
            "output_tokens": np.full(n, output_tokens),
        }
    )


def _arrivals_frame(arrivals) -> pd.DataFrame:
    if isinstance(arrivals, (str, Path)):
        from dsge_agents.traces.readers import read_spans

        arrivals = read_spans(arrivals)
    if not isinstance(arrivals, pd.DataFrame):
        raise TraceValidationError(
            "arrivals must be a DataFrame with start_ts (and token counts) or a trace file"
        )
    df = arrivals
    if "start_ts" not in df.columns and "TIMESTAMP" in df.columns:
        df = df.rename(
            columns={
                "TIMESTAMP": "start_ts",
                "ContextTokens": "input_tokens",
                "GeneratedTokens": "output_tokens",
            }
        )
    if "start_ts" not in df.columns:
        raise TraceValidationError(f"arrivals need a start_ts column; got {list(df.columns)[:10]}")
    return df


def _rows(df: pd.DataFrame, mask, k: int = 5) -> str:
    """The first ``k`` rows where ``mask`` holds, as ``file:row`` when the reader recorded them."""
    mask = np.asarray(mask, bool)
    idx = np.flatnonzero(mask)
    if "_source" in df.columns and "_row" in df.columns:
        src, row = df["_source"].to_numpy(), df["_row"].to_numpy()
        names = [f"{Path(str(src[i])).name}:{row[i]}" for i in idx[:k]]
    else:
        names = [str(x) for x in df.index[idx[:k]]]
    if len(idx) == 1:
        return f"row {names[0]}"
    more = f" and {len(idx) - k} more" if len(idx) > k else ""
    return f"rows {', '.join(names)}{more} ({len(idx)} rows)"


def _token_values(df: pd.DataFrame, col: str, *, allow_missing: bool) -> np.ndarray:
    """Token counts of ``col`` as floats (NaN where missing); bad values are a named error.

    Non-numeric, negative or infinite counts are a :class:`TraceValidationError` naming the
    rows; so are missing counts unless ``allow_missing`` (span tables: root spans carry none).
    """
    if col not in df.columns:
        raise TraceValidationError(
            f"arrivals have no {col} column (token counts are needed for service times)"
        )
    raw = df[col]
    v = pd.to_numeric(raw, errors="coerce")
    v = np.asarray(v.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    missing = raw.isna().to_numpy()
    bad = (~missing & np.isnan(v)) | (v < 0) | np.isinf(v)
    if bad.any():
        raise TraceValidationError(
            f"arrivals: {col} must be non-negative finite numbers; bad in {_rows(df, bad)}"
        )
    if missing.any() and not allow_missing:
        raise TraceValidationError(f"arrivals: {col} is missing in {_rows(df, missing)}")
    return v


def _request_arrivals(df: pd.DataFrame, agents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival times (int64 ns, UTC) and request token counts, one entry per request.

    Without a ``trace_id`` column every row is a request. With one (a span table) every
    trace is one request (rows without a trace id are requests of their own), arriving at
    its earliest ``start_ts``. Its token counts are read off one of its spans, preferring
    spans that carry the count, then successful ones, then those of the agent with the
    largest ``input_scale`` / ``output_scale``, then the earliest; a span of an agent of
    this configuration is divided by that agent's scale and rounded. This inverts the
    simulator's own per-call counts round(tokens·scale): a re-run on simulated spans
    recovers integer request tokens exactly when that scale is >= 1 and within 0.5/scale
    otherwise (every call then gets the same counts again), and a trace without any token
    count is an error. (Failed simulated calls record no output tokens, so a request whose
    every call failed is replayed with output 0.)
    """
    if len(df) == 0:
        raise TraceValidationError("arrivals are empty")
    ts = pd.to_datetime(df["start_ts"], utc=True, errors="coerce")
    if ts.isna().any():
        raise TraceValidationError(f"arrivals: start_ts is missing or not a time in {_rows(df, ts.isna())}")
    tns = ts.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    spans = "trace_id" in df.columns
    tin = _token_values(df, "input_tokens", allow_missing=spans)
    tout = _token_values(df, "output_tokens", allow_missing=spans)
    if not spans:
        return tns, tin, tout
    codes, uniq = pd.factorize(df["trace_id"])
    alone = codes < 0  # no trace id: a request of its own
    codes[alone] = len(uniq) + np.arange(int(alone.sum()))
    n_req = int(codes.max()) + 1
    arrive = pd.Series(tns).groupby(codes).min().to_numpy()  # codes are 0..n_req-1, sorted
    ok = np.ones(len(df), bool)
    if "status" in df.columns:
        ok = df["status"].astype(str).str.lower().to_numpy() != "error"
    names = df["agent_name"] if "agent_name" in df.columns else pd.Series(np.full(len(df), None))
    out = []
    for v, attr, col in ((tin, "input_scale", "input_tokens"), (tout, "output_scale", "output_tokens")):
        sc = {a.name: float(getattr(a, attr)) for a in agents}
        scale = names.map(sc).astype(float).fillna(1.0).to_numpy()
        has = ~np.isnan(v) & (scale > 0)
        order = np.lexsort((tns, -scale, ~ok, ~has, codes))  # last key sorts first
        first = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
        lacking = ~has[first]
        if lacking.any():
            tids = [str(x) for x in df["trace_id"].to_numpy()[first[lacking]][:5]]
            raise TraceValidationError(
                f"arrivals: no {col} on any span of {int(lacking.sum())} trace(s) "
                f"(trace_id {', '.join(tids)}{', ...' if lacking.sum() > 5 else ''})"
            )
        req = np.empty(n_req)
        req[codes[first]] = np.where(scale[first] == 1.0, v[first], np.round(v[first] / scale[first]))
        out.append(req)
    return arrive, out[0], out[1]


# ----------------------------------------------------------------------------- ids
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_digits(values: np.ndarray, width: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.uint64)
    digits = np.empty((len(v), width), dtype=np.uint8)
    x = v.copy()
    for k in range(width - 1, -1, -1):
        digits[:, k] = _HEX[(x & np.uint64(15)).astype(np.int64)]
        x >>= np.uint64(4)
    return digits


_SPAN_INDEX_LIMIT = 1 << 28


def _span_ids(index: np.ndarray, kind: int, seed: int) -> np.ndarray:
    """64-bit span ids: hex digit ``kind`` (1 root, 2 call), 8 hex digits of the seed, 7 of the index.

    Unique within a run and across runs with different seeds (their spans can be concatenated);
    never zero (an all-zero span id is invalid in OTLP).
    """
    return (np.uint64(kind) << np.uint64(60)) | (np.uint64(seed) << np.uint64(28)) | index.astype(np.uint64)


def hex_ids_arrow(values: np.ndarray, width: int = 16, prefix: int = 0):
    """Lower-case zero-padded hex ids as a pyarrow string array (built from one byte buffer)."""
    import pyarrow as pa

    n = len(values)
    if width > 16:
        pre = np.frombuffer(f"{prefix:0{width - 16}x}"[-(width - 16) :].encode(), dtype=np.uint8)
        digits = np.concatenate([np.broadcast_to(pre, (n, width - 16)), _hex_digits(values, 16)], axis=1)
    else:
        digits = _hex_digits(values, width)
    data = pa.py_buffer(np.ascontiguousarray(digits).tobytes())
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int64) * width).tobytes())
    return pa.Array.from_buffers(pa.large_string(), n, [None, offsets, data])


def hex_ids(values: np.ndarray, width: int = 16, prefix: int = 0) -> np.ndarray:
    """Lower-case hex strings of non-negative integers, zero-padded to ``width``."""
    return np.asarray(hex_ids_arrow(values, width, prefix).to_pylist(), dtype=object)


# ----------------------------------------------------------------------------- result
@dataclass
class SimulationResult:
    spans: pd.DataFrame
    shocks: pd.DataFrame
    config: SimulationConfig
    stats: dict

    def summary(self) -> str:
        s = self.stats
        return (
            f"{s['n_requests']} requests, {s['n_spans']} spans, {s['failed_requests']} failed, "
            f"{s['wall_s']:.2f} s wall ({s['requests_per_min_wall']:.3g} requests/min)"
        )


def _to_seconds(x, t0: pd.Timestamp) -> float:
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    ts = pd.Timestamp(x)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return (ts.value - t0.value) / 1e9  # integers: no Timedelta overflow


def _time_range_us(base_ns: int) -> tuple[int, int]:
    """Microseconds from ``base_ns`` to the first / last nanosecond timestamp pandas can hold."""
    return (pd.Timestamp.min.value - base_ns) // 1000 + 1, (pd.Timestamp.max.value - base_ns) // 1000 - 1


def _check_time_range(sec, base_ns: int, what: str) -> None:
    """Seconds from ``base_ns`` must give timestamps within 1677-09-21 .. 2262-04-11 (EconomyError)."""
    sec = np.asarray(sec, float)
    us = np.round(sec[np.isfinite(sec)] * 1e6)
    lo, hi = _time_range_us(base_ns)
    bad = (us < lo) | (us > hi)
    if bad.any():
        x = float(us[bad][np.argmax(np.abs(us[bad]))]) / 1e6
        raise EconomyError(
            f"{what}: {x:.6g} s from the first arrival is outside the timestamps pandas can hold "
            f"({pd.Timestamp.min:%Y-%m-%d} .. {pd.Timestamp.max:%Y-%m-%d})"
        )


def simulate(
    config: SimulationConfig | None = None,
    arrivals=None,
    *,
    seed: int = 0,
    time_scale: float = 1.0,
    repeat: int = 1,
    max_requests: int | None = None,
    progress: bool = False,
    emit_spans: bool = True,
    _span_capacity: int | None = None,
) -> SimulationResult:
    """Run the discrete-event simulation.

    Parameters
    ----------
    config : the DAG and shocks (default :meth:`SimulationConfig.default`).
    arrivals : DataFrame (``start_ts``, ``input_tokens``, ``output_tokens``; a span table gives
        one request per trace, see :func:`_request_arrivals`) or a trace file (Azure, any span format).
    seed : random seed (routing, branching, backoff jitter, exponential service), 0 <= seed < 2**32;
        it is part of every trace and span id, so runs with different seeds can be concatenated.
    time_scale : arrivals are compressed by this factor (2 = twice the rate).
    repeat : replay the trace this many times back to back (long runs).
    max_requests : cut the arrivals.
    progress : show a tqdm bar for the phases of long runs.
    emit_spans : build the span DataFrame (False: statistics only, for speed tests).

    Outage / rate-limit / SLO-change times are seconds from the first arrival, or
    timestamps. Returns :class:`SimulationResult` with ``spans``, ``shocks`` and ``stats``.
    """
    from tqdm.auto import tqdm

    from dsge_agents.traces._simkernel import simulate_kernel

    cfg = config or SimulationConfig.default()
    cfg.validate()
    bar = tqdm(total=4, desc="simulate-traces", disable=not progress)
    if arrivals is None:
        raise TraceValidationError("simulate needs arrivals (a trace file or DataFrame)")
    seed = _integer(seed, "seed", lo=0, hi=1 << 32)  # Numba's np.random.seed takes 32 bits
    time_scale = _number(time_scale, "time_scale", lo=0.0, strict=True)
    repeat = _integer(repeat, "repeat", lo=1)
    if max_requests is not None:
        max_requests = _integer(max_requests, "max_requests", lo=1)
    tns, tin, tout = _request_arrivals(_arrivals_frame(arrivals), cfg.agents)
    order = np.argsort(tns, kind="stable")
    t0 = pd.Timestamp(int(tns[order[0]]), tz="UTC")
    t_rel = (tns[order] - t0.value) / 1e9
    tin, tout = tin[order], tout[order]
    t_rel = t_rel / time_scale
    if repeat > 1:
        span = (t_rel[-1] if len(t_rel) else 0.0) + (np.mean(np.diff(t_rel)) if len(t_rel) > 1 else 1.0)
        t_rel = np.concatenate([t_rel + k * span for k in range(repeat)])
        tin, tout = np.tile(tin, repeat), np.tile(tout, repeat)
    if max_requests is not None:
        t_rel, tin, tout = t_rel[:max_requests], tin[:max_requests], tout[:max_requests]
    n_req = len(t_rel)
    bar.update(1)

    # --- compile the DAG
    agents = cfg.agents
    aidx = {a.name: i for i, a in enumerate(agents)}
    sidx = {s.name: i for i, s in enumerate(cfg.stages)}
    entry = sidx[cfg.entry] if cfg.entry else 0
    # renumber so the entry stage is 0
    perm = [entry] + [i for i in range(len(cfg.stages)) if i != entry]
    stages = [cfg.stages[i] for i in perm]
    sidx = {s.name: i for i, s in enumerate(stages)}
    stage_ptr = np.zeros(len(stages) + 1, np.int64)
    stage_agents, edge_to, edge_cum = [], [], []
    edge_ptr = np.zeros(len(stages) + 1, np.int64)
    for i, s in enumerate(stages):
        stage_agents += [aidx[a.name] for a in s.agents]
        stage_ptr[i + 1] = len(stage_agents)
        c = 0.0
        for nx, p in s.next.items():
            c += p
            edge_to.append(sidx[nx])
            edge_cum.append(c)
        edge_ptr[i + 1] = len(edge_to)
    f = lambda attr: np.array([getattr(a, attr) for a in agents], dtype=float)  # noqa: E731
    servers = np.array([a.servers for a in agents], dtype=np.int64)
    svc_kind = np.array([1 if a.service == "exponential" else 0 for a in agents], dtype=np.int64)
    # epochs of routing shares and timeout
    for ch in cfg.slo_changes:
        _check_time_range([_to_seconds(ch.at, t0)], t0.value, f"SLOChange at={ch.at!r}")
    changes = sorted(cfg.slo_changes, key=lambda c: _to_seconds(c.at, t0))
    ep_t = [-np.inf]
    share = [f("share")]
    tmo = [np.inf if cfg.timeout_s is None else float(cfg.timeout_s)]
    for ch in changes:
        row = share[-1].copy()
        for a, w in (ch.shares or {}).items():
            row[aidx[a]] = w
        for st in stages:
            if sum(row[aidx[a.name]] for a in st.agents) <= 0:
                raise EconomyError(
                    f"SLOChange at={ch.at!r}: routing shares of stage {st.name!r} are all zero from then on"
                )
        ep_t.append(_to_seconds(ch.at, t0))
        share.append(row)
        tmo.append(tmo[-1] if ch.timeout_s is None else float(ch.timeout_s))
    for sh in list(cfg.outages) + list(cfg.rate_limits):
        what = f"{type(sh).__name__}({sh.agent!r}, {sh.start!r}, {sh.end!r})"
        _check_time_range([_to_seconds(sh.start, t0), _to_seconds(sh.end, t0)], t0.value, what)
        if not _to_seconds(sh.start, t0) < _to_seconds(sh.end, t0):
            raise EconomyError(
                f"{type(sh).__name__}({sh.agent!r}, {sh.start!r}, {sh.end!r}): start must be before end"
            )
    cap_t, cap_agent, cap_delta = [], [], []
    for o in cfg.outages:
        a = aidx[o.agent]
        down = o.servers_down(agents[a].servers)
        cap_t += [_to_seconds(o.start, t0), _to_seconds(o.end, t0)]
        cap_agent += [a, a]
        cap_delta += [-down, down]
    rl = cfg.rate_limits
    bar.update(1)
    t_start = time.perf_counter()

    def run_kernel(scap):
        return simulate_kernel(
            t_rel.astype(np.float64),
            tin.astype(np.float64),
            tout.astype(np.float64),
            stage_ptr,
            np.array(stage_agents, np.int64),
            edge_ptr,
            np.array(edge_to, np.int64),
            np.array(edge_cum, np.float64),
            servers,
            f("prefill_tps"),
            f("decode_tps"),
            f("overhead_s"),
            f("input_scale"),
            f("output_scale"),
            svc_kind,
            f("mean_service_s"),
            np.array(ep_t, np.float64),
            np.array(share, np.float64),
            np.array(tmo, np.float64),
            np.array(cap_t, np.float64),
            np.array(cap_agent, np.int64),
            np.array(cap_delta, np.int64),
            np.array([aidx[r.agent] for r in rl], np.int64),
            np.array([_to_seconds(r.start, t0) for r in rl], np.float64),
            np.array([_to_seconds(r.end, t0) for r in rl], np.float64),
            np.array([int(r.max_per_s) for r in rl], np.int64),
            int(t0.value % 1_000_000_000),
            int(cfg.retry.max_retries),
            float(cfg.retry.backoff_s),
            float(cfg.retry.multiplier),
            float(cfg.retry.jitter),
            int(seed),
            64,
            scap,
        )

    visits = np.zeros(len(stages))
    visits[0] = 1.0
    for _ in range(len(stages)):  # propagate along the DAG (acyclic: converges in <= S passes)
        nv = np.zeros(len(stages))
        nv[0] = 1.0
        for i_s, st in enumerate(stages):
            for nx, pr in st.next.items():
                nv[sidx[nx]] += visits[i_s] * pr
        visits = nv
    factor = 1.0 + (
        cfg.retry.max_retries
        if (
            cfg.rate_limits
            or cfg.timeout_s is not None
            or any(c.timeout_s is not None for c in cfg.slo_changes)
        )
        else 0
    )
    scap = int(n_req * visits.sum() * min(factor, 2.0) * 1.2) + 1024
    if _span_capacity is not None:  # testing hook: force reruns with more room
        scap = int(_span_capacity)
    while True:
        out = run_kernel(scap)
        if not out[-1]:
            break
        scap *= 2
    kernel_s = time.perf_counter() - t_start
    (
        sp_req,
        sp_agent,
        sp_stage,
        sp_start,
        sp_svc,
        sp_end,
        sp_ttft,
        sp_in,
        sp_out,
        sp_err,
        req_end,
        req_failed,
    ) = out[:-1]
    # time in queue: until service starts, or until the timeout for abandoned calls (error 2);
    # NaN for rate-limited calls (error 1), which never joined the queue
    sp_wait = np.where(sp_err == 2, sp_end - sp_start, sp_svc - sp_start)
    bar.update(1)
    spans = (
        _build_spans(
            cfg,
            agents,
            stages,
            t0,
            t_rel,
            seed,
            sp_req,
            sp_agent,
            sp_stage,
            sp_start,
            sp_wait,
            sp_end,
            sp_ttft,
            sp_in,
            sp_out,
            sp_err,
            req_end,
            req_failed,
        )
        if emit_spans
        else None
    )
    shocks = _shock_table(cfg, t0)
    bar.update(1)
    bar.close()
    wall = time.perf_counter() - t_start
    stats = {
        "n_requests": n_req,
        "n_spans": int(len(sp_req) + n_req),
        "failed_requests": int(req_failed.sum()),
        "kernel_s": kernel_s,
        "wall_s": wall,
        "requests_per_min_wall": n_req / max(wall, 1e-9) * 60.0,
        # calls that joined a queue: served ones until service, timed-out ones until the timeout
        "mean_wait_s": float(np.nanmean(sp_wait)) if np.isfinite(sp_wait).any() else float("nan"),
        "horizon_s": float(t_rel[-1]) if n_req else 0.0,
        "origin": t0,
    }
    return SimulationResult(spans=spans, shocks=shocks, config=cfg, stats=stats)


def _build_spans(
    cfg,
    agents,
    stages,
    t0,
    t_rel,
    seed,
    sp_req,
    sp_agent,
    sp_stage,
    sp_start,
    sp_wait,
    sp_end,
    sp_ttft,
    sp_in,
    sp_out,
    sp_err,
    req_end,
    req_failed,
) -> pd.DataFrame:
    """Assemble root + call spans as one Arrow table (fast string columns), sorted by start."""
    import pyarrow as pa

    n_req, ns = len(t_rel), len(sp_req)
    n = n_req + ns
    base_ns = t0.value

    def ts(sec):
        sec = np.asarray(sec, float)
        _check_time_range(
            sec,
            base_ns,
            "simulated time (long rate-limit windows, retries and backoff, time_scale or repeat "
            "can push calls past the timestamp range)",
        )
        fin = np.isfinite(sec)
        v = base_ns + np.where(fin, np.round(np.where(fin, sec, 0) * 1e6), 0).astype(np.int64) * 1000
        return pa.array(v, mask=~fin, type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))

    def dict_col(idx, labels, mask=None):
        labels = [("" if x is None else str(x)) for x in labels]
        arr = pa.DictionaryArray.from_arrays(pa.array(np.asarray(idx, np.int32), mask=mask), pa.array(labels))
        return arr.cast(pa.string())

    names = [a.name for a in agents]
    n_ag = len(agents)
    pin = np.array([a.price_in for a in agents], dtype=float)
    pout = np.array([a.price_out for a in agents], dtype=float)
    pcall = np.array([a.cost_per_call for a in agents], dtype=float)
    ok = sp_err == 0
    cost = np.where(ok, (sp_in * pin[sp_agent] + sp_out * pout[sp_agent]) / 1e6 + pcall[sp_agent], 0.0)
    # rows: roots then calls, put in start-time order on the numeric arrays (no string shuffling)
    order = np.argsort(np.r_[t_rel, sp_start], kind="stable")
    is_root = np.r_[np.ones(n_req, bool), np.zeros(ns, bool)][order]
    req_of = np.r_[np.arange(n_req), sp_req][order]
    if max(n_req, ns) >= _SPAN_INDEX_LIMIT:
        raise EconomyError(
            f"{max(n_req, ns)} spans of one kind exceed the span-id space of one run ({_SPAN_INDEX_LIMIT}); "
            "split the arrivals into several runs (or use emit_spans=False)"
        )
    root_no = _span_ids(np.arange(n_req), 1, seed)
    span_no = np.r_[root_no, _span_ids(np.arange(ns), 2, seed)][order]
    ag = np.r_[np.full(n_req, n_ag), sp_agent][order]  # index n_ag = the orchestrator
    failed = np.r_[req_failed == 1, ~ok][order]
    err_idx = np.r_[np.where(req_failed == 1, 3, 0), sp_err][order]
    stage = np.r_[np.zeros(n_req, np.int64), sp_stage][order]
    start = np.r_[t_rel, sp_start][order]
    end = np.r_[req_end, sp_end][order]
    ttft = np.r_[np.full(n_req, np.nan), np.where(ok, sp_ttft, np.nan)][order]
    tin = np.r_[np.zeros(n_req, np.int64), sp_in][order]
    tout = np.r_[np.zeros(n_req, np.int64), sp_out][order]
    cost = np.r_[np.full(n_req, np.nan), cost][order]
    wait = np.r_[np.full(n_req, np.nan), sp_wait][order]
    trace = hex_ids_arrow(req_of, 32, seed)
    span = hex_ids_arrow(span_no, 16)
    parent = hex_ids_arrow(root_no[req_of], 16)
    parent = pa.compute.if_else(pa.array(is_root), pa.scalar(None, pa.large_string()), parent)
    models = [a.model for a in agents] + [None]
    provs = [a.provider for a in agents] + [None]
    model_mask = np.array([m is None for m in models])[ag]
    prov_mask = np.array([p is None for p in provs])[ag]
    ints = lambda x, m: pa.array(np.asarray(x, np.int64), mask=m)  # noqa: E731
    tbl = pa.table(
        {
            "trace_id": trace,
            "span_id": span,
            "parent_span_id": parent,
            "name": dict_col(ag, [f"chat {x}" for x in names] + [f"invoke_agent {cfg.orchestrator}"]),
            "operation": dict_col(is_root.astype(np.int32), ["chat", "invoke_agent"]),
            "agent_name": dict_col(ag, names + [cfg.orchestrator]),
            "provider": dict_col(ag, provs, mask=prov_mask),
            "model": dict_col(ag, models, mask=model_mask),
            "start_ts": ts(start),
            "end_ts": ts(end),
            "ttft_s": ttft,
            "input_tokens": ints(tin, is_root),
            "output_tokens": ints(tout, is_root),
            "cached_input_tokens": pa.nulls(n, pa.int64()),
            "cost_usd": cost,
            "status": dict_col(failed.astype(np.int32), ["ok", "error"]),
            "error_type": dict_col(
                err_idx, ["", "rate_limited", "timeout", "retries_exhausted"], mask=err_idx == 0
            ),
            "stage": dict_col(stage, [s.name for s in stages], mask=is_root),
            "queue_wait_s": wait,
        }
    )
    df = tbl.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return df[CANONICAL_COLUMNS + ["stage", "queue_wait_s"]]


def _shock_table(cfg: SimulationConfig, t0: pd.Timestamp) -> pd.DataFrame:
    rows = []

    def ts(x):
        sec = _to_seconds(x, t0)
        _check_time_range([sec], t0.value, f"shock time {x!r}")
        return t0 + pd.to_timedelta(sec, unit="s")

    servers = {a.name: a.servers for a in cfg.agents}
    for o in cfg.outages:
        c = servers[o.agent]
        down = o.servers_down(c)
        rows.append(
            {
                "shock": "outage",
                "agent": o.agent,
                "start_ts": ts(o.start),
                "end_ts": ts(o.end),
                "value": down / c,  # the fraction actually down (whole servers)
                "detail": f"{down} of {c} servers down (requested fraction {o.fraction:g})",
            }
        )
    for r in cfg.rate_limits:
        rows.append(
            {
                "shock": "rate_limit",
                "agent": r.agent,
                "start_ts": ts(r.start),
                "end_ts": ts(r.end),
                "value": float(r.max_per_s),
                "detail": f"max {r.max_per_s} calls/s",
            }
        )
    for c in cfg.slo_changes:
        parts = []
        if c.shares:
            parts.append("shares " + ", ".join(f"{k}={v:g}" for k, v in c.shares.items()))
        if c.timeout_s is not None:
            parts.append(f"timeout {c.timeout_s:g} s")
        for a in c.shares or {None: None}:
            rows.append(
                {
                    "shock": "slo_change",
                    "agent": a,
                    "start_ts": ts(c.at),
                    "end_ts": pd.NaT,
                    "value": (
                        float(c.shares[a])
                        if a is not None
                        else (float(c.timeout_s) if c.timeout_s is not None else np.nan)
                    ),
                    "detail": "; ".join(parts),
                }
            )
    df = pd.DataFrame(rows, columns=["shock", "agent", "start_ts", "end_ts", "value", "detail"])
    for c in ("start_ts", "end_ts"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean waiting time in queue of M/M/c: W_q = C(c, a)/(cμ − λ), a = λ/μ (Erlang C).

    C(c, a) = [a^c/c! · c/(c − a)] / [Σ_{k<c} a^k/k! + a^c/c! · c/(c − a)].
    """
    a = lam / mu
    if a >= c:
        return math.inf
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) * c / (c - a)
    return (top / (s + top)) / (c * mu - lam)
