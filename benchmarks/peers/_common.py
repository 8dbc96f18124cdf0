"""Shared helpers of the peer runner scripts (run by each peer's own virtual environment).

Protocol: ``<venv>/bin/python run_<peer>.py TASK MODEL [--target-s S] [--repeats N]`` with TASK in
``resolve`` (timing of a re-solve after a parameter change, plus the check data) or ``first`` (the
first solve in this fresh process: import + parse + derivatives + solve). The runner prints, as its
last line, ``PEER_JSON: {...}``; everything printed before it (peer chatter) is ignored.

The check data are impulse responses to a *unit* shock (period 1 = impact), in the state-space
form ``y_t = T y_{t-1} + R u_t``: they do not depend on how a peer names or orders its state
vector, so two programs that give the same responses solve the same model. ``bench_peers.py``
compares them with ours to 1e-6 before it reports any time.

No code of this file is taken from a peer; it only uses the standard library and NumPy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

T_START = time.perf_counter()          # as early as the runner can take it

HORIZON = 12
# nk3: calibration of models/nk3.yaml, and the changed point used by the re-solve timing
NK3_CALIB = {"beta": 0.99, "sigma": 1.0, "kappa": 0.1, "phi_pi": 1.5, "phi_x": 0.125,
             "rho_i": 0.5, "rho_r": 0.8}
NK3_CHANGE = {"phi_pi": 1.7}
NK3_VARS = ["x", "pi", "i", "rn"]
NK3_SHOCKS = ["e_i", "e_r"]
# fs2000: calibration of models/fs2000.mod; the change moves the steady state too
FS_CALIB = {"alp": 0.33, "bet": 0.99, "gam": 0.003, "mst": 1.011, "rho": 0.7, "psi": 0.787, "del": 0.02}
FS_CHANGE = {"alp": 0.35}
FS_VARS = ["c", "k", "n", "P", "R", "y", "m", "l", "W"]     # log deviations compared
FS_SHOCKS = ["e_a", "e_m"]


def changed(calib, change):
    out = dict(calib)
    out.update(change)
    return out


def per_call(fn, target_s=0.3, repeats=5):
    """(best wall, best CPU) seconds per call of ``fn()`` over ``repeats`` batches of ~target_s."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(2, int(target_s / one))
    n += n % 2                      # even: the alternating calls visit both parameter points equally
    best = cpu = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
        cpu = min(cpu, (time.process_time() - c0) / n)
    return best, cpu, n


def alternating(resolve, a, b):
    """A no-argument callable that re-solves at ``a``, then ``b``, then ``a``, ... (a real change each call)."""
    state = [0]
    pts = (a, b)

    def call():
        state[0] ^= 1
        return resolve(pts[state[0]])
    return call


def irf_from_state_space(T, R, rows, horizon=HORIZON):
    """Unit-shock responses ``{shock_index: [[row values] per period]}`` of y = T y(-1) + R u."""
    import numpy as np
    T = np.asarray(T, dtype=float)
    R = np.asarray(R, dtype=float)
    out = []
    for j in range(R.shape[1]):
        y = R[:, j].copy()
        path = []
        for _ in range(horizon):
            path.append([float(y[r]) for r in rows])
            y = T @ y
        out.append(path)
    return out          # [shock][period][variable]


def versions(*dists):
    from importlib import metadata
    out = {"python": platform.python_version()}
    for d in dists + ("numpy", "scipy"):
        try:
            out[d] = metadata.version(d)
        except Exception:  # noqa: BLE001
            pass
    return out


def run(handlers, dists, unsupported=None):
    """Parse the command line, call ``handlers[(task, model)](args)`` and print its dict as PEER_JSON.

    ``unsupported``: {model: reason} for models this program is not given here (reported as such).
    """
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["resolve", "first"])
    ap.add_argument("model")
    ap.add_argument("--target-s", type=float, default=0.3)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    out = {"task": args.task, "model": args.model}
    h = handlers.get((args.task, args.model))
    if h is None:
        out["unsupported"] = (unsupported or {}).get(args.model) or f"no {args.task} runner for {args.model}"
    else:
        try:
            out.update(h(args))
        except BaseException as exc:  # noqa: BLE001 - report every failure as data
            out["error"] = f"{type(exc).__name__}: {exc}"
            out["traceback"] = traceback.format_exc()[-3000:]
    try:
        out["versions"] = versions(*dists)
    except Exception:  # noqa: BLE001
        pass
    sys.stdout.flush()
    print("PEER_JSON: " + json.dumps(out), flush=True)
