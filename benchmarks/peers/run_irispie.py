"""irispie runner (executed by /work/peers/irispie/bin/python; see _common.py for the protocol).

nk3: models/nk3_irispie.model, read as a linear model. Re-solve = ``m.assign(phi_pi=v)``,
``m.steady()``, ``m.solve()`` (irispie's steady state, first-order system at θ and its
Schur-based solution); the check takes the unit-shock responses from the square solution
xi_t = T xi_{t-1} + P e_t.
"""
from __future__ import annotations

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
    rows = [names.index(v) for v in variables]
    snames = list(vec.unanticipated_shocks)
    cols = [snames.index(s) for s in shocks]
    return C.irf_from_state_space(sol.T, sol.P[:, cols], rows), names


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    import irispie as ir
    m = ir.Simultaneous.from_file(os.path.join(HERE, "models", "nk3_irispie.model"), linear=True)
    m.assign(**C.NK3_CALIB)
    values = (C.NK3_CALIB["phi_pi"], C.NK3_CHANGE["phi_pi"])

    def resolve(v):
        m.assign(phi_pi=v)
        m.steady()
        m.solve()

    check = {}
    for key, v in zip(("calib", "changed"), values):
        resolve(v)
        check[key], names = _irf(m, C.NK3_VARS, C.NK3_SHOCKS)
    wall, cpu, n = C.per_call(C.alternating(resolve, *values), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": names,
            "what": "m.assign(phi_pi=v); m.steady(); m.solve()"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3}, ("irispie",))
