"""Benchmark: agent-DAG → DSGE builder at scale (issue 3, performance list).

For N = 6, 60, 600 agents in chain and star DAGs (``builder.synthetic_config``), each case runs in a fresh
subprocess and times

* ``ss+dict``  — config validation, closed-form steady state (P̄ root), model dict (economy layer);
* ``model``    — ``dsge_agents.model.from_dict(d, cache=True)`` (parsing; a cache hit when warm);
* ``compile``  — the compiled model and the verification of the steady state (``Model.steady_state()``);
* ``jacobian`` — one evaluation of the sparse Jacobians ``cm.jacobian_coo`` (shown for information; it is
                 repeated inside ``solve``);
* ``solve``    — ``dsge_agents.linear.solve(m)`` with the default ``method="auto"`` (QZ below
                 ``model.compiled.LARGE_THRESHOLD`` variables, the sparse structured solver of
                 ``dsge_agents.linear.large`` above), including the steady state, the Jacobians and the
                 ``Solution`` object; the large solver's own phases are reported separately;
* ``IRF 40``   — 40-period IRFs of all variables to ``eps_demand``, ``eps_slo`` and the capacity and cost
                 shocks of the first stage's two agents (6 shocks; all 1,203 shocks at N = 600 would be a
                 1,203 × 40 × 5,409 array, 2 GB), by ``linear.large.irf`` on the state space for large-path
                 solutions (``Solution.irf`` otherwise);

twice: *cold* (empty model cache: what a user pays the first time) and *warm* (the second process reuses
it). Peak memory is the subprocess's maximum resident set size. The sizes after the structural reduction
(exogenous block, rank of A_-/A_+ = dimension of the cyclic reduction) are taken from the solver.
Writes ``benchmarks/results/economy_builder.md``.

Usage: ``python benchmarks/bench_economy_builder.py [--sizes 6 60 600] [--timeout 1200]``
       ``python benchmarks/bench_economy_builder.py --solver-only`` (solver on pickled Jacobians, see ``--help``)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PHASES = ("ss_dict_s", "model_s", "compile_s", "solve_s", "irf_s")


def _watchdog(out: dict, budget: float, start: float):
    """After ``budget`` seconds print the stages finished so far as the result and exit (partial timings)."""
    import threading

    def fire():
        done = ", ".join(f"{k[:-2]} {out[k]:.1f} s" for k in PHASES if k in out)
        nxt = next((k[:-2] for k in PHASES if k not in out), "")
        out["error"] = (f"{nxt} not finished after {budget:.0f} s" + (f" (done: {done})" if done else "")
                        + (f"; {out['n_var']} variables" if "n_var" in out else ""))
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps(out), flush=True)
        os._exit(0)
    t = threading.Timer(max(budget - (time.perf_counter() - start), 1.0), fire)
    t.daemon = True
    t.start()


def irf_shocks(shocks: list[str]) -> list[str]:
    """eps_demand, eps_slo and the capacity / cost shocks of the first stage's agents."""
    first = [s for s in shocks if s.startswith(("eps_capacity_", "eps_cost_"))]
    stage0 = first[0].split("_")[2] if first else None      # eps_capacity_<stage>_<agent>
    return [s for s in shocks if s in ("eps_demand", "eps_slo")] + [
        s for s in first if stage0 is not None and s.split("_")[2] == stage0]


def worker(n: int, topology: str) -> dict:
    t0 = time.perf_counter()
    out: dict = {}
    budget = float(os.environ.get("BENCH_BUDGET", "900") or 0)
    if budget > 0:
        _watchdog(out, budget, t0)
    import numpy as np
    from dsge_agents.economy import builder
    from dsge_agents.economy.calibration import steady_state
    from dsge_agents.model import from_dict
    from dsge_agents.model.steady import steady_state_vector
    from dsge_agents.linear import solve, large
    t_import = time.perf_counter() - t0
    out.update({"n": n, "topology": topology, "import_s": t_import})
    t = time.perf_counter()
    cfg = builder.synthetic_config(n, topology)
    ss = steady_state(cfg)
    d = builder.build(cfg, ss)
    out["ss_dict_s"] = time.perf_counter() - t
    out["n_var"] = len(d["variables"])
    out["n_shocks"] = len(d["shocks"])
    t = time.perf_counter()
    m = from_dict(d, source=cfg.source, cache=True)
    out["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    m.steady_state()
    out["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    cm = m.compiled
    th = cm.theta(None)
    ssv = np.asarray(steady_state_vector(m, th))
    mats, _, _ = large.large_matrices(m, cm, ssv, th)
    out["jacobian_s"] = time.perf_counter() - t
    out["nnz"] = int(sum(M.nnz for M in mats))
    t = time.perf_counter()
    sol = solve(m)
    out["solve_s"] = time.perf_counter() - t
    out["method"] = sol.method
    res = getattr(sol, "_large", None)
    if res is not None:
        st = res.stats
        out.update({k: st[k] for k in ("n_states", "n_forward", "n_exogenous", "n_exo_states", "rank_lag",
                                       "rank_lead", "cr_dimension", "cr_iterations") if k in st})
        out["solver_timings"] = {k: float(v) for k, v in st.get("timings", {}).items()}
    else:
        out["n_states"] = len(sol.state_variables)
    shocks = irf_shocks(sol.shocks)
    t = time.perf_counter()
    irf = large.irf(sol, periods=40, shocks=shocks)
    out["irf_s"] = time.perf_counter() - t
    out["irf_shocks"] = len(shocks)
    out["irf_rows"] = int(len(irf))
    out["total_s"] = sum(out[k] for k in PHASES)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _economy_matrices(n: int, topology: str):
    """Sparse Jacobians (A_lag, A_cur, A_lead, A_u) and lag/lead masks of the synthetic economy at its steady state."""
    import numpy as np
    from dsge_agents.economy import builder
    from dsge_agents.model.steady import steady_state_vector
    from dsge_agents.linear import large
    m = builder.build_model(builder.synthetic_config(n, topology))
    cm = m.compiled
    th = cm.theta(None)
    return large.large_matrices(m, cm, np.asarray(steady_state_vector(m, th)), th)


def solver_worker(n: int, topology: str) -> dict:
    """The large solver alone on the model's sparse Jacobians, one and two BLAS threads (best of 2 each)."""
    from dsge_agents.linear import large
    mats, lag, lead = _economy_matrices(n, topology)
    out = {"n": n, "topology": topology, "n_var": mats[0].shape[0]}
    large.solve_large(*mats, lag_mask=lag, lead_mask=lead, blas_threads=1)      # warm-up (Numba cache load)
    for th_ in (1, 2):
        best = None
        for _ in range(2):
            t = time.perf_counter()
            res = large.solve_large(*mats, lag_mask=lag, lead_mask=lead, blas_threads=th_)
            el = time.perf_counter() - t
            if best is None or el < best[0]:
                best = (el, res.stats["timings"]["cyclic_reduction"])
        out[f"t{th_}"], out[f"cr{th_}"] = best
    out.update({k: res.stats[k] for k in ("n_states", "n_forward", "n_exogenous", "cr_dimension")})
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def compare_worker(n: int, topology: str) -> dict:
    """Large solver vs dense ordered QZ vs the Numba cyclic reduction on the full dense system (1 BLAS thread)."""
    import numpy as np
    from threadpoolctl import threadpool_limits
    from dsge_agents.linear import large
    from dsge_agents.linear.qz import solve_matrices
    from dsge_agents.linear.cyclic import cr_solve
    mats, lag, lead = _economy_matrices(n, topology)
    dense = [M.toarray() for M in mats]
    out = {"n": n, "topology": topology, "n_var": dense[0].shape[0]}
    with threadpool_limits(1, "blas"):
        large.solve_large(*mats, lag_mask=lag, lead_mask=lead, blas_threads=1)       # warm-up
        t = time.perf_counter()
        res = large.solve_large(*mats, lag_mask=lag, lead_mask=lead, blas_threads=1)
        out["large_s"] = time.perf_counter() - t
        t = time.perf_counter()
        T, R, info = solve_matrices(*dense, 1 + 1e-6, lag, lead)
        out["qz_s"] = time.perf_counter() - t
        out["qz_pencil"] = int(info.n_states + info.n_forward)
        cr_solve(np.eye(2) * 0.5, np.eye(2), np.eye(2) * 0.1, np.ones((2, 1)))  # Numba warm-up
        t = time.perf_counter()
        T2, R2, code = cr_solve(*dense, 1 + 1e-6, 1e-13, 100)
        out["cr_s"] = time.perf_counter() - t
    # row-scaled agreement with QZ (units differ by eight orders of magnitude)
    sc = np.maximum(1.0, np.abs(T).max(axis=1, keepdims=True))
    out["diff_large_qz"] = float((np.abs(res.transition() - T) / sc).max())
    out["cr_dimension"] = res.stats["cr_dimension"]
    return out


def run_case(n, topology, cache, timeout, solver=False):
    env = dict(os.environ, DSGE_AGENTS_CACHE=str(cache), PYTHONPATH=str(REPO),
               BENCH_BUDGET=str(max(timeout - 30.0, 1.0)))
    flag = {False: "--worker", True: "--solver-worker", "compare": "--compare-worker"}[solver]
    cmd = [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), flag, str(n), topology]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"n": n, "topology": topology, "error": f"timeout after {timeout:.0f} s"}
    if p.returncode != 0 or not p.stdout.strip():
        return {"n": n, "topology": topology, "error": (p.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fmt(r):
    if "error" in r:
        return (f"| {r['n']} | {r['topology']} | {r.get('phase', '')} | {r.get('n_var', '–')} | – | – | – | – | – | "
                f"– | – | – | – | {r['error']} |")
    red = (f"{r['n_exogenous']} / {r['cr_dimension']} ({r['rank_lag']}+{r['rank_lead']})"
           if "cr_dimension" in r else "–")
    return (f"| {r['n']} | {r['topology']} | {r['phase']} | {r['n_var']} | {r['n_states']} / {r.get('n_forward', '–')} "
            f"| {red} | {r['ss_dict_s']:.2f} | {r['model_s']:.2f} | {r['compile_s']:.2f} | {r['jacobian_s']:.2f} | "
            f"{r['solve_s']:.2f} ({r['method']}) | {r['irf_s']:.2f} | **{r['total_s']:.2f}** | {r['peak_rss_mb']:.0f} MB |")


def fmt_solver(r):
    t = r.get("solver_timings", {})
    keys = ("exogenous", "factor", "cyclic_reduction", "bk_check", "G", "loadings", "assemble", "check", "total")
    return (f"| {r['n']} | {r['topology']} | {r['phase']} | " + " | ".join(f"{t.get(k, float('nan')):.2f}" for k in keys)
            + f" | {r.get('cr_iterations', '–')} |")


METHOD_NOTES = [
    "How N = 600 became fast (issue 3). Before, N = 600 did not finish: parsing and symbolic differentiation "
    "took minutes (fixed in the model layer: vectorized NumPy code generation, sparse `jacobian_coo`, parsed-model "
    "cache) and a dense ordered QZ on the ≈ 2,700-dimensional pencil would take several minutes (scipy `ordqz`: "
    "n = 1,000 13 s, n = 2,000 183 s on this machine). The linear layer now solves models from 400 variables on "
    "with `dsge_agents.linear.large` (default `method=\"auto\"`), which uses structure it reads off the "
    "sparsity pattern:",
    "",
    "1. *Exogenous block* — a matching on A₀ and the strongly connected components of the dependency graph "
    "(block-triangular form) find the lead-free blocks that do not depend on the rest: at N = 600, 2,103 "
    "variables (the 1,202 AR(1) capacity/cost states, the demand and SLO processes, the API agents' fixed capacity "
    "and investment). They follow z_t = P z_{t-1} + R u_t; their loadings on the rest come from a generalized "
    "Sylvester equation, one sparse LU per distinct AR root (4 at N = 600).",
    "2. *Low-rank cyclic reduction* on the remaining 3,306 variables: A₋ and A₊ have rank 601 and 300 (lagged "
    "share ratios, capacity stocks, latency/SLO lags; one Euler row per self-hosted agent), so cyclic reduction "
    "runs in an m = 901-dimensional space through the Woodbury identity on one sparse LU of A₀ (static "
    "variables never enter the iteration). Dynare's reduced pencil would have 902 states + 600 forward "
    "variables plus the 1,202 exogenous states in QZ.",
    "3. IRFs on the state space (no n × n transition), dense BLAS for the endogenous rows and CSR for the "
    "exogenous ones.",
    "",
    "On the shared 2-core machine one OpenBLAS thread is 2–3× faster than two (threads spin for busy cores); "
    "`solve_large` picks 1 thread when the 1-minute load average leaves no core free. The Solution object "
    "still carries the dense 5,409² transition `T` (234 MB of the ≈ 0.9 GB peak); `Solution.irf` of a "
    "large-path solution runs the state-space recursion (`linear.large.irf_array`), not the dense transition. "
    "Correctness: "
    "`tests/test_linear_large.py` (QZ agreement on nk3, fs2000, rbc, built economies N = 6/20 chain and star, "
    "random models with diagonal and general exogenous AR blocks; quadratic residuals; IRFs).",
]


def _load():
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return (float("nan"),) * 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[6, 60, 600])
    ap.add_argument("--topologies", nargs="*", default=["chain", "star"])
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--out", default=str(HERE / "results" / "economy_builder.md"))
    ap.add_argument("--solver-sizes", type=int, nargs="*", default=[60, 120, 240, 480, 600],
                    help="sizes of the solver-only scaling table (chain); empty to skip")
    ap.add_argument("--compare-sizes", type=int, nargs="*", default=[60, 120, 240],
                    help="sizes of the large vs dense QZ vs dense Numba CR comparison (chain); empty to skip")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--solver-worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--compare-worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compare_worker:
        print(json.dumps(compare_worker(int(a.compare_worker[0]), a.compare_worker[1])))
        return 0
    if a.worker:
        print(json.dumps(worker(int(a.worker[0]), a.worker[1])))
        return 0
    if a.solver_worker:
        print(json.dumps(solver_worker(int(a.solver_worker[0]), a.solver_worker[1])))
        return 0
    rows = []
    head = ("| N agents | DAG | phase | variables | states / forward | exogenous / CR dim (rank A₋+A₊) | ss+dict (s) | "
            "model (s) | compile+ss check (s) | jacobian (s) | solve (s) | IRF 40 (s) | total (s) | peak RSS |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(head, flush=True)
    start = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    load0 = _load()
    for n in a.sizes:
        for top in a.topologies:
            with tempfile.TemporaryDirectory() as cache:
                for phase in ("cold", "warm"):
                    r = run_case(n, top, cache, a.timeout)
                    r["phase"] = phase
                    r["load"] = _load()[0]
                    rows.append(r)
                    print(fmt(r), f"(load {r['load']:.2f})", flush=True)
                    if "error" in r:
                        break
    srows = []
    if a.solver_sizes:
        with tempfile.TemporaryDirectory() as cache:
            for n in a.solver_sizes:
                r = run_case(n, "chain", cache, a.timeout, solver=True)
                r["load"] = _load()[0]
                srows.append(r)
                print(r, flush=True)
    crows = []
    if a.compare_sizes:
        with tempfile.TemporaryDirectory() as cache:
            for n in a.compare_sizes:
                r = run_case(n, "chain", cache, a.timeout, solver="compare")
                r["load"] = _load()[0]
                crows.append(r)
                print(r, flush=True)
    load1 = _load()
    ok = [r for r in rows if "error" not in r and r["phase"] == "warm"]
    notes = []
    import math
    for top in a.topologies:
        rs = sorted((r for r in ok if r["topology"] == top), key=lambda r: r["n"])
        for small, big in zip(rs, rs[1:]):
            k = math.log(big["total_s"] / small["total_s"]) / math.log(big["n"] / small["n"])
            ks = math.log(big["solve_s"] / small["solve_s"]) / math.log(big["n"] / small["n"])
            km = math.log(big["peak_rss_mb"] / small["peak_rss_mb"]) / math.log(big["n"] / small["n"])
            notes.append(f"* {top}, N = {small['n']} → {big['n']} (warm): total time ∝ N^{k:.2f}, solve ∝ N^{ks:.2f}, "
                         f"peak memory ∝ N^{km:.2f}.")
    big = [r for r in rows if "error" not in r and r["n"] == 600]
    for r in big:
        verdict = "met" if r["total_s"] < 30 else "NOT met"
        notes.append(f"* **N = 600 under 30 s: {verdict}** ({r['topology']}, {r['phase']}: {r['total_s']:.1f} s).")
    text = ["## Economy builder (`bench_economy_builder.py`)", "",
            "Build + steady state + solve + 40-period IRFs of `builder.synthetic_config(N, DAG)` (two agents per "
            "stage: one API, one self-hosted; chain = N/2 stages in sequence, star = a hub stage branching to "
            "N/2 − 1 leaves). Each row is a fresh process; *cold* starts with an empty model cache, *warm* "
            "reuses it. `solve` = `linear.solve(m)` (default `method=\"auto\"`: QZ below 400 variables, the "
            "sparse structured solver `linear.large` above; includes steady state, Jacobians and the Solution "
            "object). IRFs: all variables × (`eps_demand`, `eps_slo`, capacity and cost shocks of the first "
            "stage's two agents) — 6 shocks. Target (issue 3): N = 600 under 30 s.", "",
            f"Run {start} – {time.strftime('%H:%M UTC', time.gmtime())}, {os.cpu_count()} cores shared with other "
            f"jobs: load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end (per row in the "
            "console output), so times are upper bounds.", "", head]
    text += [fmt(r) for r in rows]
    lrows = [r for r in rows if "error" not in r and r.get("solver_timings")]
    if lrows:
        text += ["", "Phases of the large-model solver (`linear.large.solve_large`, seconds):", "",
                 "| N | DAG | phase | exogenous block | sparse LU + rank factors | cyclic reduction | BK check | G | "
                 "loadings (Sylvester + impact) | assemble | residual check | total | CR iterations |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        text += [fmt_solver(r) for r in lrows]
    ok_s = [r for r in srows if "error" not in r]
    if ok_s:
        text += ["", "The large solver alone (`solve_large` on the sparse Jacobians of the chain economy, best of 2, "
                 "BLAS threads 1 / 2; load average at each row):", "",
                 "| N | variables | states / forward | exogenous | CR dim m | solve 1 thread (s) | of which CR | "
                 "solve 2 threads (s) | of which CR | peak RSS | load |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        text += [f"| {r['n']} | {r['n_var']} | {r['n_states']} / {r['n_forward']} | {r['n_exogenous']} | "
                 f"{r['cr_dimension']} | {r['t1']:.2f} | {r['cr1']:.2f} | {r['t2']:.2f} | {r['cr2']:.2f} | "
                 f"{r['peak_rss_mb']:.0f} MB | {r['load']:.1f} |" for r in ok_s]
        if len(ok_s) >= 2:
            import math
            a0, a1 = ok_s[0], ok_s[-1]
            e = math.log(a1["t1"] / a0["t1"]) / math.log(a1["n"] / a0["n"])
            ec = math.log(a1["cr1"] / a0["cr1"]) / math.log(a1["cr_dimension"] / a0["cr_dimension"])
            notes.append(f"* Solver alone (1 thread), N = {a0['n']} → {a1['n']}: time ∝ N^{e:.2f}; cyclic reduction "
                         f"∝ m^{ec:.2f} (m = rank A₋ + rank A₊ = {a0['cr_dimension']} → {a1['cr_dimension']}; "
                         "O(m³) per iteration, 9 iterations at every size).")
    ok_c = [r for r in crows if "error" not in r]
    if ok_c:
        text += ["", "The same Jacobians solved three ways (chain economy, one BLAS thread): `linear.large`, dense "
                 "ordered QZ (`linear.qz.solve_matrices`, pencil = states + forward variables) and the Numba cyclic "
                 "reduction on the full dense system (`linear.cyclic.cr_solve`); difference = max row-scaled "
                 "|T_large − T_qz|:", "",
                 "| N | variables | QZ pencil | CR dim m | large (s) | dense QZ (s) | dense Numba CR (s) | "
                 "difference | load |", "|---|---|---|---|---|---|---|---|---|"]
        text += [f"| {r['n']} | {r['n_var']} | {r['qz_pencil']} | {r['cr_dimension']} | {r['large_s']:.2f} | "
                 f"{r['qz_s']:.2f} | {r['cr_s']:.2f} | {r['diff_large_qz']:.1e} | {r['load']:.1f} |" for r in ok_c]
    text += [""] + notes + [""] + METHOD_NOTES
    print("\n".join(notes))
    write_result("\n".join(text), path=a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
