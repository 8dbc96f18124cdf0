"""dsge_agents runner: the same protocol as the peer runners (see _common.py), run by the Python of
dsge_agents itself, so that ours is measured exactly as the peers are (own process, same timing
helper, same parameter change).

Re-solve = ``Resolver(model)(theta)``: analytic steady state + generated Jacobians at θ + cyclic
reduction + BK check + decision rules, one compiled call. ``first`` = import + load (parse,
derivatives, code generation or cache hit) + ``solve`` (QZ, full Solution object).
"""
from __future__ import annotations

import os
import sys

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = {"nk3": os.path.join(REPO, "models", "nk3.yaml"), "fs2000": os.path.join(REPO, "models", "fs2000.mod")}
SPEC = {"nk3": (C.NK3_CALIB, C.NK3_CHANGE, C.NK3_VARS, C.NK3_SHOCKS),
        "fs2000": (C.FS_CALIB, C.FS_CHANGE, C.FS_VARS, C.FS_SHOCKS)}


def resolve(args):
    sys.path.insert(0, REPO)
    from dsge_agents.linear import Resolver
    from dsge_agents.model import load
    calib, change, variables, shocks = SPEC[args.model]
    model = load(MODELS[args.model])
    r = Resolver(model)
    rows = [list(model.variables).index(v) for v in variables]
    cols = [list(model.shocks).index(s) for s in shocks]
    pts = (r.theta(calib), r.theta(C.changed(calib, change)))
    check = {}
    for key, th in zip(("calib", "changed"), pts):
        ss, T, R, code = r(th)
        if code != 0:
            raise RuntimeError(f"Resolver returned code {code}")
        check[key] = C.irf_from_state_space(T, R[:, cols], rows)
    wall, cpu, n = C.per_call(C.alternating(r, *pts), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n,
            "what": "Resolver(model)(theta): ss + Jacobians + cyclic reduction + BK + rules"}


def first(args):
    import time
    t0 = time.perf_counter()
    sys.path.insert(0, REPO)
    from dsge_agents.linear import solve
    from dsge_agents.model import load
    t1 = time.perf_counter()
    model = load(MODELS[args.model])
    sol = solve(model)
    t2 = time.perf_counter()
    _, _, variables, shocks = SPEC[args.model]
    rows = [list(model.variables).index(v) for v in variables]
    cols = [list(model.shocks).index(s) for s in shocks]
    return {"import_s": t1 - t0, "first_solve_s": t2 - t1, "since_start_s": t2 - C.T_START,
            "check": {"calib": C.irf_from_state_space(sol.T, sol.R[:, cols], rows)},
            "what": "import dsge_agents; solve(load('models/fs2000.mod'))"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve, ("resolve", "fs2000"): resolve, ("first", "fs2000"): first,
           ("first", "nk3"): first}, ("dsge_agents", "numba"))
