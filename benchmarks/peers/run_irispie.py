"""irispie runner (executed by /work/peers/irispie/bin/python; see _common.py for the protocol).

nk3: models/nk3_irispie.model, read as a linear model. Re-solve = ``m.assign(phi_pi=v)``,
``m.steady()``, ``m.solve()`` (irispie's steady state, first-order system at θ and its
Schur-based solution); the check takes the unit-shock responses from the square solution
xi_t = T xi_{t-1} + P e_t.

fs2000: models/fs2000_irispie.model, nonlinear, every variable a log-variable (first-order solution
in log deviations, as ours with ``loglinear``). irispie finds the steady state numerically
(Newton, from rounded starting values like a Dynare ``initval``); re-solve = ``m.assign(alp=v)``,
``m.steady()``, ``m.solve()``; first = import irispie + ``Simultaneous.from_file`` + steady +
solve. irispie prints its steady-state iterations; the runner sends them to /dev/null.
"""
from __future__ import annotations

import contextlib
import os

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))


def _irf(m, variables, shocks):
    sol = m.get_solution()
    try:
        vec = m.get_solution_vectors()
    except AttributeError:      # irispie 0.68.4: get_solution_vectors reads a missing attribute
        from irispie.fords import descriptors
        vec = descriptors.HumanSolutionVectors(m._get_dynamic_solution_vectors(), m.create_qid_to_name(),
                                               m.create_qid_to_logly())
    names = list(vec.transition_variables)
    rows = [names.index(v) if v in names else names.index(f"log({v})") for v in variables]
    snames = list(vec.unanticipated_shocks)
    cols = [snames.index(s) for s in shocks]
    return C.irf_from_state_space(sol.T, sol.P[:, cols], rows), names


def _checked_timing(m, param, values, variables, shocks, args):
    """IRFs at both parameter values (the check), then the time per re-solve ``assign; steady; solve``."""
    def resolve(v):
        m.assign(**{param: v})
        m.steady()
        m.solve()

    check = {}
    for key, v in zip(("calib", "changed"), values):
        resolve(v)
        check[key], names = _irf(m, variables, shocks)
    wall, cpu, n = C.per_call(C.alternating(resolve, *values), args.target_s, args.repeats)
    return check, names, wall, cpu, n


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        import irispie as ir
        m = ir.Simultaneous.from_file(os.path.join(HERE, "models", "nk3_irispie.model"), linear=True)
        m.assign(**C.NK3_CALIB)
        values = (C.NK3_CALIB["phi_pi"], C.NK3_CHANGE["phi_pi"])

        def solve_only(v):
            m.assign(phi_pi=v)
            m.solve()

        check, names, wall, cpu, n = _checked_timing(m, "phi_pi", values, C.NK3_VARS, C.NK3_SHOCKS, args)
        wall1, cpu1, _ = C.per_call(C.alternating(solve_only, *values), args.target_s, args.repeats)
        solve_only(values[1])
        check_solve_only, _ = _irf(m, C.NK3_VARS, C.NK3_SHOCKS)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": names,
            "what": "m.assign(phi_pi=v); m.steady(); m.solve()", "check_solve_only": check_solve_only,
            "variants": {"m.assign(phi_pi=v); m.solve() (no steady-state step: zero for this linear model)":
                         {"resolve_s": wall1, "resolve_cpu_s": cpu1}}}


# rounded starting values for the steady-state solver (like a Dynare initval block)
FS_START = {"m": 1.0, "P": 2.0, "c": 0.5, "e": 1.0, "W": 5.0, "R": 1.0, "k": 6.0, "d": 1.0, "n": 0.2,
            "l": 1.0, "gy_obs": 1.0, "gp_obs": 1.0, "y": 0.6, "dA": 1.0}


def _fs_params(p):
    return {("delta" if k == "del" else k): v for k, v in p.items()}


def _fs2000_model(ir):
    m = ir.Simultaneous.from_file(os.path.join(HERE, "models", "fs2000_irispie.model"))
    m.assign(**_fs_params(C.FS_CALIB))
    m.assign(**FS_START)
    m.steady()
    m.solve()
    return m


def resolve_fs2000(args):
    import warnings
    warnings.simplefilter("ignore")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        import irispie as ir
        m = _fs2000_model(ir)
        values = (C.FS_CALIB["alp"], C.FS_CHANGE["alp"])
        check, names, wall, cpu, n = _checked_timing(m, "alp", values, C.FS_VARS, C.FS_SHOCKS, args)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": names,
            "what": "m.assign(alp=v); m.steady() (Newton); m.solve()"}


def first_fs2000(args):
    import time
    import warnings
    warnings.simplefilter("ignore")
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        t0 = time.perf_counter()
        import irispie as ir
        t1 = time.perf_counter()
        m = _fs2000_model(ir)
        t2 = time.perf_counter()
        check, _ = _irf(m, C.FS_VARS, C.FS_SHOCKS)
    return {"import_s": t1 - t0, "first_solve_s": t2 - t1, "since_start_s": t2 - C.T_START,
            "check": {"calib": check},
            "what": "import irispie; Simultaneous.from_file(...); assign; steady(); solve()"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3, ("resolve", "fs2000"): resolve_fs2000,
           ("first", "fs2000"): first_fs2000}, ("irispie",))
