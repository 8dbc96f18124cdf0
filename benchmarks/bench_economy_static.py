"""Benchmark: static functional general equilibrium (issue 3, performance list).

K = 32 nodes (Legendre), N = 20, 100, 1,000 agents on a chain of 10 stages with time-varying demand and
an SLO that binds over the whole horizon. For each size: wall time of tâtonnement, the conic planner
(+ KKT polish) and (N ≤ 100) Newton on the dual; tâtonnement iterations (total, and in the frozen-step
phase) against the modulus bound log(tol / tol₀)/log(modulus) of the linear rate.

Run:  python benchmarks/bench_economy_static.py   (writes benchmarks/results/economy_static.md)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")         # small dense kernels: threads only contend
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dsge_agents.economy.agents import Agent  # noqa: E402
from dsge_agents.economy.equilibrium import equilibrium  # noqa: E402
from dsge_agents.economy.orchestrator import Orchestrator  # noqa: E402
from dsge_agents.economy.static import StaticEconomy, sine_demand  # noqa: E402
from dsge_agents.economy.welfare import allocation_gap  # noqa: E402

from _results import write_result

TOL = 1e-10


def bench_economy(N: int, K: int = 32, S: int = 10, seed: int = 0, beta: float = 200.0) -> StaticEconomy:
    """Chain of S stages, N/S agents each (random τ, μ, κ, q), λ(t) = 50(1 + 0.2 sin 2πt/60),
    W* = 1.3 × the largest minimum achievable latency (the SLO binds everywhere)."""
    rng = np.random.default_rng(seed)
    stages = [f"s{i}" for i in range(S)]
    edges = [(stages[i], stages[i + 1], 1.0) for i in range(S - 1)]
    n = N // S
    agents = [Agent(f"{s}_a{j}", s, service_time=float(rng.uniform(0.5, 1.5)),
                    capacity=float(120.0 / n * rng.uniform(0.7, 1.3)), unit_cost=float(rng.uniform(0.001, 0.005)),
                    quality=float(rng.uniform(0.5, 0.9)))
              for s in stages for j in range(n)]
    orch = Orchestrator(stages, edges, arrival_rate=sine_demand(50.0, 0.2, 60.0), slo=1.0, money=1e4,
                        theta=0.05, beta=beta, eta=1e-5)
    eco = StaticEconomy(orch, agents, K=K, T=60.0, name=f"bench-N{N}")
    Lmin, _ = eco.min_latency()
    w = 1.3 * float(np.max(Lmin / eco.lam))
    orch.slo = lambda t, _w=w: np.full(np.shape(t), _w)
    return StaticEconomy(orch, agents, K=K, T=60.0, name=f"bench-N{N}")


def main() -> int:
    rows = []
    for N in (20, 100, 1000):
        eco = bench_economy(N)
        t0 = time.perf_counter()
        tat = equilibrium(eco, method="tatonnement", tol=TOL)
        t_tat = time.perf_counter() - t0
        t0 = time.perf_counter()
        pla = equilibrium(eco, method="planner")
        t_pla = time.perf_counter() - t0
        t_new, new_it = float("nan"), None
        if N <= 100:
            t0 = time.perf_counter()
            new = equilibrium(eco, method="newton")
            t_new, new_it = time.perf_counter() - t0, new.iterations
        mod = tat.contraction_modulus
        ftol = tat.extra["freeze_tol"]
        bound_full = math.log(TOL) / math.log(mod)
        bound_frozen = math.log(TOL / ftol) / math.log(mod)
        rows.append({
            "N": N, "K": eco.K, "t_tat": t_tat, "it": tat.iterations, "frozen": tat.extra["frozen_iterations"],
            "mod": mod, "rate": tat.measured_rate, "bound_full": bound_full, "bound_frozen": bound_frozen,
            "t_pla": t_pla, "t_new": t_new, "new_it": new_it, "rel": tat.excess_demand_norm,
            "wal": tat.walras_residual, "gap": abs(tat.surplus - pla.surplus) / abs(pla.surplus),
            "alloc": allocation_gap(eco, tat, _planner_of(pla)), "conv": tat.converged})
        r = rows[-1]
        print(f"N={N:5d} K={eco.K}: tâtonnement {t_tat:7.2f} s, {r['it']} it ({r['frozen']} frozen), modulus "
              f"{mod:.5f}, rate {r['rate']:.5f}, bound {bound_full:.0f} / {bound_frozen:.0f}; planner {t_pla:.2f} s; "
              f"newton {t_new:.2f} s", flush=True)
    lines = [
        "# Static functional general equilibrium — benchmark",
        "",
        f"`python benchmarks/bench_economy_static.py` on {platform.machine()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, NumPy {np.__version__}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}.",
        "",
        "Economy: chain of 10 stages, N/10 agents per stage (random τ ∈ [0.5, 1.5] s, κ, q), λ(t) = 50(1 + 0.2 sin 2πt/60),",
        "SLO binding over the whole horizon, Legendre basis K = 32, relative excess-demand tolerance 1e-10.",
        "`bound` = log(tol)/log(modulus) (linear rate from the start); `bound frozen` = log(tol/tol₀)/log(modulus)",
        "for the frozen-step phase that starts at relative excess demand tol₀ = 1e-6 (the modulus governs only",
        "that phase; before it the steps are re-chosen along the nonlinear path).",
        "",
        "| N | K | tâtonnement (s) | iterations | frozen-phase iterations | modulus | measured rate | bound | bound frozen "
        "| rel. excess demand | Walras | welfare gap | allocation gap | planner (s) | Newton (s) / it |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nw = f"{r['t_new']:.2f} / {r['new_it']}" if r["new_it"] is not None else "— (dense Hessian, skipped)"
        lines.append(f"| {r['N']} | {r['K']} | {r['t_tat']:.2f} | {r['it']} | {r['frozen']} | {r['mod']:.5f} | "
                     f"{r['rate']:.5f} | {r['bound_full']:.0f} | {r['bound_frozen']:.0f} | {r['rel']:.1e} | "
                     f"{r['wal']:.1e} | {r['gap']:.1e} | {r['alloc']:.1e} | {r['t_pla']:.2f} | {nw} |")
    write_result("\n".join(lines), "economy_static")
    return 0


def _planner_of(res):
    """A PlannerResult-like view of a planner EquilibriumResult (x = supply)."""
    class _P:
        pass
    p = _P()
    p.x = res.supply
    return p


if __name__ == "__main__":
    sys.exit(main())
