"""The static functional economy on V_K (DESIGN §5.1): agents + orchestrator + basis.

:class:`StaticEconomy` binds an :class:`~dsge_agents.economy.orchestrator.Orchestrator`
and its :class:`~dsge_agents.economy.agents.Agent` s to a basis of V_K. Every
constraint is imposed at the K collocation nodes, so the V_K economy separates
into K node economies with goods

    served work at each agent a   (price p_a(t_q)),
    the shared latency good       (price p_ℓ(t_q) ≥ η),
    money                         (numeraire, price 1, one good for the horizon).

Prices are held as nodal arrays ``p`` (K, N) and ``pl`` (K,); coefficients are
``basis.project(p)`` (B⁻¹ = BᵀW). This module provides the excess demand z(p)
(agents' closed-form supply, logit demand, budget residual), the Walras identity,
the dual function D(p) whose gradient is −z, the Jacobian blocks of DESIGN §5.1,
the SLO-feasibility check and a JSON-able spec constructor
(:meth:`StaticEconomy.from_spec`).
"""
from __future__ import annotations

import numpy as np

from dsge_agents.errors import EconomyError, SLOInfeasibleError

from .agents import (Agent, firm_jacobian_weight, firm_supply, latency_load, latency_load_d1,
                     supply_utilization)
from .basis import Basis, make_basis
from .orchestrator import Orchestrator

__all__ = ["StaticEconomy", "sine_demand", "load_spec", "SPEC_KEYS", "AGENT_KEYS"]


def sine_demand(rate: float, amplitude: float = 0.0, period: float = 1.0, phase: float = 0.0):
    """λ(t) = rate·(1 + amplitude·sin(2πt/period + phase))."""
    rate, amplitude, period, phase = float(rate), float(amplitude), float(period), float(phase)

    def lam(t):
        return rate * (1.0 + amplitude * np.sin(2.0 * np.pi * np.asarray(t, float) / period + phase))
    lam.spec = {"rate": rate, "amplitude": amplitude, "period": period, "phase": phase}
    return lam


class StaticEconomy:
    """V_K economy of one orchestrator and its agents.

    Parameters
    ----------
    orchestrator : Orchestrator
    agents : list of Agent (each attached to one of the orchestrator's stages)
    basis : Basis or name ('legendre' | 'pwc'); with ``K`` and ``T`` when a name.
    """

    def __init__(self, orchestrator: Orchestrator, agents: list[Agent], basis: Basis | str = "legendre",
                 K: int = 16, T: float = 1.0, name: str = "economy"):
        self.name = name
        self.orchestrator = orchestrator
        self.agents = list(agents)
        if not self.agents:
            raise EconomyError("the economy needs at least one agent")
        names = [a.name for a in self.agents]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise EconomyError(f"agent names must be unique; repeated: {dup}")
        stages = orchestrator.stages
        for a in self.agents:
            if a.stage is None or str(a.stage) not in stages:
                raise EconomyError(
                    f"agent {a.name!r} is attached to no stage (stage={a.stage!r}); set its stage to one of "
                    f"{stages}")
        for s in stages:
            if not any(a.stage == s for a in self.agents):
                raise EconomyError(f"stage {s!r} has no candidate agent; attach at least one agent to it "
                                   "or remove the stage")
        self.basis = make_basis(basis, K, T)
        self._bind()

    # ------------------------------------------------------------------ construction
    def _bind(self):
        o, b = self.orchestrator, self.basis
        t = b.nodes
        self.agent_names = [a.name for a in self.agents]
        self.stage_names = list(o.stages)
        self.stage_index = np.array([self.stage_names.index(a.stage) for a in self.agents], dtype=np.int64)
        self.N, self.S, self.K = len(self.agents), len(self.stage_names), b.K
        self.tau = np.array([a.service_time for a in self.agents])
        self.kq = np.array([a.k for a in self.agents])
        self.kappa = np.array([a.unit_cost for a in self.agents])
        self.quality = np.array([a.quality for a in self.agents])
        self.mu = np.stack([a.capacity_at(t) for a in self.agents], axis=1)          # (K, N)
        self.visits = np.array([o.visit_ratios[s] for s in self.stage_names])       # (S,)
        self.lam = np.asarray(o.arrival_rate(t), dtype=float) * np.ones(self.K)     # (K,)
        if not np.all(np.isfinite(self.lam) & (self.lam > 0)):
            bad = int(np.flatnonzero(~(self.lam > 0))[0])
            raise EconomyError(f"arrival rate λ(t) must be positive at every node; λ({t[bad]:.6g}) = "
                               f"{self.lam[bad]:.6g}")
        self.wstar = np.asarray(o.slo(t), dtype=float) * np.ones(self.K)
        if not np.all(np.isfinite(self.wstar) & (self.wstar > 0)):
            raise EconomyError("the SLO W*(t) must be positive at every node")
        self.lbar = self.lam * self.wstar                                              # (K,)
        self.demand_stage = self.lam[:, None] * self.visits[None, :]                   # (K, S)
        self.theta, self.beta, self.eta = o.theta, o.beta, o.eta
        self.money = o.money
        self.w = b.weights
        self.t = t
        self._member = np.zeros((self.S, self.N))
        self._member[self.stage_index, np.arange(self.N)] = 1.0

    def with_basis(self, basis: Basis | str | None = None, K: int | None = None) -> "StaticEconomy":
        """The same economy on another basis / size."""
        if basis is None:
            basis = self.basis.name
        if isinstance(basis, Basis):
            newb = basis
        else:
            newb = make_basis(basis, K if K is not None else self.K, self.basis.T)
        out = object.__new__(StaticEconomy)
        out.__dict__.update(self.__dict__)
        out.basis = newb
        out._bind()
        return out

    @classmethod
    def from_spec(cls, spec: dict, source: str = "<dict>") -> "StaticEconomy":
        """Build from a plain dict (the static part of the ``orchestrated_economy`` YAML).

        Keys: ``stages`` (list of names, or list of {name}), ``edges`` ([from, to, prob] or
        {from, to, prob}), ``entry``, ``agents`` (list of dicts with name, stage, service_time,
        capacity, unit_cost, quality, ca2, cs2, meta), ``demand`` (number = constant λ, or
        {rate, amplitude, period, phase}), ``slo`` (W*), ``money``, ``theta``, ``beta``, ``eta``,
        ``spend_cap``, ``horizon`` (T), ``basis``, ``K``, ``name`` (and ``kind``, ``description``).
        Unknown keys (typos) and values of the wrong type raise :class:`EconomyError` naming the key
        and, for a spec read by :func:`load_spec` from a YAML file, its line and column.
        """
        return _spec_economy(cls, spec, source)

    # ------------------------------------------------------------------ price helpers
    def coefficients(self, nodal) -> np.ndarray:
        """Basis coefficients of nodal values (K,) or (K, m): BᵀW v."""
        return self.basis.project(np.asarray(nodal, dtype=float))

    def nodal(self, coeffs) -> np.ndarray:
        return self.basis.to_nodes(coeffs)

    def pack(self, p, pl) -> np.ndarray:
        """Nodal prices (K, N+1): agents then latency."""
        return np.concatenate([np.asarray(p, float), np.asarray(pl, float)[:, None]], axis=1)

    def unpack(self, P) -> tuple[np.ndarray, np.ndarray]:
        P = np.asarray(P, float)
        return P[:, :self.N], P[:, self.N]

    # ------------------------------------------------------------------ agents' choices
    def supply(self, p, pl):
        """Closed-form firm supply at nodal prices: (s, ℓ, c, Π) each (K, N)."""
        pl = np.asarray(pl, float)[:, None]
        return firm_supply(p, pl, self.tau, self.kq, self.mu, self.kappa)

    def demand(self, p, pl=None):
        """Logit flows x (K, N), shares π (K, N) and per-stage log-sum-exp (K, S)."""
        u = self.beta * (self.theta * self.quality[None, :] - np.asarray(p, float))
        return Orchestrator.logit_demand(u, self.stage_index, self.S, self.demand_stage)

    def headroom_demand(self, pl, latency_supply_total):
        """h(p): 0 where p_ℓ > η; where p_ℓ ≤ η (the floor) the consumer is indifferent and takes the
        unused headroom max(0, ℓ̄ − Σℓ_a) (a selection from its demand correspondence)."""
        pl = np.asarray(pl, float)
        at_floor = pl <= self.eta * (1 + 1e-12) + 0.0
        return np.where(at_floor, np.maximum(self.lbar - latency_supply_total, 0.0), 0.0)

    def excess_demand(self, p, pl, h=None) -> dict:
        """z(p) and the accounting behind it, DESIGN §5.1.

        Returns a dict with nodal arrays ``z_goods`` (K, N) = x − s, ``z_latency`` (K,) =
        h + Σℓ_a − ℓ̄, the scalar ``z_money`` = m + Σ_a ∫c_a − M, and the components
        (x, s, ell, c, profit, h, m, pi, income, expenditure). Income and expenditure are
        computed in basis coefficients (⟨P, Y⟩ = Σ_k P_k Y_k), profits by each firm.
        """
        p = np.asarray(p, float)
        pl = np.asarray(pl, float)
        if np.any(pl <= 0):
            raise EconomyError("the latency price must be positive at every node (p_ℓ ≥ η, p_ℓ > 0)")
        s, ell, c, _ = self.supply(p, pl)
        x, pi, lse = self.demand(p, pl)
        ell_tot = ell.sum(axis=1)
        if h is None:
            h = self.headroom_demand(pl, ell_tot)
        proj = self.coefficients
        P, Pl = proj(p), proj(pl)
        S_, L_, X_, H_ = proj(s), proj(ell), proj(x), proj(h)
        Lbar = proj(self.lbar)
        cost_int = self.w @ c                                   # ∫ c_a dt  (N,)
        profits = (P * S_).sum(axis=0) - Pl @ L_ - cost_int      # Π_a = ⟨p_a,s_a⟩ − ⟨p_ℓ,ℓ_a⟩ − ∫c_a
        income = self.money + float(Pl @ Lbar) + float(profits.sum())
        spend_goods = float((P * X_).sum() + Pl @ H_)
        m = income - spend_goods
        net_money = (float(Pl @ Lbar) + float(profits.sum())) - spend_goods     # m − M without rounding M
        z_goods = x - s
        z_lat = h + ell_tot - self.lbar
        z_money = m + float(cost_int.sum()) - self.money
        return {"z_goods": z_goods, "z_latency": z_lat, "z_money": z_money, "x": x, "s": s, "ell": ell,
                "c": c, "profit": profits, "h": h, "m": m, "m_minus_M": net_money, "pi": pi, "lse": lse,
                "income": income,
                "expenditure": spend_goods + m}

    def walras_value(self, p, pl, h=None) -> tuple[float, float]:
        """(⟨p, z(p)⟩, its normalised size |⟨p,z⟩| / (1 + ‖p‖‖z‖)), computed in coefficients
        and including money (price 1)."""
        ed = self.excess_demand(p, pl, h)
        proj = self.coefficients
        P = np.concatenate([proj(p).ravel(), proj(pl).ravel(), [1.0]])
        Z = np.concatenate([proj(ed["z_goods"]).ravel(), proj(ed["z_latency"]).ravel(), [ed["z_money"]]])
        val = float(P @ Z)
        return val, abs(val) / (1.0 + np.linalg.norm(P) * np.linalg.norm(Z))

    def relative_excess_demand(self, ed: dict) -> float:
        """max over nodes and goods of |z_a|/(λ v_s) and |z_ℓ|/ℓ̄ (tolerances relative to demand)."""
        za = np.abs(ed["z_goods"]) / self.demand_stage[:, self.stage_index]
        zl = np.abs(ed["z_latency"]) / self.lbar
        return float(max(za.max(), zl.max()))

    # ------------------------------------------------------------------ dual function
    def dual(self, p, pl) -> np.ndarray:
        """Per-node dual D_q(p) = max_x[consumer surplus at p] + Σ_a Π_a(p) + p_ℓ ℓ̄ (h = 0, p_ℓ ≥ η).

        Consumer part per stage: (D_s/β)(LSE_s − log D_s), LSE_s = log Σ_{a∈s} e^{β(θq_a − p_a)}.
        D is convex and ∇D = −z, so tâtonnement is projected gradient descent on D (Kelly).
        """
        _, _, _, prof = self.supply(p, pl)
        _, _, lse = self.demand(p, pl)
        Ds = self.demand_stage
        cons = (Ds / self.beta * (lse - np.log(Ds))).sum(axis=1)
        out = cons + prof.sum(axis=1) + np.asarray(pl, float) * self.lbar
        return np.where(np.isfinite(out), out, np.inf)

    # ------------------------------------------------------------------ Jacobian (DESIGN §5.1)
    def jacobian_parts(self, p, pl, one_sided: bool = False):
        """Ingredients of J_q = ∂z_q/∂p_q at every node: shares π (K,N), βλv_s per agent (K,N),
        firm weights g = 1/(p_ℓ f'') (K,N) and r = (p_a − κ)/p_ℓ (K,N). A shut-down firm (s = 0)
        has g = 0; with ``one_sided`` it gets the right derivative 1/(p_ℓ f''(0)) it will have once
        it produces (used to choose steps that do not overshoot the switch-on)."""
        pl = np.asarray(pl, float)
        s, _, _, _ = self.supply(p, pl)
        _, pi, _ = self.demand(p, pl)
        bD = self.beta * self.demand_stage[:, self.stage_index]
        g = firm_jacobian_weight(np.maximum(s, 1e-300) if one_sided else s, pl[:, None], self.tau, self.kq,
                                 self.mu)
        with np.errstate(over="ignore", divide="ignore"):
            r = (np.asarray(p, float) - self.kappa) / pl[:, None]
        return pi, bD, g, r

    def jacobian_node(self, q: int, parts) -> np.ndarray:
        """Dense J_q (N+1, N+1): consumer block −βλv_s(diag π − ππᵀ) per stage plus firm blocks
        −g_a [1, −r_a]ᵀ[1, −r_a] in (p_a, p_ℓ)."""
        pi, bD, g, r = (a[q] for a in parts)
        N = self.N
        J = np.zeros((N + 1, N + 1))
        idx = np.arange(N)
        J[idx, idx] = -bD * pi - g
        for s in range(self.S):
            m = np.flatnonzero(self.stage_index == s)
            J[np.ix_(m, m)] += bD[m][:, None] * np.outer(pi[m], pi[m])
        J[idx, N] = g * r
        J[N, idx] = g * r
        J[N, N] = -(g * r * r).sum()
        return J

    def jacobian_matvec(self, q: int, parts, y) -> np.ndarray:
        """J_q y in O(N) (structured form of :meth:`jacobian_node`)."""
        pi, bD, g, r = (a[q] for a in parts)
        N = self.N
        ya, yl = y[:N], y[N]
        stage_mean = np.bincount(self.stage_index, weights=pi * ya, minlength=self.S)
        cons = bD * pi * (ya - stage_mean[self.stage_index])
        fd = g * (ya - r * yl)
        out = np.empty(N + 1)
        out[:N] = -cons - fd
        out[N] = (r * fd).sum()
        return out

    def jacobian_diag(self, parts) -> np.ndarray:
        """diag J_q for all nodes (K, N+1)."""
        pi, bD, g, r = parts
        da = -bD * pi * (1 - pi) - g
        dl = -(g * r * r).sum(axis=1)
        return np.concatenate([da, dl[:, None]], axis=1)

    # ------------------------------------------------------------------ feasibility
    def min_latency(self):
        """Minimum total latency load needed to serve the demand at each node, by water-filling:
        min Σ_a f_a(x_a) s.t. Σ_{a∈s} x_a = λ v_s. KKT: f_a'(x_a) = ν_s for x_a > 0, i.e.
        x_a = μ_a ρ_a(ν_s) with the supply map ρ(·) of the agents; ν_s by bisection in log ν.
        Returns (L_min (K,), x_min (K, N)). Raises SLOInfeasibleError when a stage's demand
        reaches its total capacity."""
        cap = self.mu @ self._member.T                                      # (K, S)
        Ds = self.demand_stage
        bad = Ds >= cap * (1 - 1e-12)
        if bad.any():
            q, s = map(int, np.argwhere(bad)[0])
            raise SLOInfeasibleError(
                f"SLO infeasible at t = {self.t[q]:.6g}: stage {self.stage_names[s]!r} must serve "
                f"{Ds[q, s]:.6g} requests per unit time but its agents' total capacity is {cap[q, s]:.6g}; "
                "add capacity to that stage or lower the arrival rate")
        tmin = np.array([self.tau[self.stage_index == s].min() for s in range(self.S)])
        lo = np.broadcast_to(np.log(tmin), (self.K, self.S)).copy()
        hi = lo + 1.0
        for _ in range(200):   # grow the upper bracket until Σx(ν) ≥ D
            x = self.mu * supply_utilization(np.exp(hi)[:, self.stage_index], self.tau, self.kq)
            short = (x @ self._member.T) < Ds
            if not short.any():
                break
            hi = np.where(short, hi + 2.0, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            x = self.mu * supply_utilization(np.exp(mid)[:, self.stage_index], self.tau, self.kq)
            over = (x @ self._member.T) >= Ds
            hi = np.where(over, mid, hi)
            lo = np.where(over, lo, mid)
            if np.max(hi - lo) < 1e-14:
                break
        x = self.mu * supply_utilization(np.exp(hi)[:, self.stage_index], self.tau, self.kq)
        x *= (Ds / (x @ self._member.T))[:, self.stage_index]             # exact stage totals
        Lmin = latency_load(x, self.tau, self.kq, self.mu).sum(axis=1)
        return Lmin, x

    def check_feasible(self):
        """Raise SLOInfeasibleError naming the first node where even the latency-minimising routing
        exceeds the headroom λW*."""
        Lmin, x = self.min_latency()
        bad = Lmin >= self.lbar * (1 - 1e-12)
        if bad.any():
            q = int(np.flatnonzero(bad)[0])
            raise SLOInfeasibleError(
                f"SLO infeasible at t = {self.t[q]:.6g}: the latency-minimising routing needs a mean "
                f"end-to-end latency of {Lmin[q] / self.lam[q]:.6g} but W* = {self.wstar[q]:.6g} "
                f"(λ = {self.lam[q]:.6g}); no latency price clears the market. Relax W*, add capacity or "
                f"lower demand ({int(bad.sum())} of {self.K} nodes infeasible)")
        if self.eta == 0.0:
            self._check_zero_eta()
        return Lmin, x

    def _check_zero_eta(self):
        """With η = 0 the latency price has no positive floor. As p_ℓ → 0 the equilibrium tends to
        p_a = κ_a with the logit flows x⁰ at those prices; if their load Σ_a f_a(x⁰_a) is below ℓ̄ at a
        node, the SLO is slack there and the equilibrium latency price is 0, where a firm's supply is
        not a function of prices (every s is profit-maximising at p_a = κ_a, p_ℓ = 0): no solver can
        converge to it. Raise EconomyError naming the nodes (DESIGN §5.1: η is the floor of p_ℓ)."""
        x0, _, _ = self.demand(np.broadcast_to(self.kappa, (self.K, self.N)))
        L0 = latency_load(x0, self.tau, self.kq, self.mu).sum(axis=1)
        slack = L0 < self.lbar
        if slack.any():
            q = int(np.flatnonzero(slack)[0])
            raise EconomyError(
                f"eta = 0 and the SLO is slack at {int(slack.sum())} of {self.K} nodes (first t = {self.t[q]:.6g}: "
                f"even at zero latency price the routing needs a mean latency of {L0[q] / self.lam[q]:.6g} < "
                f"W* = {self.wstar[q]:.6g}), so the equilibrium latency price there is 0, where the agents' "
                "supply is indeterminate; set eta > 0 (the value of time, the floor of the latency price) "
                "or tighten the SLO")

    # ------------------------------------------------------------------ starting point
    def initial_prices(self):
        """A feasible, interior starting point: flows x₀ (half the latency-minimising water-filling flows,
        half capacity-proportional) priced at marginal cost p_a = κ_a + p_ℓ f_a'(x₀) with
        p_ℓ = max(η, P₀), P₀ a tenth of the price making the average quality rent θ·q̄ equal p_ℓ·f'(x₀) (starting low: an excess demand for latency
        raises p_ℓ quickly, while a slack SLO lowers it only along a flat valley of the dual)."""
        _, xmin = self.check_feasible()
        # mix with capacity-proportional flows so that f_a' differs within a stage (at the pure
        # latency-minimising flows all f_a' of a stage are equal and J_q is singular)
        cap_stage = (self.mu @ self._member.T)[:, self.stage_index]
        xcap = self.demand_stage[:, self.stage_index] * self.mu / cap_stage
        x0 = 0.5 * xmin + 0.5 * xcap
        d1 = latency_load_d1(x0, self.tau, self.kq, self.mu)
        P0 = 0.1 * self.theta * np.mean(self.quality) / np.mean(d1, axis=1)
        pl = np.maximum(self.eta, P0)
        pl = np.where(pl > 0, pl, 1e-8)
        p = self.kappa + pl[:, None] * d1
        return p, pl

    # ------------------------------------------------------------------ welfare
    def surplus(self, x, s, h) -> float:
        """Planner objective Σ_q w_q [Σ θq_a x_a + β⁻¹ Σ entr(x_a) − Σ κ_a s_a + η h]."""
        x = np.asarray(x, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(x > 0, -x * np.log(x), 0.0)
        per = (self.theta * self.quality * x).sum(1) + ent.sum(1) / self.beta - (self.kappa * s).sum(1) \
            + self.eta * np.asarray(h, float)
        return float(self.w @ per)

    def utility(self, x, h, m) -> float:
        """Consumer welfare U = Σ_q w_q[Σ θq x + β⁻¹Σ entr(x) + η h] + m."""
        return self.surplus(x, np.zeros_like(x), h) + float(m)

    def to_dict(self) -> dict:
        return {"name": self.name, "basis": self.basis.to_dict(), "orchestrator": self.orchestrator.to_dict(),
                "agents": [a.to_dict() for a in self.agents]}

    def __repr__(self) -> str:
        return (f"StaticEconomy({self.name!r}, N={self.N} agents, S={self.S} stages, "
                f"basis={self.basis!r})")


# ---------------------------------------------------------------------------------------------
# static-economy spec: reading (with line/column of every key) and validation
# ---------------------------------------------------------------------------------------------
SPEC_KEYS = ("stages", "edges", "entry", "agents", "demand", "slo", "money", "theta", "beta", "eta",
             "spend_cap", "horizon", "T", "basis", "K", "name", "kind", "description")
AGENT_KEYS = ("name", "stage", "service_time", "capacity", "unit_cost", "quality", "ca2", "cs2", "meta")
DEMAND_KEYS = ("rate", "amplitude", "period", "phase")


class _LocDict(dict):
    """A YAML mapping that remembers where it and each of its keys start (1-based line, column)."""
    mark: tuple | None = None
    marks: dict = {}


class _LocList(list):
    mark: tuple | None = None
    marks: list = []


def _pos(mark) -> tuple:
    return (mark.line + 1, mark.column + 1)


def load_spec(path) -> dict:
    """Read a static-economy spec YAML (safe loader) keeping the line and column of every mapping,
    key and list item, so that :meth:`StaticEconomy.from_spec` can name where a bad value is."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        d = _LocDict()
        d.mark, d.marks = _pos(node.start_mark), {}
        n_own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)           # merged pairs ('<<: *anchor') first, then the own ones
        n_merged = len(node.value) - n_own
        own: dict = {}
        for i, (knode, vnode) in enumerate(node.value):
            key = loader.construct_object(knode, deep=True)
            if i >= n_merged:                  # an own key may override a merged one, not another own key
                if key in own:                 # PyYAML would silently keep the last value
                    raise EconomyError(f"{path}, line {knode.start_mark.line + 1}, column "
                                       f"{knode.start_mark.column + 1}: duplicate key {key!r} (first at line "
                                       f"{own[key]})")
                own[key] = knode.start_mark.line + 1
            d[key] = loader.construct_object(vnode, deep=True)
            d.marks[key] = _pos(knode.start_mark)
        return d

    def sequence(loader, node):
        out = _LocList(loader.construct_object(v, deep=True) for v in node.value)
        out.mark, out.marks = _pos(node.start_mark), [_pos(v.start_mark) for v in node.value]
        return out

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    return read_yaml_document(path, _Loader)


def read_yaml_document(path, loader=None):
    """The YAML document of ``path`` (PyYAML's safe loader unless ``loader`` is given); a file that is
    not UTF-8 text or not valid YAML is an EconomyError naming the file, and the line and column of
    the syntax error."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=loader or yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise EconomyError(f"{path}: not a text (UTF-8) file ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise EconomyError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


class _SpecReader:
    """Validation of a static-economy spec; every message names the source, the key path and (for a
    spec from :func:`load_spec`) the line and column."""

    def __init__(self, source):
        self.source = source

    def where(self, container, key, path) -> str:
        marks = getattr(container, "marks", None)
        pos = None
        if isinstance(marks, dict):
            pos = marks.get(key)
        elif isinstance(marks, list) and isinstance(key, int) and 0 <= key < len(marks):
            pos = marks[key]
        if pos is None:
            pos = getattr(container, "mark", None)
        loc = f", line {pos[0]}, column {pos[1]}" if pos else ""
        return f"{self.source}{loc}: {path}"

    def fail(self, container, key, path, msg):
        raise EconomyError(f"{self.where(container, key, path)} {msg}")

    def keys(self, d, allowed, path):
        import difflib
        for k in d:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
                self.fail(d, k, f"{path}{k}", f"is not a known key{hint}")

    def mapping(self, parent, key, path, value):
        if not isinstance(value, dict):
            self.fail(parent, key, path, f"must be a mapping, got {type(value).__name__} {value!r}")
        return value

    def number(self, d, key, path, default=None, *, lo=None, lo_open=False, hi=None, hi_open=False,
               required=False):
        if key not in d or d[key] is None:
            if required:
                self.fail(d, None, path.rsplit(".", 1)[0] if "." in path else "economy",
                          f"misses required key {key!r}")
            return default
        v = d[key]
        ok = not isinstance(v, bool)
        if ok:
            try:
                v = float(v)       # also YAML 1.1's unquoted '1e-4', which PyYAML reads as a string
            except (TypeError, ValueError):
                ok = False
        if not ok:
            self.fail(d, key, path, f"must be a number, got {d[key]!r}")
        if not np.isfinite(v):
            self.fail(d, key, path, f"must be finite, got {v!r}")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            self.fail(d, key, path, f"= {v:g} must be {'>' if lo_open else '>='} {lo:g}")
        if hi is not None and (v > hi or (hi_open and v == hi)):
            self.fail(d, key, path, f"= {v:g} must be {'<' if hi_open else '<='} {hi:g}")
        return v

    def name(self, d, key, path, required=True):
        if key not in d:
            if required:
                self.fail(d, None, path.rsplit(".", 1)[0], f"misses required key {key!r}")
            return None
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            self.fail(d, key, path, f"must be a name (string), got {v!r}")
        return str(v)


def _spec_economy(cls, spec, source):
    from .agents import Agent
    rd = _SpecReader(source)
    if not isinstance(spec, dict):
        raise EconomyError(f"{source}: a static-economy spec must be a mapping, got {type(spec).__name__}")
    rd.keys(spec, SPEC_KEYS, "")
    for key in ("stages", "agents", "demand", "slo"):
        if key not in spec:
            rd.fail(spec, None, "economy", f"misses required key {key!r}")
    # stages
    raw = spec["stages"]
    if not isinstance(raw, list) or not raw:
        rd.fail(spec, "stages", "stages", f"must be a non-empty list of stage names, got {raw!r}")
    stages = []
    for i, s in enumerate(raw):
        if isinstance(s, dict):
            rd.keys(s, ("name",), f"stages[{i}].")
            stages.append(rd.name(s, "name", f"stages[{i}].name"))
        elif isinstance(s, (str, int)) and not isinstance(s, bool):
            stages.append(str(s))
        else:
            rd.fail(raw, i, f"stages[{i}]", f"must be a stage name, got {s!r}")
    # edges
    raw = spec.get("edges") or []
    if not isinstance(raw, list):
        rd.fail(spec, "edges", "edges", f"must be a list of [from, to, probability], got {raw!r}")
    edges = []
    for i, e in enumerate(raw):
        path = f"edges[{i}]"
        if isinstance(e, dict):
            rd.keys(e, ("from", "to", "prob", "probability"), f"{path}.")
            src, dst = rd.name(e, "from", f"{path}.from"), rd.name(e, "to", f"{path}.to")
            pk = "prob" if "prob" in e else "probability"
            prob = rd.number(e, pk, f"{path}.{pk}", 1.0, lo=0.0, hi=1.0)
        elif isinstance(e, list) and len(e) == 3:
            src, dst = str(e[0]), str(e[1])
            prob = rd.number(_idx_dict(e), 2, f"{path}[2] (probability)", lo=0.0, hi=1.0)
        else:
            rd.fail(raw, i, path, f"must be [from, to, probability] or {{from, to, prob}}, got {e!r}")
        edges.append((src, dst, prob))
    T = rd.number(spec, "horizon" if "horizon" in spec else "T", "horizon", 1.0, lo=0.0, lo_open=True)
    dem = spec["demand"]
    if isinstance(dem, dict):
        rd.keys(dem, DEMAND_KEYS, "demand.")
        rate = rd.number(dem, "rate", "demand.rate", required=True, lo=0.0, lo_open=True)
        amp = rd.number(dem, "amplitude", "demand.amplitude", 0.0, lo=0.0, hi=1.0, hi_open=True)
        period = rd.number(dem, "period", "demand.period", T, lo=0.0, lo_open=True)
        phase = rd.number(dem, "phase", "demand.phase", 0.0)
        lam = sine_demand(rate, amp, period, phase)
    else:
        lam = rd.number(spec, "demand", "demand", lo=0.0, lo_open=True)
    nums = {"slo": rd.number(spec, "slo", "slo", lo=0.0, lo_open=True),
            "money": rd.number(spec, "money", "money", 0.0),
            "theta": rd.number(spec, "theta", "theta", 1.0),
            "beta": rd.number(spec, "beta", "beta", 1.0, lo=0.0, lo_open=True),
            "eta": rd.number(spec, "eta", "eta", 0.0, lo=0.0),
            "spend_cap": rd.number(spec, "spend_cap", "spend_cap", None)}
    entry = spec.get("entry")
    if entry is not None and not isinstance(entry, (str, dict)):
        rd.fail(spec, "entry", "entry", f"must be a stage name or a mapping {{stage: probability}}, got {entry!r}")
    if isinstance(entry, dict):
        entry = {str(k): rd.number(entry, k, f"entry.{k}", lo=0.0, hi=1.0) for k in entry}
    try:
        orch = Orchestrator(stages, edges, entry=entry, arrival_rate=lam, slo=nums["slo"],
                            money=nums["money"], theta=nums["theta"], beta=nums["beta"], eta=nums["eta"],
                            spend_cap=nums["spend_cap"])
    except EconomyError as exc:
        raise EconomyError(f"{source}: {exc}") from None
    raw = spec["agents"]
    if not isinstance(raw, list) or not raw:
        rd.fail(spec, "agents", "agents", f"must be a non-empty list of agent mappings, got {raw!r}")
    agents = []
    for i, a in enumerate(raw):
        path = f"agents[{i}]"
        if not isinstance(a, dict):
            rd.fail(raw, i, path, f"must be a mapping (name, stage, service_time, capacity, ...), got {a!r}")
        rd.keys(a, AGENT_KEYS, f"{path}.")
        name = rd.name(a, "name", f"{path}.name")
        stage = rd.name(a, "stage", f"{path}.stage")
        vals = {"service_time": rd.number(a, "service_time", f"{path}.service_time", required=True, lo=0.0,
                                          lo_open=True),
                "capacity": rd.number(a, "capacity", f"{path}.capacity", required=True, lo=0.0, lo_open=True),
                "unit_cost": rd.number(a, "unit_cost", f"{path}.unit_cost", 0.0, lo=0.0),
                "quality": rd.number(a, "quality", f"{path}.quality", 1.0),
                "ca2": rd.number(a, "ca2", f"{path}.ca2", 1.0, lo=0.0),
                "cs2": rd.number(a, "cs2", f"{path}.cs2", 1.0, lo=0.0)}
        meta = a.get("meta") or {}
        if not isinstance(meta, dict):
            rd.fail(a, "meta", f"{path}.meta", f"must be a mapping, got {meta!r}")
        try:
            agents.append(Agent(name, stage, meta=dict(meta), **vals))
        except EconomyError as exc:
            raise EconomyError(f"{rd.where(raw, i, path)}: {exc}") from None
    K = spec.get("K", 16)
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        rd.fail(spec, "K", "K", f"must be a positive integer (basis size), got {K!r}")
    basis = spec.get("basis", "legendre")
    if not isinstance(basis, str):
        rd.fail(spec, "basis", "basis", f"must be 'legendre' or 'pwc', got {basis!r}")
    try:
        return cls(orch, agents, basis=basis, K=K, T=T, name=str(spec.get("name", "economy")))
    except EconomyError as exc:
        raise EconomyError(f"{source}: {exc}") from None


def _idx_dict(seq):
    """A list as a {index: item} mapping carrying the list's item positions (for error locations)."""
    d = _LocDict(enumerate(seq))
    d.mark, d.marks = getattr(seq, "mark", None), dict(enumerate(getattr(seq, "marks", [])))
    return d
