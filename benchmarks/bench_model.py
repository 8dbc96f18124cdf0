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

Large agent economies (``builder.synthetic_config(N)``, N = 60, 240, 600 chain and 600 star): from_dict,
code generation, first steady-state check and Jacobian, peak RSS, cold and warm, plus the two code paths
(NumPy vs SymPy+Numba) on one N = 20 model (``--no-large`` skips them, ``--large-only`` runs only them).

Run: ``python benchmarks/bench_model.py [--dynare] [--no-large | --large-only]`` (writes
benchmarks/results/model.md).
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

from _results import write_result

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


CHILD_LARGE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from dsge_agents.economy import builder
from dsge_agents.economy.calibration import steady_state
from dsge_agents.model import from_dict
from dsge_agents.model.compiled import compile_model
from dsge_agents.model.steady import steady_state_vector
t1 = time.perf_counter()
n, top, use_cache, force = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4]
cfg = builder.synthetic_config(n, top)
d = builder.build(cfg, steady_state(cfg))
t2 = time.perf_counter()
m = from_dict(d, cache=use_cache)
t3 = time.perf_counter()
cm = compile_model(m, large={"auto": None, "small": False, "large": True}[force])
m._compiled = cm      # steady_state_vector uses m.compiled: the forced code path
t4 = time.perf_counter()
th = cm.theta()
ss = steady_state_vector(m, th)
t5 = time.perf_counter()
J = cm.jacobian_coo(ss, th)
t6 = time.perf_counter()
J = cm.jacobian_coo(ss, th)
t7 = time.perf_counter()
dense = None
if len(m.variables) <= 2500:
    t = time.perf_counter()
    A = cm.jacobian(ss, th)
    dense = time.perf_counter() - t
print(json.dumps({"n_eq": len(m.equations), "nnz": sum(len(v[0]) for v in J.values()), "large": cm.large,
                  "import": t1 - t0, "builder dict": t2 - t1, "from_dict": t3 - t2,
                  "derive+codegen+import": t4 - t3, "steady state + residual check": t5 - t4,
                  "first jacobian_coo": t6 - t5, "jacobian_coo": t7 - t6, "dense jacobian": dense,
                  "peak RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                  "sympy imported": "sympy" in sys.modules}))
"""


def child_large(n: int, top: str, cache: str, use_cache: bool, force: str = "auto") -> dict:
    env = dict(os.environ, DSGE_AGENTS_CACHE=cache, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", CHILD_LARGE, str(n), top, "1" if use_cache else "0", force],
                         env=env, capture_output=True, text=True, check=True, cwd=str(REPO))
    return json.loads(out.stdout.strip().splitlines()[-1])


def large_rows(sizes=(60, 240, 600)) -> list[str]:
    """Large agent economies (builder.synthetic_config): parse, derivatives, code generation, first Jacobian."""
    keys = ["from_dict", "derive+codegen+import", "steady state + residual check", "first jacobian_coo",
            "jacobian_coo", "dense jacobian", "peak RSS MB"]
    lines = ["", "## Large models (agent economies, `builder.synthetic_config(N, DAG)`)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
             "Fresh process per row; seconds. `cold`: empty cache directory, `from_dict(d)` parses; "
             "`warm`: second process, `from_dict(d, cache=True)` reads the pickled model and the generated "
             "module is imported (no parsing, no differentiation, no SymPy). `nnz` = structural nonzeros of "
             "the four Jacobian blocks. `dense jacobian` = the dense `jacobian()` assembled from the triplets "
             "(skipped above 2,500 variables: 3 × n² doubles).", "",
             "| N | DAG | code path | mode | equations | nnz | " + " | ".join(keys) + " | SymPy imported |",
             "|---|---|---|---|---|---|" + "---|" * (len(keys) + 1)]
    cases = [(n, "chain") for n in sizes] + ([(600, "star")] if 600 in sizes else [])
    for n, top in cases:
        with tempfile.TemporaryDirectory() as cache:
            for mode, use_cache in (("cold", True), ("warm", True)):
                r = child_large(n, top, cache, use_cache)
                path = "NumPy (large)" if r["large"] else "SymPy+Numba"
                vals = " | ".join("–" if r[k] is None else (f"{r[k]:.0f}" if k == "peak RSS MB" else f"{r[k]:.3f}")
                                  for k in keys)
                lines.append(f"| {n} | {top} | {path} | {mode} | {r['n_eq']} | {r['nnz']} | {vals} | "
                             f"{'yes' if r['sympy imported'] else 'no'} |")
                print(lines[-1], flush=True)
    # the two code paths on the same model (first result = parse + code + compile + first Jacobian)
    lines += ["", "Code path comparison on one model (N = 20, chain, 189 equations; cold = empty cache):", "",
              "| code path | derive+codegen+import | first jacobian_coo | jacobian_coo | time to first Jacobian |",
              "|---|---|---|---|---|"]
    for force, label in (("large", "vectorized NumPy, per-shape reverse-mode derivatives"),
                         ("small", "SymPy derivatives + global CSE + one @njit function per block")):
        with tempfile.TemporaryDirectory() as cache:
            r = child_large(20, "chain", cache, False, force)
        tot = r["derive+codegen+import"] + r["steady state + residual check"] + r["first jacobian_coo"]
        lines.append(f"| {label} | {r['derive+codegen+import']:.3f} | {r['first jacobian_coo']:.3f} | "
                     f"{r['jacobian_coo'] * 1e6:.0f} us | {tot:.3f} |")
        print(lines[-1], flush=True)
    return lines


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
    load0 = os.getloadavg()
    if "--large-only" in sys.argv:
        models = []
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
    lines += ["", "`cold`: parse, SymPy differentiates once and Numba compiles; the generated source is written to the",
              "cache directory and imported, so Numba's on-disk cache works across processes (`cached`: the parsed",
              "model is read from the model cache (`load(cache=True)`: no parsing, no SymPy import), no SymPy",
              "differentiation, no LLVM compilation). `exec'd`: the same source exec'd in memory recompiles in",
              "every process. The first call of any cached Numba function in a process also pays Numba's",
              "one-time initialisation."]
    if "--no-large" not in sys.argv:
        lines += large_rows()
    lines += ["", f"Load average (1, 5, 15 min) at start: {load0[0]:.2f}, {load0[1]:.2f}, {load0[2]:.2f}; "
              f"at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores shared with other jobs)."]
    if "--dynare" in sys.argv:
        lines += dynare_export_check()
    text = "\n".join(lines) + "\n"
    out = REPO / "benchmarks" / "results" / "model.md"
    if "--large-only" in sys.argv and out.exists():
        # keep the small-model tables and the Dynare export check of the previous run
        old = out.read_text()
        head = old.split("\n## Large models", 1)[0].rstrip("\n")
        tail = old.split("\nExport check:", 1)[1] if "\nExport check:" in old else None
        new = text.split("\n## Large models", 1)[1]
        text = head + "\n\n## Large models" + new + ("\nExport check:" + tail if tail else "")
        text = text.replace("\n\n\n", "\n\n")
    elif "--dynare" not in sys.argv and out.exists() and "\nExport check:" in out.read_text():
        # Dynare is not run: keep the export check of the last run that did (the model files and
        # the exporter decide it, not the timing)
        text = text.rstrip("\n") + "\n\nExport check:" + out.read_text().split("\nExport check:", 1)[1]
    print(text)
    write_result(text, path=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
