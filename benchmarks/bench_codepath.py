"""Code-path switch for mid-size models (NUMBA_THRESHOLD): first solve vs re-solve speed.

For the synthetic agent economies ``builder.synthetic_config(N, "chain")`` with N = 10, 12, 16
(99, 117, 153 equations) each row is a fresh process with an empty model cache (Numba's cache holds
only the package's own solver, see below), timing

* ``build + first solve`` — ``builder.build_model`` (config, steady state, model, code
  generation) and ``linear.solve(m)`` (default ``method="auto"``: QZ below 400 variables);
* ``re-solve`` — a second ``linear.solve(m)`` in the same process;
* ``Resolver build`` / ``Resolver call`` — ``linear.Resolver(m)`` (the estimation hot path: the
  fused Numba re-solver on Numba code, the NumPy Jacobian + compiled cyclic reduction on NumPy
  code) with its first call at θ, and the mean of 20 further calls.

Numba's cache holds the package's own model-independent solver (compiled once beforehand, as after
any first use); the model cache and the model-specific Numba code start empty. Each case runs
once with the shipped switch (``DSGE_AGENTS_NUMBA_THRESHOLD`` unset: NumPy code above 100
equations) and once with Numba code forced (``DSGE_AGENTS_NUMBA_THRESHOLD=400``, the switch
before 2026-11-26). Both give the same T (max abs difference reported).

Writes benchmarks/results/codepath.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CASES = [10, 12, 16]

_WORKER = r"""
import json, sys, time
sys.path.insert(0, {repo!r})
import numpy as np
t = time.perf_counter()
from dsge_agents.economy import builder
from dsge_agents import linear

m = builder.build_model(builder.synthetic_config({n}, "chain"))
sol = linear.solve(m)
t1 = time.perf_counter()
linear.solve(m)
t2 = time.perf_counter()
r = linear.Resolver(m)
th = r.theta()
r(th)
t3 = time.perf_counter()
reps = 20
for _ in range(reps):
    ss, T, R, code = r(th)
t4 = time.perf_counter()
np.save({tfile!r}, sol.T)
print(json.dumps({{"eqs": len(m.equations), "numpy_code": bool(m.compiled.large), "method": sol.method,
                  "first": t1 - t, "resolve": t2 - t1, "resolver_build": t3 - t2,
                  "resolver_call": (t4 - t3) / reps, "code": int(code)}}))
"""


_WARM = r"""
import sys
sys.path.insert(0, {repo!r})
import numpy as np
from dsge_agents.linear.cyclic import cr_solve
n = 2
cr_solve(np.eye(n) * 0.5, -np.eye(n), np.eye(n) * 0.1, np.eye(n), 1.000001, 1e-13, 100)
"""


def warm_package_cache(numba_dir: Path) -> None:
    """Compile the package's own (model-independent) Numba solver into ``numba_dir`` once, as
    after any first use: the rows then differ only by model-specific compilation."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_dir))
    subprocess.run([sys.executable, "-c", _WARM.format(repo=str(REPO))], env=env, check=True)


def run(n: int, numba_threshold: str | None, numba_base: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(numba_base, Path(tmp) / "numba")
        env = dict(os.environ, DSGE_AGENTS_CACHE=str(Path(tmp) / "cache"), NUMBA_CACHE_DIR=str(Path(tmp) / "numba"))
        env.pop("DSGE_AGENTS_NUMBA_THRESHOLD", None)
        env.pop("DSGE_AGENTS_LARGE_THRESHOLD", None)
        if numba_threshold:
            env["DSGE_AGENTS_NUMBA_THRESHOLD"] = numba_threshold
        tfile = str(Path(tmp) / "T.npy")
        code = _WORKER.format(repo=str(REPO), n=n, tfile=tfile)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        import numpy as np

        res["T"] = np.load(tfile)
        return res


def main() -> int:
    rows = []
    base = Path(tempfile.mkdtemp(prefix="dsge_agents_bench_numba_"))
    warm_package_cache(base)
    for n in CASES:
        a = run(n, None, base)
        b = run(n, "400", base)
        diff = float(abs(a.pop("T") - b.pop("T")).max())
        for label, r in (("shipped switch", a), ("Numba forced", b)):
            rows.append(
                f"| {r['eqs']} | {label} | {'NumPy' if r['numpy_code'] else 'Numba'} | {r['method']} | "
                f"{r['first']:.2f} | {r['resolve'] * 1e3:.0f} | {r['resolver_build']:.1f} | "
                f"{r['resolver_call'] * 1e3:.1f} | {diff:.1e} |"
            )
            print(rows[-1], flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = "\n".join(
        [
            "## Code path of mid-size models (`benchmarks/bench_codepath.py`)",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 shared cores (load average {load:.1f} "
            "at the end). Synthetic agent economies (`synthetic_config(N, \"chain\")`, N = 10, 12, 16), one "
            "fresh process per row with an empty model cache; Numba's cache holds only the package's own "
            "model-independent cyclic reduction (compiled once beforehand, as after any first use). *shipped switch*: NumPy code above "
            "`NUMBA_THRESHOLD` = 100 equations; *Numba forced*: `DSGE_AGENTS_NUMBA_THRESHOLD=400` (the "
            "switch before). `build + first solve` includes code generation and compilation; `Resolver "
            "build`: the fused Numba re-solver's compilation (Numba code) or loading the compiled cyclic "
            "reduction (NumPy code), plus the first call. "
            "`max |ΔT|`: the two rows' solutions.",
            "",
            "| equations | switch | code | solver | build + first solve (s) | re-solve (ms) | Resolver build (s) "
            "| Resolver call (ms) | max abs ΔT |",
            "|---:|---|---|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    write_result(text, "codepath")
    return 0


if __name__ == "__main__":
    sys.exit(main())
