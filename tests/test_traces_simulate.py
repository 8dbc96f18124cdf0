"""Trace simulator: queueing theory checks, Little's law, shocks, retries (issue 4, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import EconomyError
from dsge_agents.traces.aggregate import aggregate
from dsge_agents.traces.simulate import (
    AgentSpec,
    Outage,
    RateLimit,
    RetryPolicy,
    SimulationConfig,
    SLOChange,
    StageSpec,
    erlang_c_wait,
    hex_ids,
    poisson_arrivals,
    simulate,
)


def test_erlang_c_formula_values():
    # M/M/1: W_q = ρ/(μ − λ); M/M/2 with a = 1: C = 1/3, W_q = C/(2μ − λ)
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(1.0)
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx((1 / 3) / 1.0)
    assert erlang_c_wait(3.0, 1.0, 3) == float("inf")


@pytest.mark.parametrize("c,lam,mu", [(4, 3.0, 1.0), (1, 0.6, 1.0)])
def test_mmc_mean_wait_matches_erlang_c(c, lam, mu):
    n = 1_000_000
    res = simulate(
        SimulationConfig.single_queue(c, 1.0 / mu),
        poisson_arrivals(lam, n, seed=11),
        seed=12,
        emit_spans=False,
    )
    w = res.stats["mean_wait_s"]
    assert w == pytest.approx(erlang_c_wait(lam, mu, c), rel=0.03)


def test_span_waits_and_service_are_consistent():
    res = simulate(SimulationConfig.single_queue(2, 0.5), poisson_arrivals(3.0, 20_000, seed=1), seed=2)
    s = res.spans[res.spans["operation"] == "chat"]
    assert len(s) == 20_000
    assert s["queue_wait_s"].mean() == pytest.approx(res.stats["mean_wait_s"], rel=1e-12)
    svc = (s["end_ts"] - s["start_ts"]).dt.total_seconds() - s["queue_wait_s"]
    assert svc.mean() == pytest.approx(0.5, rel=0.03)  # exponential service of mean 0.5 s
    assert (svc > -1e-6).all()
    # FCFS with 2 servers: never more than 2 calls in service at once
    t0 = s["start_ts"].min()
    st = np.round(((s["start_ts"] - t0).dt.total_seconds() + s["queue_wait_s"]).to_numpy() * 1e6)
    en = np.round((s["end_ts"] - t0).dt.total_seconds().to_numpy() * 1e6)
    kind = np.r_[np.ones(len(s)), -np.ones(len(s))]
    order = np.lexsort((kind, np.r_[st, en]))  # at equal times the end comes first
    assert np.cumsum(kind[order]).max() <= 2


@pytest.fixture(scope="module")
def azure_run(shared_data):
    return simulate(
        SimulationConfig.default(), shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv", seed=3
    )


def test_littles_law_on_simulated_output(azure_run):
    spans = azure_run.spans
    panel = aggregate(spans, "1min", requests=False).wide
    for agent in ("orchestrator", "solve_large", "triage_small"):
        w = panel.xs(agent, level="agent")
        a = spans[spans["agent_name"] == agent]
        lat = (a["end_ts"] - a["start_ts"]).dt.total_seconds()
        # over a window holding every span, ∫N(t)dt = Σ sojourn times exactly
        assert (w["concurrency"].sum() * 60.0) == pytest.approx(lat.sum(), rel=1e-9)
        # interior window: L = λ W
        mid = w.iloc[5:-5]
        lam = mid["arrivals"].sum() / (len(mid) * 60.0)
        W = (mid["latency_mean"] * mid["completions"]).sum() / mid["completions"].sum()
        assert mid["concurrency"].mean() == pytest.approx(lam * W, rel=0.03)


def test_default_dag_routing_and_visits(azure_run):
    s = azure_run.spans
    n = azure_run.stats["n_requests"]
    assert n == 19366 and azure_run.stats["failed_requests"] == 0
    per_stage = s.groupby("stage")["trace_id"].nunique() / n
    assert per_stage["triage"] == 1.0
    assert per_stage["solve"] == pytest.approx(0.85, abs=0.015)
    assert per_stage["review"] == pytest.approx(0.85 * 0.6, abs=0.015)
    share = (s["agent_name"] == "triage_small").sum() / (s["stage"] == "triage").sum()
    assert share == pytest.approx(0.7, abs=0.015)
    # token-driven service: prefill + decode time of the call
    c = s[(s["agent_name"] == "solve_large") & (s["status"] == "ok")]
    svc = (c["end_ts"] - c["start_ts"]).dt.total_seconds() - c["queue_wait_s"]
    exp = 0.08 + c["input_tokens"] / 5000.0 + c["output_tokens"] / 40.0
    np.testing.assert_allclose(svc.to_numpy(), exp.to_numpy(float), atol=2e-6)
    np.testing.assert_allclose(c["cost_usd"], (c["input_tokens"] * 3.0 + c["output_tokens"] * 15.0) / 1e6)


def _two_agent_cfg(**kw):
    return SimulationConfig(
        stages=[
            StageSpec(
                "s",
                [
                    AgentSpec("a", servers=3, service="exponential", mean_service_s=1.0, share=0.5),
                    AgentSpec("b", servers=3, service="exponential", mean_service_s=1.0, share=0.5),
                ],
            )
        ],
        **kw,
    )


def test_outage_blocks_new_service_and_is_recorded():
    cfg = _two_agent_cfg(outages=[Outage("a", 100.0, 160.0, 1.0)])
    arr = poisson_arrivals(2.0, 800, seed=4)
    res = simulate(cfg, arr, seed=5)
    s = res.spans[res.spans["agent_name"] == "a"]
    t0 = res.stats["origin"]
    svc_start = ((s["start_ts"] - t0).dt.total_seconds() + s["queue_wait_s"]).to_numpy()
    assert not ((svc_start >= 100.0 + 1e-6) & (svc_start < 160.0 - 1e-6)).any()
    waits_in = s.loc[((s["start_ts"] - t0).dt.total_seconds().between(100, 150)), "queue_wait_s"]
    assert waits_in.min() > 5.0  # everyone waits for the end of the outage
    sh = res.shocks
    assert len(sh) == 1 and sh["shock"].iloc[0] == "outage" and sh["agent"].iloc[0] == "a"
    assert sh["start_ts"].iloc[0] == t0 + pd.Timedelta(seconds=100)
    assert sh["end_ts"].iloc[0] == t0 + pd.Timedelta(seconds=160) and sh["value"].iloc[0] == 1.0


def test_rate_limit_and_retries_with_backoff():
    cfg = _two_agent_cfg(
        rate_limits=[RateLimit("a", 50.0, 150.0, 1)],
        retry=RetryPolicy(max_retries=2, backoff_s=0.5, multiplier=2.0, jitter=0.0),
    )
    res = simulate(cfg, poisson_arrivals(4.0, 1200, seed=6), seed=7)
    s = res.spans
    t0 = res.stats["origin"]
    a = s[(s["agent_name"] == "a")]
    rel = (a["start_ts"] - t0).dt.total_seconds()
    inwin = a[(rel >= 50) & (rel < 150)]
    ok_calls = inwin[inwin["status"] == "ok"]
    ok_per_sec = ok_calls.groupby(ok_calls["start_ts"].dt.floor("s"))["span_id"].size()  # calendar seconds
    assert ok_per_sec.max() <= 1
    lim = a[a["error_type"] == "rate_limited"]
    assert len(lim) > 20 and ((lim["end_ts"] - lim["start_ts"]).dt.total_seconds() == 0).all()
    # every rejected call is followed by a retry 0.5 s (first) or 1 s (second) later in the same trace
    calls = s[s["operation"] == "chat"].sort_values("start_ts")
    for _, g in list(calls[calls["trace_id"].isin(lim["trace_id"])].groupby("trace_id"))[:30]:
        d = g["start_ts"].diff().dt.total_seconds().dropna().to_numpy()
        assert set(np.round(d, 6)) <= {0.5, 1.0}
    # exhausted retries fail the request
    roots = s[s["operation"] == "invoke_agent"]
    failed = roots[roots["status"] == "error"]
    assert res.stats["failed_requests"] == len(failed) > 0
    assert (failed["error_type"] == "retries_exhausted").all()
    tries = calls[calls["trace_id"].isin(failed["trace_id"])].groupby("trace_id").size()
    assert (tries == 3).all()


def test_slo_change_timeout_and_shares():
    cfg = _two_agent_cfg(
        slo_changes=[SLOChange(at=200.0, shares={"a": 0.9, "b": 0.1}, timeout_s=0.5)],
        retry=RetryPolicy(max_retries=0),
    )
    cfg.stages[0].agents[0].servers = 2  # a is overloaded after the switch
    res = simulate(cfg, poisson_arrivals(3.0, 1500, seed=8), seed=9)
    s = res.spans[res.spans["operation"] == "chat"]
    rel = (s["start_ts"] - res.stats["origin"]).dt.total_seconds()
    before, after = s[rel < 200], s[rel >= 200]
    assert (before["agent_name"] == "a").mean() == pytest.approx(0.5, abs=0.06)
    assert (after["agent_name"] == "a").mean() == pytest.approx(0.9, abs=0.04)
    to = after[after["error_type"] == "timeout"]
    assert len(to) > 10
    np.testing.assert_allclose((to["end_ts"] - to["start_ts"]).dt.total_seconds(), 0.5, atol=2e-6)
    served = after[after["status"] == "ok"]
    assert served["queue_wait_s"].max() <= 0.5 + 1e-9
    assert before["error_type"].isna().all()
    sh = res.shocks
    assert set(sh["shock"]) == {"slo_change"} and set(sh["agent"]) == {"a", "b"}


def test_seed_reproducibility():
    cfg = SimulationConfig.default()
    arr = poisson_arrivals(5.0, 2000, seed=1)
    a = simulate(cfg, arr, seed=1).spans
    b = simulate(cfg, arr, seed=1).spans
    c = simulate(cfg, arr, seed=2).spans
    pd.testing.assert_frame_equal(a, b)
    assert not a["agent_name"].equals(c["agent_name"])


def test_config_errors():
    bad = SimulationConfig(
        stages=[
            StageSpec("x", [AgentSpec("a")], next={"y": 1.0}),
            StageSpec("y", [AgentSpec("b")], next={"x": 0.5}),
        ]
    )
    with pytest.raises(EconomyError, match="cycle"):
        simulate(bad, poisson_arrivals(1.0, 10))
    with pytest.raises(EconomyError, match="unknown agent"):
        simulate(_two_agent_cfg(outages=[Outage("zz", 0, 1)]), poisson_arrivals(1.0, 10))
    with pytest.raises(EconomyError, match="sum to <= 1"):
        simulate(
            SimulationConfig(
                stages=[
                    StageSpec("x", [AgentSpec("a")], next={"x2": 0.8, "x3": 0.5}),
                    StageSpec("x2", [AgentSpec("b")]),
                    StageSpec("x3", [AgentSpec("c")]),
                ]
            ),
            poisson_arrivals(1.0, 10),
        )


def test_from_orchestrated_economy_yaml(models_dir):
    path = models_dir / "orchestrated_default.yaml"
    if not path.exists():
        pytest.skip("orchestrated_default.yaml not present")
    cfg = SimulationConfig.from_economy(path)
    assert [s.name for s in cfg.stages] == ["plan", "act", "verify"]
    assert cfg.stages[1].next == {"verify": 0.7}
    plan_api = cfg.stages[0].agents[0]
    assert plan_api.name == "plan_api" and plan_api.servers == int(np.ceil(400 / 60 * 2.85))
    res = simulate(cfg, poisson_arrivals(330 / 60, 6000, seed=2), seed=3)
    s = res.spans[res.spans["operation"] == "chat"]
    svc = (s["end_ts"] - s["start_ts"]).dt.total_seconds() - s["queue_wait_s"]
    for a in ("plan_api", "act_llama"):
        tau = {"plan_api": 2.85, "act_llama": 12.9}[a]
        assert svc[s["agent_name"] == a].mean() == pytest.approx(tau, rel=0.06)
    ver = s[s["stage"] == "verify"]["trace_id"].nunique() / res.stats["n_requests"]
    assert ver == pytest.approx(0.7, abs=0.02)


def test_hex_ids():
    ids = hex_ids(np.array([0, 1, 255, 2**63]), 16)
    assert list(ids) == ["0000000000000000", "0000000000000001", "00000000000000ff", "8000000000000000"]
    assert hex_ids(np.array([10]), 32, prefix=3)[0] == "0000000000000003000000000000000a"


def test_rerun_with_more_span_room_gives_the_same_run():
    cfg = SimulationConfig.default()
    cfg.rate_limits = [RateLimit("triage_small", 10, 40, 1)]
    arr = poisson_arrivals(5.0, 600, seed=5)
    a = simulate(cfg, arr, seed=6).spans
    b = simulate(cfg, arr, seed=6, _span_capacity=20).spans  # overflows several times, reruns
    pd.testing.assert_frame_equal(a, b)


def _one_stage(*agents, **kw):
    return SimulationConfig(stages=[StageSpec("s", list(agents))], **kw)


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: _one_stage(AgentSpec("a", share=1.0), AgentSpec("b", share=-1.0)),
            r"'b': share must be >= 0",
        ),
        (
            lambda: _one_stage(AgentSpec("a", share=float("nan")), AgentSpec("b")),
            r"'a': share must be a finite",
        ),
        (lambda: _one_stage(AgentSpec("a", share=0.0), AgentSpec("b", share=0.0)), r"stage 's'.*all zero"),
        (
            lambda: _one_stage(
                AgentSpec("a"), AgentSpec("b"), slo_changes=[SLOChange(10, shares={"a": -5.0})]
            ),
            r"SLOChange at=10: share of 'a' must be >= 0",
        ),
        (
            lambda: _one_stage(
                AgentSpec("a"), AgentSpec("b"), slo_changes=[SLOChange(10, shares={"a": 0.0, "b": 0.0})]
            ),
            r"SLOChange at=10: routing shares of stage 's' are all zero",
        ),
        (lambda: _one_stage(AgentSpec("a"), outages=[Outage("a", 0, 10, -0.5)]), r"fraction must be >= 0"),
        (lambda: _one_stage(AgentSpec("a"), outages=[Outage("a", 0, 10, 1.5)]), r"fraction must be <= 1"),
        (
            lambda: _one_stage(AgentSpec("a"), outages=[Outage("a", 200, 100)]),
            r"Outage\('a', 200, 100\).*before end",
        ),
        (
            lambda: _one_stage(AgentSpec("a"), outages=[Outage("a", "2024-01-01T00:00:05Z", 3.0)]),
            r"Outage.*start must be before end",
        ),
        (
            lambda: _one_stage(AgentSpec("a"), outages=[Outage("a", float("nan"), 10)]),
            r"start must be a finite",
        ),
        (
            lambda: _one_stage(AgentSpec("a"), rate_limits=[RateLimit("a", 0, 10, -2)]),
            r"max_per_s must be an integer",
        ),
        (
            lambda: _one_stage(AgentSpec("a"), rate_limits=[RateLimit("a", 0, 10, 2.7)]),
            r"max_per_s must be an integer",
        ),
        (lambda: _one_stage(AgentSpec("a"), entry="nope"), r"entry stage 'nope' is not a stage"),
        (
            lambda: SimulationConfig(
                stages=[
                    StageSpec("a", [AgentSpec("x")], next={"b": float("nan")}),
                    StageSpec("b", [AgentSpec("y")]),
                ]
            ),
            r"branch probability to 'b' must be a finite",
        ),
        (lambda: _one_stage(AgentSpec("a", servers=0)), r"'a': servers must be an integer >= 1"),
        (lambda: _one_stage(AgentSpec("a", servers=2.5)), r"'a': servers must be an integer"),
        (lambda: _one_stage(AgentSpec("a", output_scale=-1.0)), r"output_scale must be >= 0"),
        (lambda: _one_stage(AgentSpec("a"), timeout_s=-5.0), r"timeout_s must be > 0"),
        (lambda: _one_stage(AgentSpec("a"), timeout_s=0.0), r"timeout_s must be > 0"),
        (
            lambda: _one_stage(AgentSpec("a"), slo_changes=[SLOChange(5, timeout_s=float("nan"))]),
            r"timeout_s",
        ),
        (lambda: _one_stage(AgentSpec("a"), retry=RetryPolicy(max_retries=-1)), r"retry.max_retries"),
    ],
)
def test_config_validation_names_the_bad_field(make, match):
    with pytest.raises(EconomyError, match=match):
        simulate(make(), poisson_arrivals(1.0, 10))


def test_infinite_speeds_are_allowed():
    cfg = _one_stage(AgentSpec("a", prefill_tps=np.inf, decode_tps=np.inf, overhead_s=0.25))
    s = simulate(cfg, poisson_arrivals(0.1, 20, seed=1)).spans
    c = s[s["operation"] == "chat"]
    svc = (c["end_ts"] - c["start_ts"]).dt.total_seconds() - c["queue_wait_s"]
    np.testing.assert_allclose(svc, 0.25, atol=2e-6)  # service = overhead only


def _three_arrivals(**cols):
    df = pd.DataFrame(
        {
            "start_ts": pd.to_datetime(
                ["2024-01-01 00:00:01", "2024-01-01 00:00:02", "2024-01-01 00:00:03"], utc=True
            ),
            "input_tokens": [100, 200, 300],
            "output_tokens": [10, 20, 30],
        },
        index=[10, 11, 12],
    )
    return df.assign(**cols)


@pytest.mark.parametrize(
    "arr,match",
    [
        (_three_arrivals(output_tokens=[10, 20, -30]), r"output_tokens must be non-negative finite.*row 12"),
        (
            _three_arrivals(output_tokens=[10, 20, np.inf]),
            r"output_tokens must be non-negative finite.*row 12",
        ),
        (_three_arrivals(input_tokens=["a", 200, "b"]), r"input_tokens must be non-negative.*rows 10, 12"),
        (_three_arrivals(input_tokens=[np.nan, 200, 300]), r"input_tokens is missing in row 10"),
        (_three_arrivals().drop(columns="output_tokens"), r"no output_tokens column"),
        (
            _three_arrivals(start_ts=["2024-01-01", "soon", None]),
            r"start_ts is missing or not a time in rows 11, 12",
        ),
        (_three_arrivals().head(0), r"arrivals are empty"),
    ],
)
def test_bad_arrivals_are_named_errors(arr, match):
    from dsge_agents.errors import TraceValidationError

    with pytest.raises(TraceValidationError, match=match):
        simulate(_one_stage(AgentSpec("a")), arr)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"time_scale": 0}, "time_scale must be > 0"),
        ({"time_scale": -2.0}, "time_scale must be > 0"),
        ({"time_scale": float("nan")}, "time_scale must be a finite"),
        ({"repeat": 0}, "repeat must be an integer >= 1"),
        ({"max_requests": -5}, "max_requests must be an integer >= 1"),
    ],
)
def test_bad_simulate_options_are_named_errors(kw, match):
    with pytest.raises(EconomyError, match=match):
        simulate(_one_stage(AgentSpec("a")), _three_arrivals(), **kw)


def test_accepted_inputs_give_spans_that_pass_validate(tmp_path):
    """Edge inputs that are accepted (zero tokens, one server, tiny timeout) give valid span tables."""
    from dsge_agents.traces import validate

    cfg = _one_stage(
        AgentSpec("a", servers=1, overhead_s=0.5), timeout_s=1e-3, retry=RetryPolicy(max_retries=1)
    )
    arr = poisson_arrivals(5.0, 300, seed=1, input_tokens=0, output_tokens=0)
    sp = simulate(cfg, arr, seed=2).spans
    assert (sp["error_type"] == "timeout").any()
    _, rep = validate(sp, on_error="quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.quarantined_rows == 0, rep.problems


def test_span_table_as_arrivals_recovers_request_tokens(tmp_path):
    """A simulated span table fed back as arrivals: one request per trace at its root's start,
    with the request tokens recovered from the calls (theory: a call records round(x·s); dividing by
    the agent's scale s gives x exactly for s >= 1 and within 0.5/s otherwise, so every call of the
    re-run records round(x·s) within 0.5 + 0.5·s/s_min tokens)."""
    from dsge_agents.errors import TraceValidationError
    from dsge_agents.traces.writers import write_canonical

    rng = np.random.default_rng(0)
    arr = poisson_arrivals(2.0, 400, seed=3)
    arr["input_tokens"] = rng.integers(50, 5000, len(arr))
    arr["output_tokens"] = rng.integers(5, 900, len(arr))
    cfg = SimulationConfig.default()
    cfg.rate_limits = [RateLimit("triage_small", 20, 60, 1)]  # some first calls fail (no output)
    first = simulate(cfg, arr, seed=4)
    s1 = first.spans
    roots = s1[s1["operation"] == "invoke_agent"].sort_values("start_ts")
    k1 = {t: k for k, t in enumerate(roots["trace_id"])}
    ok1 = s1[(s1["operation"] == "chat") & (s1["status"] == "ok")]
    served = np.zeros(len(arr), bool)  # requests with a successful call: their tokens are recoverable
    served[ok1["trace_id"].map(k1).unique()] = True
    solved = np.zeros(len(arr), bool)  # ... with one at output_scale 1 (solve): recovered exactly
    solved[ok1.loc[ok1["stage"] == "solve", "trace_id"].map(k1).unique()] = True
    assert 0 < (~served).sum() and 0 < (served & ~solved).sum() and solved.sum() > 200
    path = write_canonical(s1, tmp_path / "gen1.parquet")
    flat = s1.assign(parent_span_id=None)  # no parent links: still one request per trace
    scale_in = {a.name: a.input_scale for a in cfg.agents}
    scale_out = {a.name: a.output_scale for a in cfg.agents}
    for src in (s1, path, flat):
        again = simulate(SimulationConfig.default(), src, seed=5)
        assert again.stats["n_requests"] == len(arr)
        r2 = again.spans[again.spans["operation"] == "invoke_agent"].sort_values("start_ts")
        assert (r2["start_ts"].to_numpy() == roots["start_ts"].to_numpy()).all()
        k2 = {t: k for k, t in enumerate(r2["trace_id"])}  # k-th arrival = k-th original request
        c = again.spans[(again.spans["operation"] == "chat") & (again.spans["status"] == "ok")]
        k = c["trace_id"].map(k2).to_numpy()
        s_in, s_out = c["agent_name"].map(scale_in).to_numpy(), c["agent_name"].map(scale_out).to_numpy()
        x_in, x_out = arr["input_tokens"].to_numpy()[k], arr["output_tokens"].to_numpy()[k]
        y_out = c["output_tokens"].to_numpy(float)
        # entry agents have input_scale 1: input tokens recovered exactly for every request
        np.testing.assert_array_equal(c["input_tokens"].to_numpy(int), np.round(x_in * s_in))
        ex = solved[k]
        np.testing.assert_array_equal(y_out[ex], np.round(x_out[ex] * s_out[ex]))
        b = served[k] & ~solved[k]  # recovered from a triage call (scale 0.1): within 0.5/0.1 tokens
        assert (np.abs(y_out[b] - x_out[b] * s_out[b]) <= 0.5 + 5.0 * s_out[b] + 1e-9).all()
        assert (y_out[~served[k]] == 0).all()  # every call failed: no output tokens were recorded
    no_tokens = first.spans.assign(input_tokens=pd.NA)
    with pytest.raises(TraceValidationError, match="no input_tokens on any span of 400 trace"):
        simulate(cfg, no_tokens)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**63, 1.5, "3"])
def test_seed_must_be_a_32_bit_unsigned_integer(seed):
    with pytest.raises(EconomyError, match="seed must be an integer"):
        simulate(_one_stage(AgentSpec("a")), _three_arrivals(), seed=seed)


def test_largest_seed_gives_hex_trace_ids():
    sp = simulate(_one_stage(AgentSpec("a")), _three_arrivals(), seed=2**32 - 1).spans
    assert sp["trace_id"].str.fullmatch(r"00000000ffffffff[0-9a-f]{16}").all()


def test_runs_with_different_seeds_can_be_concatenated(tmp_path):
    from dsge_agents.traces import validate

    arr = poisson_arrivals(3.0, 300, seed=0)
    a = simulate(SimulationConfig.default(), arr, seed=1).spans
    b = simulate(SimulationConfig.default(), arr, seed=2).spans
    both = pd.concat([a, b], ignore_index=True)
    assert both["span_id"].is_unique and both["trace_id"].nunique() == 600
    # every call's parent is the root of its own trace
    roots = both[both["parent_span_id"].isna()].set_index("span_id")["trace_id"]
    calls = both[both["parent_span_id"].notna()]
    assert (roots.loc[calls["parent_span_id"]].to_numpy() == calls["trace_id"].to_numpy()).all()
    _, rep = validate(both, on_error="quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.quarantined_rows == 0, rep.problems
    assert (both["span_id"] != "0" * 16).all() and both["span_id"].str.fullmatch("[0-9a-f]{16}").all()


@pytest.mark.parametrize(
    "servers,fraction,down", [(1, 0.5, 1), (3, 0.5, 2), (4, 0.1, 0), (5, 0.5, 3), (10, 0.35, 4)]
)
def test_outage_takes_whole_servers_rounded_half_up_and_reports_them(servers, fraction, down):
    """Nearest whole number of servers, halves up; overloaded, exactly servers − down serve in the window."""
    cfg = _one_stage(
        AgentSpec("a", servers=servers, overhead_s=1.0, prefill_tps=np.inf, decode_tps=np.inf),
        outages=[Outage("a", 20.0, 60.0, fraction)],
        retry=RetryPolicy(max_retries=0),
    )
    if down == 0:
        with pytest.raises(EconomyError, match="rounds to no server down"):
            simulate(cfg, poisson_arrivals(1.0, 10))
        return
    res = simulate(cfg, poisson_arrivals(2.0 * servers, 100 * servers, seed=1), seed=1)
    c = res.spans[res.spans["operation"] == "chat"]
    t0 = res.stats["origin"]
    beg = ((c["start_ts"] - t0).dt.total_seconds() + c["queue_wait_s"]).to_numpy()
    end = (c["end_ts"] - t0).dt.total_seconds().to_numpy()
    grid = np.arange(21.5, 59.5, 0.25)  # after the calls in service at 20 s have finished
    busy = ((beg[:, None] <= grid) & (end[:, None] > grid)).sum(axis=0)
    assert busy.max() == servers - down and busy.min() == servers - down  # overloaded: all up servers busy
    sh = res.shocks.iloc[0]
    assert sh["value"] == pytest.approx(down / servers)
    assert sh["detail"].startswith(f"{down} of {servers} servers down")


def test_overlapping_outages_add_up_and_never_go_below_no_server():
    """Two outages of one 4-server agent: 3 down on [20, 60), 2 down on [40, 80). Down counts add
    (capped at all 4): 1 serves on [20, 40), none on [40, 60), 2 on [60, 80), all 4 after."""
    cfg = _one_stage(
        AgentSpec("a", servers=4, overhead_s=1.0, prefill_tps=np.inf, decode_tps=np.inf),
        outages=[Outage("a", 20.0, 60.0, 0.75), Outage("a", 40.0, 80.0, 0.5)],
        retry=RetryPolicy(max_retries=0),
    )
    res = simulate(cfg, poisson_arrivals(8.0, 800, seed=2), seed=2)
    c = res.spans[res.spans["operation"] == "chat"]
    t0 = res.stats["origin"]
    beg = ((c["start_ts"] - t0).dt.total_seconds() + c["queue_wait_s"]).to_numpy()
    end = (c["end_ts"] - t0).dt.total_seconds().to_numpy()
    for lo, hi, up in [(21.5, 39.5, 1), (41.5, 59.5, 0), (61.5, 79.5, 2), (81.5, 90.0, 4)]:
        grid = np.arange(lo, hi, 0.25)
        busy = ((beg[:, None] <= grid) & (end[:, None] > grid)).sum(axis=0)
        assert busy.min() == busy.max() == up, (lo, hi, busy.min(), busy.max())
    assert sorted(res.shocks["detail"].str.slice(0, 6)) == ["2 of 4", "3 of 4"]


def test_capacity_changes_win_ties_with_arrivals():
    """Outage on [5, 10): a call arriving at exactly 5 s waits for the end; capacity is back at 10 s first."""
    t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([0.0, 5.0, 10.0], unit="s")
    arr = pd.DataFrame({"start_ts": t, "input_tokens": 0, "output_tokens": 0})
    cfg = _one_stage(
        AgentSpec("a", servers=1, overhead_s=1.0, prefill_tps=np.inf, decode_tps=np.inf),
        outages=[Outage("a", 5.0, 10.0, 1.0)],
        retry=RetryPolicy(max_retries=0),
    )
    c = simulate(cfg, arr).spans.query("operation == 'chat'").sort_values("start_ts")
    # FCFS, 1 server, 1 s service: 0 s no wait; 5 s waits to 10 s; 10 s queues behind it to 11 s
    np.testing.assert_allclose(c["queue_wait_s"], [0.0, 5.0, 1.0], atol=1e-9)


def test_rate_limit_counts_calls_per_calendar_second():
    """Arrivals starting half-way into a second: accepted calls per calendar second (floor of start_ts)
    never exceed the limit, and at 10 calls/s offered the limit of 3 is reached in nearly every second."""
    cfg = _one_stage(
        AgentSpec("a", servers=50, overhead_s=0.1),
        rate_limits=[RateLimit("a", 50, 100, 3)],
        retry=RetryPolicy(max_retries=0),
    )
    arr = poisson_arrivals(10.0, 1500, seed=0, start="2024-01-01T00:00:00.5Z")
    res = simulate(cfg, arr, seed=0)
    s = res.spans[res.spans["operation"] == "chat"]
    sh = res.shocks.iloc[0]
    inwin = s[(s["start_ts"] >= sh["start_ts"]) & (s["start_ts"] < sh["end_ts"])]
    ok = inwin[inwin["status"] == "ok"]
    per_sec = ok.groupby(ok["start_ts"].dt.floor("s")).size()
    lo, hi = sh["start_ts"].ceil("s"), sh["end_ts"].floor("s")  # whole seconds inside the window
    full = per_sec[(per_sec.index >= lo) & (per_sec.index < hi)]
    assert per_sec.max() == 3 and len(full) >= 48 and (full == 3).mean() > 0.95
    assert (inwin["error_type"] == "rate_limited").sum() == len(inwin) - len(ok) > 0


def test_timed_out_calls_record_their_wait():
    """A call abandoned at the 5 s timeout waited 5 s; mean_wait_s counts it (censored at 5 s)."""
    cfg = _one_stage(
        AgentSpec("a", servers=1, overhead_s=1.0, prefill_tps=np.inf, decode_tps=np.inf),
        timeout_s=5.0,
        retry=RetryPolicy(max_retries=1, backoff_s=1.0, jitter=0.0),
    )
    res = simulate(cfg, poisson_arrivals(1.2, 1500, seed=0), seed=0)
    c = res.spans[res.spans["operation"] == "chat"]
    dur = (c["end_ts"] - c["start_ts"]).dt.total_seconds()
    to = c["error_type"] == "timeout"
    assert to.sum() > 50
    np.testing.assert_allclose(c.loc[to, "queue_wait_s"], 5.0, atol=1e-6)
    # independent of queue_wait_s: served calls waited their duration minus the 1 s service
    waits = np.where(to, dur, dur - 1.0)
    np.testing.assert_allclose(c["queue_wait_s"], waits, atol=2e-6)
    assert res.stats["mean_wait_s"] == pytest.approx(waits.mean(), abs=2e-6)


def test_times_past_the_timestamp_range_are_named_errors():
    arr = poisson_arrivals(1.0, 5, seed=0)
    # nobody gets through (N = 0) and 70 doublings of a 0.5 s backoff reach ~3e20 s: past 2262
    cfg = _one_stage(
        AgentSpec("a"), retry=RetryPolicy(max_retries=70, jitter=0.0), rate_limits=[RateLimit("a", 0, 5e9, 0)]
    )
    with pytest.raises(EconomyError, match="simulated time .* outside the timestamps pandas can hold"):
        simulate(cfg, arr)
    with pytest.raises(EconomyError, match=r"Outage\('a', 0, 1e\+30\): 1e\+30 s .* outside the timestamps"):
        simulate(_one_stage(AgentSpec("a"), outages=[Outage("a", 0, 1e30)]), arr)
    with pytest.raises(EconomyError, match=r"SLOChange at=-1000000000000.0: .* outside"):
        simulate(_one_stage(AgentSpec("a"), slo_changes=[SLOChange(-1e12, timeout_s=1.0)]), arr)
    # 20 doublings stay in range: the run completes and every call is rate limited
    cfg.retry = RetryPolicy(max_retries=20, jitter=0.0)
    sp = simulate(cfg, arr).spans
    assert (sp["end_ts"] >= sp["start_ts"]).all() and sp["end_ts"].max().year < 2262
