"""Benchmark: agent-DAG → DSGE builder at scale (issue 3, performance list).

For N = 6, 60, 600 agents in chain and star DAGs (``builder.synthetic_config``), each case runs in a fresh
subprocess and times

* ``ss+dict``  — config validation, closed-form steady state (P̄ root), model dict;
* ``model``    — ``dsge_agents.model.from_dict`` (safe parsing, SymPy);
* ``compile``  — the engine's compiled derivatives and its verification of the steady state
                 (``Model.steady_state()``; SymPy differentiation + Numba, cached on disk);
* ``solve``    — ``dsge_agents.linear.solve`` (QZ, Blanchard–Kahn);
* ``irf``      — 40-period IRFs to every shock;

twice: *cold* (empty compile cache: what a user pays the first time) and *warm* (the second process reuses
the cached compiled derivatives). Peak memory is the subprocess's maximum resident set size.
Writes ``benchmarks/results/economy_builder.md``.

Usage: ``python benchmarks/bench_economy_builder.py [--sizes 6 60 600] [--timeout 1200]``
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _watchdog(out: dict, budget: float, start: float):
    """After ``budget`` seconds print the stages finished so far as the result and exit (partial timings)."""
    import threading

    def fire():
        done = ", ".join(f"{k[:-2]} {out[k]:.1f} s" for k in ("ss_dict_s", "model_s", "compile_s", "solve_s",
                                                              "irf_s") if k in out)
        nxt = next((k[:-2] for k in ("ss_dict_s", "model_s", "compile_s", "solve_s", "irf_s") if k not in out), "")
        out["error"] = (f"{nxt} not finished after {budget:.0f} s" + (f" (done: {done})" if done else "")
                        + (f"; {out['n_var']} variables" if "n_var" in out else ""))
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps(out), flush=True)
        os._exit(0)
    t = threading.Timer(max(budget - (time.perf_counter() - start), 1.0), fire)
    t.daemon = True
    t.start()


def worker(n: int, topology: str) -> dict:
    t0 = time.perf_counter()
    out: dict = {}
    budget = float(os.environ.get("BENCH_BUDGET", "900") or 0)
    if budget > 0:
        _watchdog(out, budget, t0)
    from dsge_agents.economy import builder
    from dsge_agents.economy.calibration import steady_state
    from dsge_agents.model import from_dict
    from dsge_agents.linear import solve
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
    m = from_dict(d)
    out["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    m.steady_state()
    out["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sol = solve(m)
    out["solve_s"] = time.perf_counter() - t
    out["n_states"] = int(sol.bk.get("n_states", -1)) if isinstance(sol.bk, dict) else -1
    t = time.perf_counter()
    irf = sol.irf(periods=40)
    out["irf_s"] = time.perf_counter() - t
    out["irf_rows"] = int(len(irf))
    out["total_s"] = sum(out[k] for k in ("ss_dict_s", "model_s", "compile_s", "solve_s", "irf_s"))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def run_case(n, topology, cache, timeout):
    env = dict(os.environ, DSGE_AGENTS_CACHE=str(cache), PYTHONPATH=str(REPO),
               BENCH_BUDGET=str(max(timeout - 30.0, 1.0)))
    cmd = [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), "--worker", str(n), topology]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"n": n, "topology": topology, "error": f"timeout after {timeout:.0f} s"}
    if p.returncode != 0 or not p.stdout.strip():
        return {"n": n, "topology": topology, "error": (p.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fmt(r):
    if "error" in r:
        return f"| {r['n']} | {r['topology']} | {r.get('phase', '')} | – | – | – | – | – | – | – | {r['error']} |"
    return (f"| {r['n']} | {r['topology']} | {r['phase']} | {r['n_var']} | {r['ss_dict_s']:.2f} | "
            f"{r['model_s']:.2f} | {r['compile_s']:.2f} | {r['solve_s']:.2f} | {r['irf_s']:.2f} | "
            f"**{r['total_s']:.2f}** | {r['peak_rss_mb']:.0f} MB |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[6, 60, 600])
    ap.add_argument("--topologies", nargs="*", default=["chain", "star"])
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--out", default=str(HERE / "results" / "economy_builder.md"))
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(int(a.worker[0]), a.worker[1])))
        return 0
    rows = []
    head = ("| N agents | DAG | phase | variables | ss+dict (s) | model (s) | compile+ss check (s) | solve (s) | "
            "IRF 40 (s) | total (s) | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|")
    print(head, flush=True)
    for n in a.sizes:
        for top in a.topologies:
            with tempfile.TemporaryDirectory() as cache:
                for phase in ("cold", "warm"):
                    r = run_case(n, top, cache, a.timeout)
                    r["phase"] = phase
                    rows.append(r)
                    print(fmt(r), flush=True)
                    if "error" in r:
                        break
    ok = [r for r in rows if "error" not in r and r["phase"] == "warm"]
    notes = []
    if len(ok) >= 2:
        import math
        small = min(ok, key=lambda r: r["n"])
        big = max(ok, key=lambda r: r["n"])
        if big["n"] > small["n"]:
            k = math.log(big["total_s"] / small["total_s"]) / math.log(big["n"] / small["n"])
            km = math.log(big["peak_rss_mb"] / small["peak_rss_mb"]) / math.log(big["n"] / small["n"])
            notes.append(f"Warm total time grows like N^{k:.2f} and peak memory like N^{km:.2f} between "
                         f"N = {small['n']} and N = {big['n']} ({big['topology']}).")
    text = ["## Economy builder (`bench_economy_builder.py`)", "",
            "Build + steady state + solve + 40-period IRFs of `builder.synthetic_config(N, DAG)` (two agents per "
            "stage: one API, one self-hosted; chain = N/2 stages in sequence, star = a hub stage branching to "
            "N/2 − 1 leaves). Each row is a fresh process; *cold* starts with an empty compile cache, *warm* "
            "reuses it. Target (issue 3): N = 600 under 30 s.", "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores (shared with "
            "other jobs during the run, so times are upper bounds).", "", head]
    text += [fmt(r) for r in rows]
    text += [""] + notes
    out = Path(a.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(text) + "\n", encoding="utf-8")
    print("\n".join(notes))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
