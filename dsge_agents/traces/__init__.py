"""Traces layer (DESIGN §6): read agent-platform traces, validate them, aggregate them into
per-period panels (DuckDB or Dask), project within-window trajectories with SFSL, and simulate
span traces from real arrivals.

>>> from dsge_agents.traces import load_spans, aggregate          # doctest: +SKIP
>>> spans, report = load_spans(["otel.json", "langfuse.csv"], on_error="quarantine")
>>> panel = aggregate(spans, "1min"); panel.tidy.head()
>>> from dsge_agents.traces import ingest_files                    # doctest: +SKIP
>>> panel, report = ingest_files(["big.csv", "more.parquet"], "1min", on_error="quarantine")
"""

from dsge_agents.traces.aggregate import METRICS, TracePanel, aggregate, request_table
from dsge_agents.traces.ingest import ingest_files
from dsge_agents.traces.readers import FORMATS, TraceFormatError, apply_price_table, detect_format, read_spans
from dsge_agents.traces.schema import CANONICAL_COLUMNS, canonical_equal, empty_spans, to_canonical
from dsge_agents.traces.simulate import (
    AgentSpec,
    Outage,
    RateLimit,
    RetryPolicy,
    SimulationConfig,
    SimulationResult,
    SLOChange,
    StageSpec,
    erlang_c_wait,
    poisson_arrivals,
    simulate,
)
from dsge_agents.traces.validate import PROBLEMS, ValidationReport, load_spans, validate
from dsge_agents.traces.writers import (
    write_canonical,
    write_langfuse,
    write_langsmith,
    write_otlp_json,
    write_phoenix,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "FORMATS",
    "METRICS",
    "PROBLEMS",
    "AgentSpec",
    "Outage",
    "RateLimit",
    "RetryPolicy",
    "SLOChange",
    "SimulationConfig",
    "SimulationResult",
    "StageSpec",
    "TraceFormatError",
    "TracePanel",
    "ValidationReport",
    "aggregate",
    "apply_price_table",
    "canonical_equal",
    "detect_format",
    "empty_spans",
    "erlang_c_wait",
    "ingest_files",
    "load_spans",
    "poisson_arrivals",
    "read_spans",
    "request_table",
    "simulate",
    "to_canonical",
    "validate",
    "write_canonical",
    "write_langfuse",
    "write_langsmith",
    "write_otlp_json",
    "write_phoenix",
]


def __getattr__(name):  # SFSL helpers load the economy basis lazily
    if name in ("TraceSFSL", "project_spans", "project_panel"):
        from dsge_agents.traces import sfsl

        return getattr(sfsl, name)
    raise AttributeError(f"module 'dsge_agents.traces' has no attribute {name!r}")
