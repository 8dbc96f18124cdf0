"""Re-solve and first-solve benchmark against the Python peers, all measured in the same run (issue 2).

Usage::

    bash benchmarks/peers/setup_venvs.sh          # once: one virtual environment per peer
    python benchmarks/bench_peers.py               # table on stdout + benchmarks/results/peers.md
    python benchmarks/bench_peers.py --quick       # shorter timing batches, one fresh-process run each

Every program — dsge_agents included — runs in its own process through a runner script in
``benchmarks/peers/`` (protocol in ``benchmarks/peers/_common.py``), executed by that program's own
interpreter (``$PEERS_DIR/<name>/bin/python``, default ``/work/peers``; dsge_agents uses this
interpreter). Nothing of a peer is imported here, so a peer that pins other versions of NumPy or
Numba cannot change the environment of dsge_agents.

Before a time is reported, the peer's solution is checked against ours: unit-shock impulse
responses (12 periods, every variable of the comparison) at the calibration and at the changed
parameter must agree to 1e-6. The reference is computed here with ``dsge_agents.linear.solve``
(ordered QZ), a different code path from the ``Resolver`` (cyclic reduction) that is timed.
A peer that disagrees is reported as DIFFERS, without a ratio.

Re-solve = a call that takes new parameter values to new decision rules (steady state + Jacobians
at θ + solution), alternating between the calibration and the changed point on every call
(nk3: phi_pi 1.5 ↔ 1.7; fs2000: alp 0.33 ↔ 0.35); per call, best of several batches.
First solve = a fresh process that imports the program, reads the model file and solves it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS = HERE / "peers"
PEERS_DIR = Path(os.environ.get("PEERS_DIR", "/work/peers"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(PEERS))

import _common as C  # noqa: E402  (benchmarks/peers/_common.py)

from _results import write_result

TOL = 1e-6
TIMEOUT_S = 1200

# label, venv name (None = this interpreter), runner, what the issue quoted for nk3 re-solve
PROGRAMS = [
    ("dsge_agents", None, "run_ours.py", None),
    ("SymbolicDSGE 2.0 pre-release", "symbolicdsge2", "run_symbolicdsge.py", "0.034 ms"),
    ("SymbolicDSGE 1.4.3", "symbolicdsge14", "run_symbolicdsge.py", "0.19 ms"),
    ("gEconpy", "geconpy", "run_geconpy.py", "0.36 ms"),
    ("pydsge", "pydsge", "run_pydsge.py", "0.52 ms"),
    ("irispie", "irispie", "run_irispie.py", "0.93 ms"),
    ("linearsolve", "linearsolve", "run_linearsolve.py", "2.9 ms"),
]
DIST = {"dsge_agents": "dsge_agents", "symbolicdsge2": "SymbolicDSGE", "symbolicdsge14": "SymbolicDSGE",
        "geconpy": "gEconpy", "pydsge": "pydsge", "irispie": "irispie", "linearsolve": "linearsolve"}
SPEC = {"nk3": (REPO / "models" / "nk3.yaml", C.NK3_CALIB, C.NK3_CHANGE, C.NK3_VARS, C.NK3_SHOCKS),
        "fs2000": (REPO / "models" / "fs2000.mod", C.FS_CALIB, C.FS_CHANGE, C.FS_VARS, C.FS_SHOCKS)}


# ----------------------------------------------------------------------------- reference
def reference():
    """Unit-shock IRFs of ours by ordered QZ at the calibration and the changed point."""
    from dsge_agents.linear import solve
    from dsge_agents.model import load
    out = {}
    for name, (path, calib, change, variables, shocks) in SPEC.items():
        model = load(path)
        rows = [list(model.variables).index(v) for v in variables]
        cols = [list(model.shocks).index(s) for s in shocks]
        out[name] = {}
        for key, p in (("calib", calib), ("changed", C.changed(calib, change))):
            sol = solve(model, p)
            out[name][key] = np.array(C.irf_from_state_space(sol.T, sol.R[:, cols], rows))
    return out


def compare(check, ref):
    """(ok, max |difference|, detail) of a runner's check data against the reference."""
    if not check:
        return False, None, "no check data"
    worst = 0.0
    for key, got in check.items():
        want = ref.get(key)
        got = np.array(got, dtype=float)
        if want is None or got.shape != want.shape:
            return False, None, f"{key}: shape {got.shape} vs {None if want is None else want.shape}"
        if not np.all(np.isfinite(got)):
            return False, None, f"{key}: non-finite responses"
        worst = max(worst, float(np.max(np.abs(got - want))))
    return worst <= TOL, worst, ""


# ----------------------------------------------------------------------------- running a runner
def interpreter(venv):
    if venv is None:
        return Path(sys.executable)
    return PEERS_DIR / venv / "bin" / "python"


def run_runner(venv, runner, task, model, extra=(), env=None):
    """(payload dict, wall seconds of the whole process)."""
    py = interpreter(venv)
    cmd = [str(py), str(PEERS / runner), task, model, *extra]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=PEERS, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT_S} s"}, time.perf_counter() - t0
    wall = time.perf_counter() - t0
    for line in reversed(r.stdout.splitlines()):
        if line.startswith("PEER_JSON: "):
            return json.loads(line[len("PEER_JSON: "):]), wall
    tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
    return {"error": f"runner exited {r.returncode} without a result: {' | '.join(tail)}"[:400]}, wall


def install_hint(venv):
    return f"not installed (how to install: `bash benchmarks/peers/setup_venvs.sh {venv}`)"


def one_line(text, n=220):
    return " ".join(str(text).split())[:n]


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short batches, one fresh-process run each")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--only", nargs="*", help="venv names to run (dsge_agents always runs)")
    args = ap.parse_args(argv)
    target = "0.05" if args.quick else "0.3"
    repeats = "3" if args.quick else "5"
    fresh_runs = 1 if args.quick else 3
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()

    ref = reference()
    resolve_rows = []      # dicts: program, model, version, python, payload, ok, diff, status
    first_rows = []
    versions = {}
    for label, venv, runner, quoted in PROGRAMS:
        if args.only is not None and venv is not None and venv not in args.only:
            continue
        key = venv or "dsge_agents"
        if not interpreter(venv).exists():
            for model in SPEC:
                resolve_rows.append({"program": label, "model": model, "status": install_hint(venv)})
            first_rows.append({"program": label, "model": "fs2000", "status": install_hint(venv)})
            continue
        print(f"== {label}", flush=True)
        for model in SPEC:
            payload, _ = run_runner(venv, runner, "resolve", model, ("--target-s", target, "--repeats", repeats))
            versions.setdefault(key, payload.get("versions"))
            row = {"program": label, "model": model, "payload": payload, "quoted": quoted if model == "nk3" else None}
            if "unsupported" in payload:
                row["status"] = "not run: " + one_line(payload["unsupported"], 600)
            elif "error" in payload:
                row["status"] = "error (see Errors below): " + one_line(payload["error"], 120)
            else:
                ok, diff, detail = compare(payload.get("check"), ref[model])
                extra = {k: v for k, v in payload.items() if k.startswith("check_")}
                for k, v in extra.items():     # further check data a runner sends (other settings)
                    ok2, d2, _ = compare({"changed": v}, {"changed": ref[model]["changed"]})
                    ok = ok and ok2
                    diff = max(diff or 0.0, d2 or 0.0)
                row.update(ok=ok, diff=diff,
                           status=(f"same solution (max abs diff {diff:.1e})" if ok else
                                   f"DIFFERS from ours (max abs diff {diff if diff is None else f'{diff:.2e}'}"
                                   f"{'; ' + detail if detail else ''}) — not a benchmark"))
            print(f"   {model}: {row['status']}; "
                  f"{payload.get('resolve_s', float('nan')) * 1e3:.4f} ms wall" if "resolve_s" in payload else
                  f"   {model}: {row['status']}", flush=True)
            resolve_rows.append(row)
        # first solve of fs2000 in a fresh process
        env = dict(os.environ)
        trials = []
        if venv is None:       # ours: once with empty caches, then warm
            import tempfile
            tmp = tempfile.mkdtemp(prefix="bench_peers_cache_")
            env_cold = dict(env, DSGE_AGENTS_CACHE=tmp, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
            p, w = run_runner(venv, runner, "first", "fs2000", env=env_cold)
            trials.append(("empty caches", p, w))
            best = None
            for _ in range(fresh_runs):
                p, w = run_runner(venv, runner, "first", "fs2000", env=env_cold)
                if best is None or w < best[2]:
                    best = ("warm caches", p, w)
            trials.append(best)
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            best = None
            for _ in range(fresh_runs):
                p, w = run_runner(venv, runner, "first", "fs2000", env=env)
                if "unsupported" in p or "error" in p:
                    best = ("", p, w)
                    break
                if best is None or w < best[2]:
                    best = (f"best of {fresh_runs}" if fresh_runs > 1 else "", p, w)
            trials.append(best)
        for how, p, w in trials:
            row = {"program": label, "model": "fs2000", "how": how, "payload": p, "wall": w}
            if "unsupported" in p:
                row["status"] = "not run: " + one_line(p["unsupported"], 600)
            elif "error" in p:
                row["status"] = "error (see Errors below): " + one_line(p["error"], 120)
            else:
                ok, diff, detail = compare(p.get("check"), {"calib": ref["fs2000"]["calib"]})
                row.update(ok=ok, status=(f"same solution (max abs diff {diff:.1e})" if ok else
                                          f"DIFFERS (max abs diff {diff}; {detail})"))
            first_rows.append(row)
            print(f"   fs2000 first solve {how}: {w:.2f} s; {row['status']}", flush=True)

    load1 = os.getloadavg()
    text = render(resolve_rows, first_rows, versions, started, load0, load1, args.quick)
    print(text)
    if not args.no_write:
        write_result(text, "peers")


def fmt_t(t):
    if t is None:
        return "—"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else (f"{t * 1e3:.3f} ms" if t < 1 else f"{t:.2f} s")


def render(resolve_rows, first_rows, versions, started, load0, load1, quick):
    ours = {r["model"]: r["payload"] for r in resolve_rows
            if r["program"] == "dsge_agents" and r.get("ok")}
    lines = ["# Peers, measured in the same run (`python benchmarks/bench_peers.py`)", "",
             f"Run {started}; machine: {os.cpu_count()} CPUs shared with other jobs, load average "
             f"{load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} at the start and {load1[0]:.1f} / "
             f"{load1[1]:.1f} / {load1[2]:.1f} at the end" + (" (quick mode)" if quick else "") + ". "
             "Each program runs in its own process and virtual environment (`benchmarks/peers/`). "
             "Times are per call, best of 5 batches; the re-solve alternates between the calibration and "
             "a changed parameter (nk3: phi_pi 1.5 ↔ 1.7; fs2000: alp 0.33 ↔ 0.35), so every call "
             "really re-solves. CPU time (process time) is less disturbed by the other jobs on the "
             "machine than wall time; ratios are given for both.", "",
             "## Re-solve after a parameter change (steady state + Jacobians at θ + solution + decision rules)",
             "", "| program | model | wall / call | CPU / call | × ours (wall) | × ours (CPU) | issue 2 quoted | "
             "check against ours (unit-shock IRFs, 12 periods, both points, tol 1e-6) | what is timed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in resolve_rows:
        p = r.get("payload") or {}
        wall, cpu = p.get("resolve_s"), p.get("resolve_cpu_s")
        ratio = wratio = "—"
        if r.get("ok") and r["model"] in ours and cpu and r["program"] != "dsge_agents":
            ratio = f"{cpu / ours[r['model']]['resolve_cpu_s']:.0f}×"
            wratio = f"{wall / ours[r['model']]['resolve_s']:.0f}×"
        elif r["program"] == "dsge_agents" and r.get("ok"):
            ratio = wratio = "1×"
        if not r.get("ok"):
            wall = cpu = None
        lines.append(f"| {r['program']} | {r['model']} | {fmt_t(wall)} | {fmt_t(cpu)} | {wratio} | {ratio} | "
                     f"{r.get('quoted') or '—'} | {r['status']} | {p.get('what', '')} |")
        for name, v in (p.get("variants") or {}).items():
            if r.get("ok"):
                o = ours.get(r["model"])
                rr = f"{v['resolve_cpu_s'] / o['resolve_cpu_s']:.0f}×" if o else "—"
                wr = f"{v['resolve_s'] / o['resolve_s']:.0f}×" if o else "—"
                lines.append(f"| {r['program']} (variant) | {r['model']} | {fmt_t(v['resolve_s'])} | "
                             f"{fmt_t(v['resolve_cpu_s'])} | {wr} | {rr} | — | as above | {name} |")
    lines += ["", "## First solve of fs2000 in a fresh process (import + read the model + derivatives + "
              "compile + solve)", "",
              "| program | caches | whole process, wall | import | read + solve | check against ours | what |",
              "|---|---|---|---|---|---|---|"]
    for r in first_rows:
        p = r.get("payload") or {}
        ok = r.get("ok")
        lines.append(f"| {r['program']} | {r.get('how', '') or '—'} | {fmt_t(r.get('wall')) if ok else '—'} | "
                     f"{fmt_t(p.get('import_s')) if ok else '—'} | {fmt_t(p.get('first_solve_s')) if ok else '—'} | "
                     f"{r['status']} | {p.get('what', '')} |")
    lines += ["", "Issue 2 quoted for the fresh-process first solve of fs2000: gEconpy 0.3–1.7 s plus a 2.3 s "
              "import, irispie 7–9 ms (solve only).", "", "## Versions", "",
              "| program | versions |", "|---|---|"]
    for key, v in versions.items():
        if v:
            lines.append(f"| {key} | " + ", ".join(f"{k} {val}" for k, val in v.items()) + " |")
    errors = [r for r in resolve_rows + first_rows
              if (r.get("payload") or {}).get("error")]
    if errors:
        lines += ["", "## Errors (exact messages)", ""]
        seen = set()
        for r in errors:
            msg = one_line(r["payload"]["error"], 600)
            if (r["program"], msg) not in seen:
                seen.add((r["program"], msg))
                task = "first solve" if "how" in r else "re-solve"
                lines.append(f"* {r['program']}, {r['model']} ({task}): `{msg}`")
    lines += ["", "Notes: each runner's docstring in `benchmarks/peers/` says how the model is written for that "
              "program and which call is timed; the model files there were written for this benchmark from "
              "the equations of `models/nk3.yaml` and `models/fs2000.mod`. Recreate the environments with "
              "`bash benchmarks/peers/setup_venvs.sh`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
