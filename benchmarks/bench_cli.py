"""Benchmark of the command line: wall time of ``dsge-agents irf`` (bundled default model, no arguments).

Issue 2 target: < 2 s on the second (warm) run. Everything runs in fresh subprocesses from an empty
working folder, with the generated-code cache (``DSGE_AGENTS_CACHE``) and Numba's on-disk cache
(``NUMBA_CACHE_DIR``) pointed at a new temporary folder:

* ``cold``  – first run on the empty caches: the model is built and its code generated, Numba
              compiles every kernel the command calls (Python's own bytecode caches are not cleared);
* ``warm``  – the next runs on the same caches (median of 5; min and max shown);
* ``warm, --no-plot`` – the same without the figure (median of 3).

Rows are given for the console script ``dsge-agents`` and, when pyenv is used, for its shim (what a
shell runs when one types ``dsge-agents``: bash + ``pyenv exec``, an overhead of the environment). Then, on the warm
caches:

* an import-time breakdown (``python -X importtime``) of the warm run: the heavy packages by the time
  their first import took (disjoint: each module counted once, where first imported);
* a phase breakdown of one warm run (the real ``main(["irf"])`` in a fresh process with timers around
  model loading, solve, figure; the interpreter's own start-up is the difference to the wall time);
* Numba's fixed start-up: the first call of a trivial cached ``@njit`` function in a fresh process
  (what the first Numba dispatcher of any process pays, independent of the model).

Run: ``python benchmarks/bench_cli.py`` (writes benchmarks/results/cli.md). The load average is recorded
next to the numbers: on the shared 2-core machine, wall times scale with it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_result

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "cli.md"
TARGET = 2.0
N_WARM = 5

PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from dsge_agents.cli import main as M
import dsge_agents.cli.irf as I

t_import_cli = time.perf_counter() - t0
T = {}

def timed(name, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            T[name] = T.get(name, 0.0) + time.perf_counter() - t
    return wrapper

I.load_model = timed("load model (api/model imports, cached model or economy build)", I.load_model)
_orig_run = I.run
def run(args):
    t = time.perf_counter()
    import dsge_agents.linear as L
    T["import dsge_agents.linear (scipy.linalg)"] = time.perf_counter() - t
    L.solve = timed("solve (model functions + QZ)", L.solve)
    import dsge_agents.plots.irf as PL
    save = PL.save_irf_png
    def save_irf_png(*a, **k):
        t = time.perf_counter()
        import PIL.Image, PIL.ImageDraw, PIL.ImageFont, PIL.PngImagePlugin
        T["figure: import Pillow"] = time.perf_counter() - t
        t = time.perf_counter()
        out = save(*a, **k)
        T["figure: layout + render + PNG encode"] = time.perf_counter() - t
        return out
    PL.save_irf_png = save_irf_png
    return _orig_run(args)
I.run = run     # register() reads the module's run when main() builds the parser
t1 = time.perf_counter()
rc = M.main(["irf"])
total = time.perf_counter() - t0
T["start-up (import cli, argparse)"] = t_import_cli
T["other (IRF arrays, headline choice, impact table, ...)"] = (time.perf_counter() - t1) - sum(
    v for k, v in T.items() if k != "start-up (import cli, argparse)")
print("PHASES" + json.dumps({"total": total, "rc": rc, "phases": T}))
"""

NUMBA_INIT = r"""
import json, sys, time, importlib.util
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("bench_numba_probe", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
t2 = time.perf_counter()
mod.f(1.0)
t3 = time.perf_counter()
mod.g(1.0)
t4 = time.perf_counter()
print("NUMBA" + json.dumps({"import numba": t1 - t0, "first cached call": t3 - t2, "second function": t4 - t3}))
"""
PROBE = "from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x + 1.0\n\n\n" \
        "@njit(cache=True)\ndef g(x):\n    return x * 2.0\n"

HEAVY = ["numpy", "scipy.linalg", "scipy.optimize", "scipy.sparse", "numba", "matplotlib", "pandas", "sympy",
         "yaml", "PIL.Image", "dsge_agents.economy.builder"]


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run(cmd, env, cwd, quiet=True):
    r0 = os.times()
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    r1 = os.times()
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    return wall, cpu, r


def importtime(cmd, env, cwd):
    """Seconds of the first import of each HEAVY module, exclusive of HEAVY modules first imported
    inside it (so the rows are disjoint), and the total of all top-level imports."""
    _, _, r = run([sys.executable, "-X", "importtime", *cmd], env, cwd)
    entries = []   # (indent, name, cumulative µs), post-order as printed
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            entries.append((len(m.group(3)), m.group(4), int(m.group(2))))
    total = sum(c for d, _, c in entries if d == 1)
    # parent of an entry: the first later entry that is indented less (post-order)
    parent, stack = [None] * len(entries), []
    for k in range(len(entries) - 1, -1, -1):   # reversed post-order: a parent before its children
        while stack and entries[stack[-1]][0] >= entries[k][0]:
            stack.pop()
        parent[k] = stack[-1] if stack else None
        stack.append(k)

    def heavy_ancestor(k):
        j = parent[k]
        while j is not None and entries[j][1] not in HEAVY:
            j = parent[j]
        return j

    out = {}
    for p, (d, name, c) in enumerate(entries):
        if name in HEAVY and name not in out:
            inner = sum(ck for k, (_, nk, ck) in enumerate(entries) if nk in HEAVY and heavy_ancestor(k) == p)
            out[name] = (c - inner) / 1e6
    return out, total / 1e6


def main() -> int:
    # the console script on PATH, and (if any) the pyenv shim a shell finds first (bash + `pyenv exec`)
    commands = []
    exe = shutil.which("dsge-agents")
    shim = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "shims" / "dsge-agents"
    if shim.is_file() and (exe is None or Path(exe).resolve() != shim.resolve()):
        commands.append(("dsge-agents irf (pyenv shim, as typed in a shell)", [str(shim), "irf"]))
    if exe:
        commands.append(("dsge-agents irf (console script)", [exe, "irf"]))
    else:
        commands.append(("python -m dsge_agents.cli.main irf", [sys.executable, "-m", "dsge_agents.cli.main", "irf"]))

    tmp = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    work = tmp / "work"
    work.mkdir()
    env = dict(os.environ, DSGE_AGENTS_CACHE=str(tmp / "cache"), NUMBA_CACHE_DIR=str(tmp / "numba"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = [load()]
    rows = []
    try:
        # cold: the first command on the empty caches
        label0, cmd0 = commands[-1]
        wall, cpu, r = run(cmd0, env, work)
        rows.append((label0, "cold (empty caches)", 1, wall, wall, wall, cpu))
        fig = work / "irf_orchestrated_default.png"
        assert fig.exists() and fig.stat().st_size > 10000, "no figure written"
        for label, cmd in commands:
            res = [run(cmd, env, work) for _ in range(N_WARM)]
            walls = [w for w, _, _ in res]
            rows.append((label, "warm", N_WARM, statistics.median(walls), min(walls), max(walls),
                         statistics.median([c for _, c, _ in res])))
        label, cmd = commands[-1]
        res = [run(cmd + ["--no-plot"], env, work) for _ in range(3)]
        walls = [w for w, _, _ in res]
        rows.append((label, "warm, --no-plot", 3, statistics.median(walls), min(walls), max(walls),
                     statistics.median([c for _, c, _ in res])))
        loads.append(load())

        # import-time breakdown of the warm run
        cum, total = importtime(["-m", "dsge_agents.cli.main", "irf"], env, work)
        # phases of one warm run
        _, _, r = run([sys.executable, "-c", PHASES], env, work)
        phases = json.loads(r.stdout.split("PHASES", 1)[1])
        # Numba's own start-up (cache filled by a first process, measured in a second)
        probe = tmp / "bench_numba_probe.py"
        probe.write_text(PROBE)
        run([sys.executable, "-c", NUMBA_INIT, str(probe)], env, tmp)
        _, _, r = run([sys.executable, "-c", NUMBA_INIT, str(probe)], env, tmp)
        numba_init = json.loads(r.stdout.split("NUMBA", 1)[1])
        loads.append(load())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    warm = [r for r in rows if r[1] == "warm"][-1][3]
    verdict = "meets" if warm < TARGET else "misses"
    lines = [
        "# CLI start-up benchmark (`python benchmarks/bench_cli.py`)",
        "",
        f"Machine: {os.cpu_count()} CPUs (shared); {started}; load average (1/5/15 min) before / after the "
        f"timed runs / at the end: {loads[0]} / {loads[1]} / {loads[2]}. Fresh process per run, empty working "
        "folder, `DSGE_AGENTS_CACHE` and `NUMBA_CACHE_DIR` in a new temporary folder. Seconds.",
        "",
        "| command | run | n | median wall | min | max | CPU (user+sys, median) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| `{a}` | {b} | {n} | {m:.3f} | {lo:.3f} | {hi:.3f} | {c:.3f} |" for a, b, n, m, lo, hi, c in rows]
    lines += ["", f"Target (issue 2): warm < {TARGET:.0f} s — the warm console-script run "
                  f"**{verdict}** it ({warm:.2f} s median).", ""]
    lines += ["Phases of one warm run (`main([\"irf\"])` in a fresh process, timers around each step):", "",
              "| phase | s |", "|---|---|"]
    for k, v in sorted(phases["phases"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.3f} |")
    lines += [f"| **total (in-process)** | **{phases['total']:.3f}** |", ""]
    lines += ["Import-time breakdown of the warm run (`python -X importtime`; first import of each package, "
              "cumulative, disjoint):", "", "| package | s |", "|---|---|"]
    for name in HEAVY:
        if name in cum:
            lines.append(f"| {name} | {cum[name]:.3f} |")
    lines += [f"| not imported | {', '.join(n for n in HEAVY if n not in cum) or '-'} |",
              f"| all imports (top level, incl. ours and the stdlib) | {total:.3f} |", ""]
    lines += ["Numba's fixed start-up in a fresh process (trivial `@njit(cache=True)` functions, cache warm): "
              f"`import numba` {numba_init['import numba']:.3f} s, first cached call "
              f"{numba_init['first cached call']:.3f} s (typing/lowering registries), a second cached "
              f"function {numba_init['second function']:.3f} s.", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    write_result(text, path=OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
