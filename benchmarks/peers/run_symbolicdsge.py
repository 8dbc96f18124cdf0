"""SymbolicDSGE runner, for both the 2.0 pre-release and 1.4.3 (executed by
/work/peers/symbolicdsge2/bin/python or /work/peers/symbolicdsge14/bin/python; see _common.py).

The two versions read different model formats: models/nk3_symbolicdsge2.yaml (2.0: natural
timing, shocks in the equations) and models/nk3_symbolicdsge14.yaml (1.4: linearsolve timing,
shocks mapped onto exogenous states). Both solve x_{t+1} = A x_t + B e_{t+1}; the check takes the
unit-shock responses from A and B. Re-solve = ``DSGESolver.solve(compiled, parameters=θ)`` on a
model compiled once (2.0: Newton steady state + Jacobian + Klein; 1.4: linearization + Klein).

fs2000: 2.0 reads models/fs2000_symbolicdsge2.yaml (levels, Newton steady state from ss_seed; the
level responses are divided by the steady state to give log deviations, exact at first order);
1.4 reads models/fs2000_symbolicdsge14.yaml (linearsolve timing, steady state as closed-form
expressions of the parameters, symbolic log-linearization by ``compile(linearize=True)``; the
solution is then in log deviations around a zero point).
"""
from __future__ import annotations

import os
from importlib import metadata

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = metadata.version("SymbolicDSGE")
MAJOR = int(VERSION.split(".")[0])


def _load(name, linearize=False):
    from SymbolicDSGE import DSGESolver, ModelParser
    path = os.path.join(HERE, "models", f"{name}_symbolicdsge{'2' if MAJOR >= 2 else '14'}.yaml")
    parser = ModelParser(path)
    if MAJOR >= 2:
        solver = DSGESolver(parser.get())
    else:
        model, kalman = parser.get_all()
        solver = DSGESolver(model, kalman)
    return solver, (solver.compile(linearize=True) if linearize else solver.compile())


def _ab(sol):
    if MAJOR >= 2:
        return sol.policy.A, sol.policy.B, list(sol.compiled.var_names)
    return sol.A, sol.B, list(sol.compiled.var_names)


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    solver, compiled = _load("nk3")
    calib = dict(C.NK3_CALIB, s_i=0.25, s_r=0.5)
    pts = (calib, C.changed(calib, C.NK3_CHANGE))

    def resolve(p):
        return solver.solve(compiled, parameters=p)

    check = {}
    for key, p in zip(("calib", "changed"), pts):
        A, B, names = _ab(resolve(p))
        rows = [names.index(v) for v in C.NK3_VARS]
        check[key] = C.irf_from_state_space(A, B, rows)
    wall, cpu, n = C.per_call(C.alternating(resolve, *pts), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": names,
            "what": "DSGESolver.solve(compiled, parameters=θ) on a model compiled once"}


# SymbolicDSGE 1.4.3 and fs2000: see FS2000_14_REASON; set SYMBOLICDSGE14_FS2000=1 to attempt it anyway.
FS2000_14_REASON = ("1.4.3 has no steady-state solver; given closed-form steady states and symbolic "
                    "log-linearization (models/fs2000_symbolicdsge14.yaml), compile(linearize=True) ran ~10 min "
                    "and raised `ValueError: Equation 9 does not vanish at the supplied steady state: <SymPy "
                    "expression>` (Euler equation; the expression is 0 at the calibration: SymPy cannot prove "
                    "the identity). Not timed; SYMBOLICDSGE14_FS2000=1 repeats the attempt")
FS_EXTRA = {"s_a": 0.014, "s_m": 0.005}


def _fs_params(p):
    out = {("delta" if k == "del" else k): v for k, v in p.items()}
    out.update(FS_EXTRA)
    return out


def _fs_irf(sol):
    import numpy as np
    A, B, names = _ab(sol)
    if MAJOR < 2:                       # already log deviations (symbolic log-linearization)
        rows = [names.index(v) for v in C.FS_VARS]
        return C.irf_from_state_space(A, B, rows)      # shocks hit ea, lm in shock_map order
    ss = np.asarray(sol.policy.steady_state, dtype=float)
    rows = [names.index(v) for v in C.FS_VARS]
    shocks = [str(s) for s in sol.compiled.shock_names] if hasattr(sol.compiled, "shock_names") else C.FS_SHOCKS
    cols = [shocks.index(s) for s in C.FS_SHOCKS]
    irf = np.array(C.irf_from_state_space(A, np.asarray(B)[:, cols], rows))   # [shock][period][var]
    return (irf / ss[rows][None, None, :]).tolist()


def _skip_14():
    return MAJOR < 2 and os.environ.get("SYMBOLICDSGE14_FS2000") != "1"


def resolve_fs2000(args):
    if _skip_14():
        return {"unsupported": FS2000_14_REASON}
    import warnings
    warnings.simplefilter("ignore")
    solver, compiled = _load("fs2000", linearize=MAJOR < 2)
    pts = (_fs_params(C.FS_CALIB), _fs_params(C.changed(C.FS_CALIB, C.FS_CHANGE)))

    def resolve(p):
        return solver.solve(compiled, parameters=p)

    check = {key: _fs_irf(resolve(p)) for key, p in zip(("calib", "changed"), pts)}
    wall, cpu, n = C.per_call(C.alternating(resolve, *pts), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n,
            "what": ("DSGESolver.solve(compiled, parameters=θ) (Newton ss + Jacobian + Klein)" if MAJOR >= 2 else
                     "DSGESolver.solve(compiled, parameters=θ) on the symbolically log-linearized model "
                     "(closed-form ss inside the coefficients; numerical Jacobian + Klein)")}


def first_fs2000(args):
    if _skip_14():
        return {"unsupported": FS2000_14_REASON}
    import time
    import warnings
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    import SymbolicDSGE  # noqa: F401  (import time measured on its own)
    t1 = time.perf_counter()
    solver, compiled = _load("fs2000", linearize=MAJOR < 2)
    sol = solver.solve(compiled)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "first_solve_s": t2 - t1, "since_start_s": t2 - C.T_START,
            "check": {"calib": _fs_irf(sol)},
            "what": "import SymbolicDSGE; ModelParser + DSGESolver.compile"
                    + ("(linearize=True)" if MAJOR < 2 else "") + " + solve"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3, ("resolve", "fs2000"): resolve_fs2000,
           ("first", "fs2000"): first_fs2000}, ("SymbolicDSGE", "numba"))
