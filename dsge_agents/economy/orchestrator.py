"""The orchestrator — the economy's consumer (DESIGN §5.1).

A request enters at the entry stage(s) and moves along the edges of a DAG of
stages with branch probabilities (an edge to ``"exit"`` leaves the system). The
visit ratio v_s is the expected number of visits of a request to stage s; it
solves the flow equations v = e + Pᵀ v (e the entry distribution, P the matrix of
branch probabilities), which for a DAG is a forward substitution in topological
order.

The orchestrator owns every agent (receives Σ_a Π_a), is endowed with latency
headroom ℓ̄(t) = λ(t)·W*(t) (the SLO as a budget: by Little's law the mean
end-to-end latency is Σ_a ℓ_a / λ) and money M, and chooses flows x_a ≥ 0 with
Σ_{a∈s} x_a = λ(t) v_s, unused headroom h ≥ 0 and money m to maximise

    U = Σ_q w_q [Σ_a θ q_a x_a + β⁻¹ Σ_a entr(x_a) + η h] + m,  entr(x) = −x log x,

subject to Σ_q w_q [Σ_a p_a x_a + p_ℓ h] + m = M + Σ_q w_q p_ℓ ℓ̄ + Σ_a Π_a.
At node q the flows solve max Σ_a (θ q_a − p_a) x_a + β⁻¹ Σ entr(x_a) on the stage
simplex, whose solution is the logit demand x_a = λ v_s π_a,
π_a = exp(β(θq_a − p_a)) / Σ_{b∈s} exp(β(θq_b − p_b)); h = 0 when p_ℓ > η.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dsge_agents.errors import EconomyError

__all__ = ["Stage", "Orchestrator", "EXIT"]

EXIT = "exit"


@dataclass
class Stage:
    name: str
    agents: list[str] = field(default_factory=list)


def _as_function(x, what: str) -> Callable:
    if callable(x):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise EconomyError(f"{what} must be a number or a callable of t, got {x!r}") from None
    if not math.isfinite(v):
        raise EconomyError(f"{what} must be finite, got {v}")
    return lambda t, _v=v: np.full(np.shape(t), _v)


class Orchestrator:
    """The consumer: DAG of stages, demand, SLO, budget and preferences.

    Parameters
    ----------
    stages : list of stage names (order kept for reports).
    edges : iterable of (from, to, probability); ``to = "exit"`` leaves the system.
        The probabilities out of each non-terminal stage must sum to one; a stage
        with no out-edges is terminal.
    entry : stage name or dict {stage: probability} (default: the stages without
        in-edges, which must then be exactly one).
    arrival_rate : λ(t) > 0 (requests per unit time), number or callable.
    slo : W*(t) > 0, the mean end-to-end latency target, number or callable.
    money : M, the spend budget over the horizon.
    theta : value of one unit of quality per request (money).
    beta : logit routing sensitivity (1/money); larger = harder routing.
    eta : value of time, the floor of the latency price (≥ 0).
    spend_cap : optional cap on spend; reported as slack only (quasi-linearity).
    """

    def __init__(self, stages, edges=(), entry=None, arrival_rate=1.0, slo=1.0, money=0.0,
                 theta=1.0, beta=1.0, eta=0.0, spend_cap=None, name="orchestrator"):
        self.name = name
        self.stages = [str(s) for s in stages]
        if not self.stages:
            raise EconomyError("the orchestrator needs at least one stage")
        dup = {s for s in self.stages if self.stages.count(s) > 1}
        if dup:
            raise EconomyError(f"stage names must be unique; repeated: {sorted(dup)}")
        if EXIT in self.stages:
            raise EconomyError(f"{EXIT!r} is reserved for edges that leave the system; rename that stage")
        self.edges = []
        for e in edges:
            try:
                src, dst, prob = e
            except (TypeError, ValueError):
                raise EconomyError(f"edge {e!r} must be (from, to, probability)") from None
            src, dst = str(src), str(dst)
            for end, role in ((src, "from"), (dst, "to")):
                if end not in self.stages and not (role == "to" and end == EXIT):
                    hint = (f" (an edge that leaves the system goes to {EXIT!r})"
                            if role == "to" and end.lower() in ("end", "exit", "done", "stop") else "")
                    raise EconomyError(f"edge {src} -> {dst}: unknown stage {end!r} ({role}); "
                                       f"declared stages are {self.stages}{hint}")
            try:
                prob = float(prob)
            except (TypeError, ValueError):
                raise EconomyError(f"edge {src} -> {dst}: branch probability must be a number, got {prob!r}") \
                    from None
            if not (0.0 <= prob <= 1.0):
                raise EconomyError(f"edge {src} -> {dst}: branch probability must be in [0, 1], got {prob}")
            self.edges.append((src, dst, prob))
        self.entry = self._entry(entry)
        self.arrival_rate = _as_function(arrival_rate, "arrival_rate λ(t)")
        self.slo = _as_function(slo, "SLO W*(t)")
        scalars = {}
        for key, val in (("money M", money), ("theta", theta), ("beta", beta), ("eta", eta),
                         ("spend_cap", spend_cap)):
            if val is None and key == "spend_cap":
                continue
            try:
                v = float(val)
            except (TypeError, ValueError):
                raise EconomyError(f"{key} must be a number, got {val!r}") from None
            if not math.isfinite(v):
                raise EconomyError(f"{key} must be finite, got {val!r}")
            scalars[key] = v
        self.money, self.theta = scalars["money M"], scalars["theta"]
        self.beta, self.eta = scalars["beta"], scalars["eta"]
        self.spend_cap = scalars.get("spend_cap")
        if not self.beta > 0:
            raise EconomyError(f"logit sensitivity beta must be > 0, got {beta}")
        if not self.eta >= 0:
            raise EconomyError(f"value of time eta must be ≥ 0, got {eta}")
        self.visit_ratios = self._visit_ratios()

    # -------------------------------------------------------------- DAG
    def _entry(self, entry) -> dict:
        if entry is None:
            has_in = {d for _, d, _ in self.edges}
            roots = [s for s in self.stages if s not in has_in]
            if len(roots) != 1:
                raise EconomyError(
                    f"cannot infer the entry stage: stages without incoming edges are {roots}; "
                    "pass entry='<stage>' or entry={stage: probability}")
            return {roots[0]: 1.0}
        if isinstance(entry, str):
            entry = {entry: 1.0}
        try:
            entry = {str(k): float(v) for k, v in dict(entry).items()}
        except (TypeError, ValueError):
            raise EconomyError(f"entry must be a stage name or a mapping {{stage: probability}}, got {entry!r}") \
                from None
        for s in entry:
            if s not in self.stages:
                raise EconomyError(f"entry stage {s!r} is not a declared stage {self.stages}")
        tot = sum(entry.values())
        if abs(tot - 1.0) > 1e-9:
            raise EconomyError(f"entry probabilities sum to {tot:.12g}, not 1: {entry}; rescale them")
        return entry

    def topological_order(self) -> list[str]:
        """Kahn's algorithm; raises EconomyError naming a cycle when the graph is not a DAG."""
        succ = {s: [] for s in self.stages}
        indeg = {s: 0 for s in self.stages}
        for a, b, _ in self.edges:
            if b != EXIT:
                succ[a].append(b)
                indeg[b] += 1
        order, ready = [], [s for s in self.stages if indeg[s] == 0]
        while ready:
            s = ready.pop(0)
            order.append(s)
            for b in succ[s]:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
        if len(order) < len(self.stages):
            cyc = self._find_cycle(succ, [s for s in self.stages if s not in order])
            raise EconomyError(
                "the stage graph has a cycle " + " -> ".join(cyc) +
                "; the orchestrator DAG must be acyclic (model retries as a branch to a separate "
                "retry stage, or remove one of these edges)")
        return order

    @staticmethod
    def _find_cycle(succ, candidates) -> list[str]:
        cand = set(candidates)
        start = candidates[0]
        path, seen = [start], {start: 0}
        node = start
        while True:
            nxt = next(b for b in succ[node] if b in cand)
            if nxt in seen:
                return path[seen[nxt]:] + [nxt]
            seen[nxt] = len(path)
            path.append(nxt)
            node = nxt

    def _visit_ratios(self) -> dict:
        """Solve v = e + Pᵀv by forward substitution in topological order."""
        order = self.topological_order()
        out_prob = {s: 0.0 for s in self.stages}
        n_out = {s: 0 for s in self.stages}
        for a, _, p in self.edges:
            out_prob[a] += p
            n_out[a] += 1
        for s in self.stages:
            if n_out[s] and abs(out_prob[s] - 1.0) > 1e-9:
                raise EconomyError(
                    f"stage {s!r}: branch probabilities of its out-edges sum to {out_prob[s]:.12g}, not 1; "
                    f"rescale them or add an edge {s} -> {EXIT} with probability {1 - out_prob[s]:.6g}")
        v = {s: self.entry.get(s, 0.0) for s in self.stages}
        for s in order:
            for a, b, p in self.edges:
                if a == s and b != EXIT:
                    v[b] += p * v[s]
        never = [s for s in self.stages if not v[s] > 0]
        if never:
            raise EconomyError(
                f"stage(s) {never} are never visited (visit ratio 0: no entry probability and no incoming "
                "edge with a positive probability from a visited stage); connect them or remove them")
        return v

    # -------------------------------------------------------------- endowments / demand
    def headroom(self, t) -> np.ndarray:
        """ℓ̄(t) = λ(t) W*(t)."""
        return np.asarray(self.arrival_rate(t), float) * np.asarray(self.slo(t), float)

    @staticmethod
    def logit_demand(u, stage_index, n_stages, stage_demand):
        """Logit flows x = D_s π with π ∝ exp(β u) within each stage.

        u : (..., N) utilities β(θq − p) already multiplied by β; stage_index (N,);
        stage_demand (..., S). Returns (x, π, log-sum-exp per stage (..., S)).
        Numerically stable: subtracts the per-stage maximum.
        """
        u = np.asarray(u, dtype=float)
        lead = u.shape[:-1]
        umax = np.full(lead + (n_stages,), -np.inf)
        for s in range(n_stages):
            m = stage_index == s
            if m.any():
                umax[..., s] = u[..., m].max(axis=-1)
        e = np.exp(u - umax[..., stage_index])
        tot = np.zeros(lead + (n_stages,))
        for s in range(n_stages):
            m = stage_index == s
            tot[..., s] = e[..., m].sum(axis=-1)
        pi = e / tot[..., stage_index]
        x = stage_demand[..., stage_index] * pi
        lse = umax + np.log(tot)
        return x, pi, lse

    def to_dict(self) -> dict:
        return {"stages": self.stages, "edges": [list(e) for e in self.edges], "entry": self.entry,
                "visit_ratios": self.visit_ratios, "money": self.money, "theta": self.theta,
                "beta": self.beta, "eta": self.eta, "spend_cap": self.spend_cap}
