"""Re-solve benchmark of the linear layer (issue 2, "Performance").

Usage::

    python benchmarks/bench_linear.py            # table on stdout + benchmarks/results/linear.md
    python benchmarks/bench_linear.py --quick    # fewer repetitions, no fresh-process rows

Measures, per model (nk3, fs2000):

* ``Resolver(theta)`` — steady state + Jacobians at θ + cyclic reduction + BK check
  + decision rules, one Python→Numba call (the estimation hot path);
* the same fused function called in a ``@njit`` loop (no Python overhead);
* ``solve(model, params)`` (QZ and CR) — the full user-level path (steady-state
  verification, Solution object with labelled frames);
* ``solve_matrices`` (ordered QZ) on precomputed Jacobians;
* Dynare 5.3's ``dynare_resolve`` from ``tests/data/dynare/timings.json`` (else
  the 2.5 ms quoted in issue 2); the Python peers are measured in their own
  virtual environments by ``benchmarks/bench_peers.py`` (results/peers.md);
* first solve of fs2000 in a fresh process (parse + derivatives + compile + solve)
  and ``dsge-agents irf`` wall time (cold = empty caches, warm = second run).

Times are per call, best of several repeats (the machine is shared; the load
average is recorded with the table).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# small matrices: multithreaded BLAS only adds synchronisation (and contention on a shared machine)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from dsge_agents.linear import Resolver, solve, solve_matrices  # noqa: E402
from dsge_agents.model import load  # noqa: E402

from _results import write_result

DYNARE_ISSUE_MS = 2.5
LAST_CPU = [None]   # CPU (process) time per call of the last measurement


def per_call(fn, *args, target_s=0.2, repeats=5):
    """Best-of-``repeats`` mean time per call in seconds (calls batched to ~target_s)."""
    fn(*args)
    t0 = time.perf_counter()
    fn(*args)
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(target_s / one))
    best = np.inf
    cpu = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(n):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / n)
        cpu = min(cpu, (time.process_time() - c0) / n)
    LAST_CPU[0] = cpu
    return best


def njit_loop_time(fn, theta, repeats=5, n=2000):
    """Per-call time of a fused Numba function called from a Numba loop."""
    from numba import njit

    @njit
    def loop(f, th, n):
        acc = 0.0
        for k in range(n):
            ss, T, R, code = f(th)
            acc += T[0, 0] + code
        return acc

    loop(fn, theta, 1)
    best = np.inf
    cpu = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        loop(fn, theta, n)
        best = min(best, (time.perf_counter() - t0) / n)
        cpu = min(cpu, (time.process_time() - c0) / n)
    LAST_CPU[0] = cpu
    return best


# ----------------------------------------------------------------------------- peers
# The Python peers (SymbolicDSGE, gEconpy, pydsge, irispie, linearsolve) are measured by
# benchmarks/bench_peers.py, each in its own virtual environment and checked against our solution
# before timing; results in benchmarks/results/peers.md.


def dynare_measured():
    """(wall s, cpu s, load) of fs2000 ``dynare_resolve`` from tests/data/dynare/timings.json, or None."""
    p = REPO / "tests" / "data" / "dynare" / "timings.json"
    if p.exists():
        t = json.loads(p.read_text())
        w = t.get("fs2000_timing_dynare_resolve_full_s")
        c = t.get("fs2000_cpu_dynare_resolve_full_s")
        if w:
            return float(w), (float(c) if c else None), t.get("machine", {}).get("loadavg_at_end")
    return None


# ----------------------------------------------------------------------------- fresh processes
def fresh(cmd, env=None, cwd=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    return dt, r.returncode


def fresh_rows():
    rows = []
    code = ("import sys; sys.path.insert(0, %r); from dsge_agents.model import load; "
            "from dsge_agents.linear import solve; solve(load(%r))" % (str(REPO), str(REPO / "models" / "fs2000.mod")))
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="bench_linear_cache_")
    env_cold = dict(env, DSGE_AGENTS_CACHE=tmp, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
    rows.append(("fs2000 first solve, fresh process, empty caches",) + fresh([sys.executable, "-c", code], env_cold))
    rows.append(("fs2000 first solve, fresh process, warm caches",) + fresh([sys.executable, "-c", code], env_cold))
    work = tempfile.mkdtemp(prefix="bench_linear_irf_")
    env_cli = dict(env_cold, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "dsge_agents.cli.main", "irf"]
    shutil.rmtree(tmp, ignore_errors=True)
    rows.append(("`dsge-agents irf` (default model), cold",) + fresh(cmd, env_cli, cwd=work))
    rows.append(("`dsge-agents irf` (default model), warm",) + fresh(cmd, env_cli, cwd=work))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return rows


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    target = 0.05 if args.quick else 0.3
    models = [("nk3", REPO / "models" / "nk3.yaml"), ("fs2000", REPO / "models" / "fs2000.mod")]
    rows = []          # (what, model, seconds, note)
    ours = {}
    ours_cpu = {}
    for name, path in models:
        if not path.exists():
            rows.append(("(model file missing)", name, None, f"{path} not found: skipped"))
            continue
        m = load(path)
        r = Resolver(m)
        th = r.theta()
        ss, T, R, code = r(th)
        sol = solve(m)
        assert code == 0 and np.allclose(T, sol.T, atol=1e-10), "Resolver and QZ disagree"
        # perturb θ slightly each call? the work is identical; use the calibration
        t_res = (per_call(r, th, target_s=target), LAST_CPU[0])
        t_loop = (njit_loop_time(r.fn, th), LAST_CPU[0]) if r.fn is not None else None
        t_qz = (per_call(lambda: solve(m, th), target_s=target), LAST_CPU[0])
        t_cr = (per_call(lambda: solve(m, th, method="cr"), target_s=target), LAST_CPU[0])
        A = m.compiled.jacobian(ss, th)
        t_sm = (per_call(solve_matrices, *A, target_s=target), LAST_CPU[0])
        ours[name] = t_res[0]
        ours_cpu[name] = t_res[1]
        rows += [("dsge_agents Resolver(theta) [CR, Numba]", name, t_res, "ss + Jacobian + solution + BK + rules"),
                 ("  same, called from an @njit loop", name, t_loop, "no Python call overhead"),
                 ("dsge_agents solve(model, theta) QZ", name, t_qz, "full Solution object, ss verified"),
                 ("dsge_agents solve(model, theta) CR", name, t_cr, "full Solution object, ss verified"),
                 ("dsge_agents solve_matrices (QZ) on Jacobians", name, t_sm, "SciPy ordqz + BK")]
    dyn = dynare_measured()
    if dyn is not None:
        rows.append(("Dynare 5.3 dynare_resolve (measured here, Octave)", "fs2000", (dyn[0], dyn[1]),
                     f"tests/data/dynare/timings.json, load {dyn[2][0]:.1f}" if dyn[2] else "timings.json"))
    rows.append(("Dynare 5.3 dynare_resolve (issue 2)", "fs2000", (DYNARE_ISSUE_MS / 1e3, None),
                 "quoted in issue 2"))
    fresh_tab = [] if args.quick else fresh_rows()

    load_avg = os.getloadavg()
    lines = ["# Linear layer benchmark (`python benchmarks/bench_linear.py`)", "",
             f"Machine: {os.cpu_count()} CPUs, load average {load_avg[0]:.1f} / {load_avg[1]:.1f} / "
             f"{load_avg[2]:.1f} during the run; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
             "Per-call times, best of 5 repeats.", "",
             "| what | model | wall time per call | CPU time per call | note |", "|---|---|---|---|---|"]

    def fmt(t):
        return "—" if t is None else (f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.3f} ms")

    for what, model, t, note in rows:
        wall, cpu = t if t is not None else (None, None)
        lines.append(f"| {what} | {model} | {fmt(wall)} | {fmt(cpu)} | {note} |")
    lines += ["", "Ratios (same run; the Python peers are in `results/peers.md`, from `bench_peers.py`):", ""]
    if "fs2000" in ours:
        lines.append(f"* Dynare dynare_resolve 2.5 ms (issue 2) / Resolver on fs2000 (wall): "
                     f"{DYNARE_ISSUE_MS / 1e3 / ours['fs2000']:.1f}× (target ≥ 10×)")
        if dyn is not None:
            lines.append(f"* Dynare dynare_resolve measured here ({dyn[0] * 1e3:.1f} ms wall"
                         + (f", {dyn[1] * 1e3:.1f} ms CPU" if dyn[1] else "") + ") / Resolver on fs2000: "
                         f"{dyn[0] / ours['fs2000']:.0f}× wall"
                         + (f", {dyn[1] / ours_cpu['fs2000']:.0f}× CPU" if dyn[1] else ""))
    if "nk3" in ours:
        lines.append(f"* nk3 Resolver: {ours['nk3'] * 1e6:.1f} µs wall, {ours_cpu['nk3'] * 1e6:.1f} µs CPU "
                     "(target ≤ 30 µs)")
    if fresh_tab:
        lines += ["", "| fresh process | wall s | exit |", "|---|---|---|"]
        lines += [f"| {w} | {dt:.2f} | {rc} |" for w, dt, rc in fresh_tab]
    lines += ["", "Notes: the Resolver fuses the model's generated Numba `steady_state`/`jacobian` with "
              "cyclic reduction (column-sparse iterates, hand-written LU) in one cached `@njit` function; "
              "QZ (SciPy) is used for diagnostics and by `solve(method='qz')`. The machine is shared with other jobs, so absolute times are noisy; ratios within one run are meaningful. "
              "The Python peers are measured by `benchmarks/bench_peers.py` (`results/peers.md`)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_result(text, "linear")


if __name__ == "__main__":
    main()
