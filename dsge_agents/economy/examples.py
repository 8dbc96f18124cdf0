"""Small bundled economies for tests, docs and the CLI (DESIGN §5.1).

* :func:`example_economy` — three stages plan → act → verify (verify visited with
  probability 0.8), two candidate agents per stage (a fast, cheap, lower-quality
  "small" agent and a slow, dearer, higher-quality "large" one), a time-varying
  arrival rate λ(t) = 5(1 + 0.3 sin(2πt/T)) requests/s over T = 60 minutes and a mean
  end-to-end latency SLO W* that binds over the whole horizon.
* :func:`random_economy` — random DAG-free chains of stages with random agents, for
  property tests; always SLO-feasible by construction.
"""
from __future__ import annotations

import numpy as np

from .agents import Agent
from .orchestrator import Orchestrator
from .static import StaticEconomy, sine_demand

__all__ = ["example_economy", "random_economy", "EXAMPLE_SPEC"]

EXAMPLE_SPEC = {
    "name": "plan-act-verify example",
    "horizon": 60.0,
    "stages": ["plan", "act", "verify"],
    "edges": [["plan", "act", 1.0], ["act", "verify", 0.8], ["act", "exit", 0.2]],
    "entry": "plan",
    "demand": {"rate": 5.0, "amplitude": 0.3, "period": 60.0, "phase": 0.0},
    "slo": 9.0,
    "money": 1000.0,
    "theta": 0.05,
    "beta": 200.0,
    "eta": 1e-4,
    "agents": [
        {"name": "plan_small", "stage": "plan", "service_time": 0.6, "capacity": 6.0, "unit_cost": 0.001,
         "quality": 0.60, "ca2": 1.18, "cs2": 1.0},
        {"name": "plan_large", "stage": "plan", "service_time": 1.5, "capacity": 5.0, "unit_cost": 0.004,
         "quality": 0.90, "ca2": 1.18, "cs2": 1.0},
        {"name": "act_small", "stage": "act", "service_time": 1.0, "capacity": 6.0, "unit_cost": 0.002,
         "quality": 0.55, "ca2": 1.18, "cs2": 1.0},
        {"name": "act_large", "stage": "act", "service_time": 2.5, "capacity": 5.0, "unit_cost": 0.008,
         "quality": 0.92, "ca2": 1.18, "cs2": 1.0},
        {"name": "verify_small", "stage": "verify", "service_time": 0.4, "capacity": 5.0,
         "unit_cost": 0.0005, "quality": 0.70, "ca2": 1.18, "cs2": 1.0},
        {"name": "verify_large", "stage": "verify", "service_time": 1.2, "capacity": 4.0,
         "unit_cost": 0.002, "quality": 0.95, "ca2": 1.18, "cs2": 1.0},
    ],
}


def example_economy(K: int = 16, basis: str = "legendre", **overrides) -> StaticEconomy:
    """The plan → act → verify example (see module docstring); ``overrides`` replace spec keys."""
    spec = dict(EXAMPLE_SPEC)
    spec.update(overrides)
    spec["K"], spec["basis"] = K, basis
    return StaticEconomy.from_spec(spec, source="example_economy")


def random_economy(seed: int = 0, n_stages: int | None = None, agents_per_stage: int | None = None,
                   K: int = 6, basis: str = "legendre", T: float = 10.0) -> StaticEconomy:
    """A random SLO-feasible economy: a chain of stages with random exit probabilities, random agents.

    W* is set to a random multiple in (1.05, 2) of the largest minimum latency over the nodes, so
    the SLO is feasible and binds at some or all nodes depending on the draw.
    """
    rng = np.random.default_rng(seed)
    S = int(n_stages or rng.integers(1, 4))
    stages = [f"s{i}" for i in range(S)]
    edges = []
    for i in range(S - 1):
        p = float(rng.uniform(0.5, 1.0))
        edges.append((stages[i], stages[i + 1], p))
        if p < 1.0:
            edges.append((stages[i], "exit", 1.0 - p))
    lam = sine_demand(float(rng.uniform(1, 10)), float(rng.uniform(0, 0.4)), T, float(rng.uniform(0, 6)))
    agents = []
    lam_max = 10 * 1.4
    for i, s in enumerate(stages):
        n = int(agents_per_stage or rng.integers(1, 4))
        caps = rng.uniform(0.5, 1.5, n)
        caps = caps / caps.sum() * lam_max * rng.uniform(1.3, 2.5)
        for j in range(n):
            agents.append(Agent(f"a{i}_{j}", s, service_time=float(rng.uniform(0.2, 3.0)), capacity=float(caps[j]),
                                unit_cost=float(rng.uniform(0, 0.01)), quality=float(rng.uniform(0.3, 1.0)),
                                ca2=float(rng.uniform(0.2, 2.0)), cs2=float(rng.uniform(0.2, 2.0))))
    beta = float(rng.uniform(20, 300))
    orch = Orchestrator(stages, edges, arrival_rate=lam, slo=1.0, money=100.0, theta=0.05, beta=beta,
                        eta=float(rng.uniform(1e-5, 1e-3)))
    eco = StaticEconomy(orch, agents, basis=basis, K=K, T=T, name=f"random-{seed}")
    Lmin, _ = eco.min_latency()
    wmin = float(np.max(Lmin / eco.lam))
    orch.slo = (lambda v: (lambda t: np.full(np.shape(t), v)))(wmin * float(rng.uniform(1.05, 2.0)))
    return StaticEconomy(orch, agents, basis=basis, K=K, T=T, name=f"random-{seed}")
