"""Benchmark of the model layer: parse + derivatives + compile, first vs warm calls.

For nk3 (models/nk3.yaml) and fs2000 (models/fs2000.mod, skipped if absent),
each measured in FRESH processes:

* ``cold``   – empty cache directory: parse, SymPy derivatives, source generation,
               Numba compilation (written to the on-disk cache);
* ``cached`` – second process on the same cache directory: parse, import of the
               generated module, Numba functions loaded from the on-disk cache
               (no SymPy differentiation, no LLVM compilation);
* ``exec``   – the same source exec'd in memory with ``@njit`` (no cache file):
               what one gets without the generated-file trick; recompiles in every process.

Then, in this process, warm per-call costs of ``jacobian`` and ``steady_state``
from Python and from inside an ``@njit`` loop (what the linear layer's jitted
re-solve path pays).

Also (``--dynare``, needs ``octave`` and Dynare 5.3 in /usr/lib/dynare/matlab): exports nk3.yaml,
rbc.yaml and fs2000.mod with ``dsge-agents export``, runs each exported file in Dynare and compares
its IRFs and steady state with the Dynare reference JSON of tests/data/dynare/ (the acceptance check
"a model exported by dsge-agents export runs in Dynare 5.3 and gives the same IRFs").

Run: ``python benchmarks/bench_model.py [--dynare]`` (writes benchmarks/results/model.md).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from dsge_agents.model import load
from dsge_agents.model.compiled import CompiledModel
t1 = time.perf_counter()
import warnings; warnings.simplefilter("ignore")
m = load(sys.argv[1])
t2 = time.perf_counter()
cm = CompiledModel(m, use_cache=(sys.argv[2] != "exec"))
t3 = time.perf_counter()
th = cm.theta()
ss = cm.steady_state(th)
t4 = time.perf_counter()
J = cm.jacobian(ss, th)
t5 = time.perf_counter()
u = np.zeros(len(m.shocks))
r = cm.residual(ss, ss, ss, u, th)
t6 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "parse": t2 - t1, "derive+codegen+import": t3 - t2,
                  "first steady_state": t4 - t3, "first jacobian": t5 - t4, "first residual": t6 - t5,
                  "total": t6 - t0}))
"""


def child(model: Path, mode: str, cache: str) -> dict:
    env = dict(os.environ, DSGE_AGENTS_CACHE=cache, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), mode], env=env, capture_output=True,
                         text=True, check=True, cwd=str(REPO))
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_call(model: Path, n: int = 20000) -> dict:
    import warnings
    from numba import njit
    from dsge_agents.model import load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(model)
    cm = m.compiled
    th = cm.theta()
    ss = cm.steady_state(th)
    jac, sst = cm.jacobian, cm.steady_state
    cm.jacobian(ss, th)
    t = time.perf_counter()
    for _ in range(n):
        jac(ss, th)
    py_jac = (time.perf_counter() - t) / n
    res = {"jacobian from Python (us)": py_jac * 1e6}
    if cm.analytic_steady_state:
        t = time.perf_counter()
        for _ in range(n):
            sst(th)
        res["steady_state from Python (us)"] = (time.perf_counter() - t) / n * 1e6

        @njit
        def loop(theta, k):
            acc = 0.0
            for i in range(k):
                s = sst(theta)
                A_lag, A_cur, A_lead, A_u = jac(s, theta)
                acc += A_cur[0, 0]
            return acc

        loop(th, 1)
        t = time.perf_counter()
        loop(th, n)
        res["steady_state + jacobian inside @njit (us)"] = (time.perf_counter() - t) / n * 1e6
    return res


def dynare_export_check() -> list[str]:
    """Export -> run in Dynare 5.3 -> compare with tests/data/dynare/*.json."""
    import shutil
    if shutil.which("octave") is None or not Path("/usr/lib/dynare/matlab").exists():
        return ["(Dynare export check skipped: octave/Dynare not installed)"]
    out = ["", "Export check: `dsge-agents export` -> Dynare 5.3 (Octave) -> IRFs vs tests/data/dynare reference:",
           "", "| model | reference | IRF series | max abs IRF diff | max abs steady-state diff |", "|---|---|---|---|---|"]
    work = Path(tempfile.mkdtemp(prefix="dsge_export_"))
    for src, ref in (("nk3.yaml", "nk3"), ("rbc.yaml", "rbc"), ("fs2000.mod", "fs2000_solution")):
        mp = REPO / "models" / src
        refp = REPO / "tests" / "data" / "dynare" / f"{ref}.json"
        if not (mp.exists() and refp.exists()):
            continue
        name = mp.stem + "_exp"
        modp = work / f"{name}.mod"
        subprocess.run([sys.executable, "-m", "dsge_agents.cli.main", "export", str(mp), "-o", str(modp)],
                       check=True, cwd=str(REPO), env=dict(os.environ, PYTHONPATH=str(REPO)))
        with open(modp, "a") as fh:
            fh.write(f"write_json('{name}.json', solution_struct(M_, oo_, options_));\n")
        octave_dir = REPO / "tests" / "data" / "dynare" / "octave"
        cmd = ["octave", "--no-gui", "--no-window-system", "--eval",
               f"addpath('/usr/lib/dynare/matlab'); addpath('{octave_dir}'); dynare {name} noclearall nograph"]
        subprocess.run(cmd, cwd=str(work), capture_output=True, check=True)
        a = json.loads((work / f"{name}.json").read_text())
        b = json.loads(refp.read_text())
        irf = max(float(np.max(np.abs(np.array(a["irfs"][k]) - np.array(v)))) for k, v in b["irfs"].items())
        ssd = max(abs(a["steady_state"][k] - v) for k, v in b["steady_state"].items())
        out.append(f"| {src} | {refp.name} | {len(a['irfs'])}/{len(b['irfs'])} | {irf:.2e} | {ssd:.2e} |")
    out.append("")
    out.append("Command per model: `dsge-agents export models/M -o M_exp.mod`, then "
               "`octave --no-gui --no-window-system --eval \"addpath('/usr/lib/dynare/matlab'); "
               "addpath('tests/data/dynare/octave'); dynare M_exp noclearall nograph\"` with a `write_json` tail.")
    return out


def main() -> int:
    models = [REPO / "models" / "nk3.yaml", REPO / "models" / "fs2000.mod"]
    rows = []
    calls = {}
    for mp in models:
        if not mp.exists():
            print(f"skip {mp} (absent)")
            continue
        with tempfile.TemporaryDirectory() as cache:
            cold = child(mp, "cached", cache)
            warm = child(mp, "cached", cache)
        with tempfile.TemporaryDirectory() as cache:
            ex = child(mp, "exec", cache)
        for mode, r in (("cold (empty cache)", cold), ("cached (2nd process)", warm), ("exec'd, no cache", ex)):
            rows.append((mp.name, mode, r))
        calls[mp.name] = per_call(mp)
    keys = ["import", "parse", "derive+codegen+import", "first steady_state", "first jacobian",
            "first residual", "total"]
    lines = ["# Model layer benchmark (`python benchmarks/bench_model.py`)", "",
             f"Machine: {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
             "Fresh process per row; seconds.", "",
             "| model | mode | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for name, mode, r in rows:
        lines.append(f"| {name} | {mode} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    lines += ["", "Warm per-call costs (microseconds):", "", "| model | measure | us |", "|---|---|---|"]
    for name, d in calls.items():
        for k, v in d.items():
            lines.append(f"| {name} | {k} | {v:.2f} |")
    lines += ["", "`cold`: SymPy differentiates once and Numba compiles; the generated source is written to the cache",
              "directory and imported, so Numba's on-disk cache works across processes (`cached`: no SymPy",
              "differentiation, no LLVM compilation). `exec'd`: the same source exec'd in memory recompiles in",
              "every process. The first call of any cached Numba function in a process also pays Numba's",
              "one-time initialisation (~1 s here)."]
    if "--dynare" in sys.argv:
        lines += dynare_export_check()
    text = "\n".join(lines) + "\n"
    print(text)
    out = REPO / "benchmarks" / "results" / "model.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
