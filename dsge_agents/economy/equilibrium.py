"""Computing the static functional general equilibrium (DESIGN §5.1).

``equilibrium(economy, method=...)`` solves z(p) = 0 on V_K for a
:class:`~dsge_agents.economy.static.StaticEconomy` (or an
:class:`~dsge_agents.economy.scarf.ExchangeEconomy`) and returns an
:class:`EquilibriumResult` with prices, allocations and diagnostics.

Methods
-------
``"tatonnement"``
    Walrasian tâtonnement as projected dual gradient descent (Kelly, Maulloo & Tan 1998):
    p_q ← Proj_{p_ℓ ≥ η}(p_q + G_q z_q(p)) at every node q, with a diagonal step G_q (one
    step per good). z = −∇D with D the convex dual (``StaticEconomy.dual``). G is chosen
    from the Jacobian J_q = ∂z_q/∂p_q: with d = −diag J_q, G_q = c_q diag(1/d) where
    c_q = 1/λ_max of the Jacobi-scaled −J_q along the path (no overshoot) and, once the
    relative excess demand is below ``freeze_tol``, c_q = 2/(λ_min + λ_max) (the optimal
    fixed step for a quadratic, Polyak 1987 §1.4), then halved while max_q ‖I + G^½ J_q G^½‖₂ ≥ 1. G is
    re-chosen along the path (at the start, after ``refresh_every`` iterations — an interval
    doubled after each such periodic refresh — and each time the relative excess demand fell
    by 10²) and frozen once it is below ``freeze_tol``; far from the solution a
    node's step is halved whenever it would increase D (monotone descent safeguard).
    The reported ``contraction_modulus`` is max_q ‖I + G^½ J_q G^½‖₂ for the frozen G
    evaluated at the final iterate (the solution), and ``measured_rate`` the geometric
    mean contraction of the steps ‖G^{-½}ΔP‖ after freezing. Both are in the G^{-1}
    metric, in which the linearised map is the symmetric I + G^½JG^½, so
    measured_rate ≤ contraction_modulus up to second-order terms.
``"newton"``
    Damped Newton on the dual: minimise D_q(p) per node subject to p_ℓ ≥ η with Hessian
    −J_q (dense), Armijo backtracking and an active-set treatment of the price floor
    (Boyd & Vandenberghe 2004, §9.5 and §10.2).
``"planner"``
    The conic planner of :mod:`dsge_agents.economy.planner`, polished by Newton on its KKT
    system; its multipliers are the prices.

The iterations work on nodal prices; since B is invertible with B⁻¹ = BᵀW this is the
same iteration on coefficients P = BᵀW p with the step BᵀW G B.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np

from dsge_agents.errors import EconomyError

__all__ = ["EquilibriumResult", "equilibrium", "walras_identity", "contraction_modulus",
           "choose_steps", "tatonnement", "newton_dual", "json_safe"]


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
def json_safe(v):
    """JSON-safe copy of nested dicts/lists/arrays: NaN and ±inf (which ``json.dumps`` writes as the
    invalid tokens NaN / Infinity) become null, NumPy scalars and arrays plain Python."""
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return json_safe(v.tolist())
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


@dataclass
class EquilibriumResult:
    """Outcome of :func:`equilibrium`.

    Nodal arrays have shape (K, N) (agents) or (K,) (latency); coefficient arrays (N, K) / (K,).
    For an exchange economy the agent arrays hold the goods' prices (1 node).
    """

    method: str
    converged: bool
    iterations: int
    message: str
    goods: list
    t: np.ndarray
    weights: np.ndarray
    prices: np.ndarray
    latency_price: np.ndarray | None = None
    price_coefficients: np.ndarray | None = None
    latency_price_coefficients: np.ndarray | None = None
    basis: str | None = None
    K: int | None = None
    T: float | None = None
    supply: np.ndarray | None = None
    demand: np.ndarray | None = None
    latency: np.ndarray | None = None
    headroom: np.ndarray | None = None
    headroom_total: np.ndarray | None = None
    shares: np.ndarray | None = None
    slo_binding: np.ndarray | None = None
    money: float | None = None
    spend: float | None = None
    spend_cap_slack: float | None = None
    welfare: float | None = None
    surplus: float | None = None          # welfare − M, computed without adding M (no rounding by M)
    walras_residual: float = float("nan")
    excess_demand_norm: float = float("nan")
    contraction_modulus: float = float("nan")
    measured_rate: float = float("nan")
    step_sizes: np.ndarray | None = None
    history: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    seconds: float = float("nan")
    _economy: object = field(default=None, repr=False)

    @property
    def G(self):
        return self.step_sizes

    # -------------------------------------------------------------- grids
    def prices_on_grid(self, n: int = 201):
        """(t, p_a(t) (n, N), p_ℓ(t) (n,)) from the basis coefficients."""
        eco = self._economy
        if eco is None or not hasattr(eco, "basis"):
            raise EconomyError("prices on a time grid need a functional (StaticEconomy) result")
        tg = eco.basis.grid(n)
        pa = eco.basis.evaluate(self.price_coefficients.T, tg)
        pl = eco.basis.evaluate(self.latency_price_coefficients, tg)
        return tg, pa, pl

    def summary(self) -> str:
        lines = [f"Static equilibrium ({self.method}) — "
                 + ("converged" if self.converged else "NOT converged") + f" after {self.iterations} iterations",
                 f"  {self.message}"]
        if self.basis is not None:
            lines.append(f"  basis {self.basis}, K = {self.K}, T = {self.T:g}; {len(self.goods)} agents")
        rate = (f"{self.measured_rate:.6f}" if math.isfinite(self.measured_rate) else
                "n/a (measured over the frozen phase of a tâtonnement)")
        lines += [f"  walras_residual       {self.walras_residual:.3e}",
                  f"  excess_demand_norm    {self.excess_demand_norm:.3e}  (relative to demand)",
                  f"  contraction_modulus   {self.contraction_modulus:.6f}",
                  f"  measured_rate         {rate}"]
        if self.welfare is not None:
            lines.append(f"  welfare               {self.welfare:.10g}")
        if self.spend is not None:
            if self.spend_cap_slack is None:
                cap = "no spend cap"
            elif self.spend_cap_slack >= 0:
                cap = f"spend-cap slack {self.spend_cap_slack:.6g}"
            else:   # quasi-linear utility: the cap does not change the allocation (DESIGN §5.1)
                cap = (f"spend cap EXCEEDED by {-self.spend_cap_slack:.6g} (slack {self.spend_cap_slack:.6g}; "
                       "a binding cap would need its own price)")
            lines.append(f"  spend {self.spend:.6g}, money {self.money:.6g}, {cap}")
        if self.latency_price is not None:
            nb = int(np.sum(self.slo_binding)) if self.slo_binding is not None else 0
            lines.append(f"  latency price p_l(t): min {self.latency_price.min():.6g}, "
                         f"max {self.latency_price.max():.6g}; SLO binding at {nb}/{len(self.latency_price)} nodes")
        functional = self.supply is not None and self.shares is not None and np.ndim(self.supply) == 2
        if functional:
            lines.append(f"  {'good/agent':<20s} {'mean price':>12s} {'mean flow':>12s} {'mean share':>11s}")
        else:   # an exchange economy: prices only (no flows or routing shares to report)
            lines.append(f"  {'good':<20s} {'price':>12s}")
        for i, g in enumerate(self.goods):
            if not functional:
                lines.append(f"  {g:<20s} {float(np.ravel(self.prices)[i]):12.6g}")
                continue
            pr = float(np.average(self.prices[:, i], weights=self.weights))
            fl = float(np.average(self.supply[:, i], weights=self.weights))
            sh = float(np.average(self.shares[:, i], weights=self.weights))
            lines.append(f"  {g:<20s} {pr:12.6g} {fl:12.6g} {sh:11.4f}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-able dict; top-level diagnostics named as in the issue."""
        def arr(a):
            return None if a is None else np.asarray(a, dtype=float).tolist()

        def num(x):
            if x is None:
                return None
            x = float(x)
            return x if math.isfinite(x) else None
        d = {"method": self.method, "converged": bool(self.converged), "iterations": int(self.iterations),
             "message": self.message,
             "walras_residual": num(self.walras_residual),
             "excess_demand_norm": num(self.excess_demand_norm),
             "contraction_modulus": num(self.contraction_modulus),
             "measured_rate": num(self.measured_rate),
             "basis": self.basis, "K": self.K, "T": self.T, "goods": list(self.goods),
             "nodes": arr(self.t), "weights": arr(self.weights),
             "prices": {"agents": arr(self.prices), "latency": arr(self.latency_price),
                        "agent_coefficients": arr(self.price_coefficients),
                        "latency_coefficients": arr(self.latency_price_coefficients)},
             "allocations": {"supply": arr(self.supply), "demand": arr(self.demand),
                             "latency_load": arr(self.latency), "headroom": arr(self.headroom)},
             "shares": arr(self.shares),
             "slo_binding": None if self.slo_binding is None else [bool(b) for b in self.slo_binding],
             "money": num(self.money), "spend": num(self.spend), "spend_cap_slack": num(self.spend_cap_slack),
             "welfare": num(self.welfare), "surplus": num(self.surplus), "step_sizes": arr(self.step_sizes),
             "seconds": num(self.seconds)}
        if self._economy is not None and hasattr(self._economy, "basis"):
            tg, pa, pl = self.prices_on_grid(101)
            d["price_grid"] = {"t": tg.tolist(), "agents": pa.tolist(), "latency": pl.tolist()}
        for k, v in self.extra.items():
            d[k] = v if isinstance(v, (str, bool, int, type(None), list, dict)) else num(v)
        d = json_safe(d)
        json.dumps(d, allow_nan=False)   # fail early if something is not serialisable
        return d

    def plot(self, fig=None):
        """Figure: agent prices and latency price over the horizon (from the basis), and shares."""
        # a pyplot-free Figure: returned, never shown, and the user's matplotlib backend is left alone
        # (matplotlib.use("Agg") here switched a notebook's or a GUI session's backend)
        from matplotlib.figure import Figure
        if fig is None:
            fig = Figure(figsize=(11, 3.6))
        if self._economy is None or not hasattr(self._economy, "basis"):
            ax = fig.add_subplot(1, 1, 1)
            ax.bar(self.goods, np.ravel(self.prices))
            ax.set_title(f"equilibrium prices ({self.method}, converged={self.converged})")
            return fig
        tg, pa, pl = self.prices_on_grid(301)
        ax1, ax2, ax3 = fig.subplots(1, 3)
        for i, g in enumerate(self.goods):
            ax1.plot(tg, pa[:, i], label=g)
            ax3.plot(self.t, self.shares[:, i], marker="o", ms=3, label=g)
        ax1.set_title("agent prices p_a(t)")
        ax1.legend(fontsize=7)
        ax2.plot(tg, pl, color="k")
        ax2.plot(self.t, self.latency_price, "o", ms=3, color="k")
        ax2.set_title("latency price p_ℓ(t)")
        # a price that is constant up to rounding was drawn as noise around an offset
        # ('1e-17+4.475449984e-5' with ticks 44..52): no offset, and a band of ±5 % around it
        ax2.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
        lo, hi = float(np.nanmin(pl)), float(np.nanmax(pl))
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo <= 1e-6 * max(abs(hi), abs(lo), 1e-300):
            pad = 0.05 * max(abs(hi), abs(lo)) or 1.0
            ax2.set_ylim(lo - pad, hi + pad)
        ax3.set_title("routing shares at nodes")
        for ax in (ax1, ax2, ax3):
            ax.set_xlabel("t")
        fig.tight_layout()
        return fig


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
def walras_identity(economy, p, pl=None) -> float:
    """⟨p, z(p)⟩ = expenditure − income at any prices (money included at price 1).

    For a StaticEconomy pass nodal prices ``p`` (K, N) and ``pl`` (K,) (or one packed (K, N+1)
    array); for an ExchangeEconomy a price vector. The value is identically zero because money
    is the budget residual; it is computed in basis coefficients so it also checks BᵀWB = I.
    """
    if hasattr(economy, "equilibrium_exchange"):
        return economy.walras_value(np.asarray(p, float))[0]
    if hasattr(economy, "walras_value"):
        if pl is None:
            p, pl = economy.unpack(p)
        return economy.walras_value(p, pl)[0]
    raise EconomyError(f"walras_identity: {type(economy).__name__} is not an economy")


def _free_latency(economy, p, pl):
    """Nodes where the latency price is free (not held at its floor η by a slack SLO). At the other
    nodes the projection fixes p_ℓ = η and the linearised tâtonnement acts on the agent prices only,
    so the modulus is that of the principal submatrix without the latency row/column."""
    _, ell, _, _ = economy.supply(p, pl)
    slack = ell.sum(axis=1) < economy.lbar
    at_floor = np.asarray(pl) <= max(economy.eta, 0.0) * (1 + 1e-12)
    return ~(at_floor & slack)


_DENSE_MAX = 200     # above this many prices per node the structured eigen-solver is used


def _extreme_eigs_structured(economy, q, parts, scale, lat_free=True):
    """(λ_min, λ_max) of M = S(−J_q)S exploiting its structure: restricted to agent prices M is
    block-diagonal by stage (each block diag − rank-one), and the latency price borders it,
    M = [[A, b], [bᵀ, c]]. With A = QΛQᵀ (block eigendecompositions) the eigenvalues of M outside
    [Λ_min, Λ_max] are the roots of the secular equation (Golub 1973)
        f(λ) = c − λ − Σ_i (Qᵀb)_i² / (Λ_i − λ) = 0,
    which is monotone on (−∞, Λ_min) and (Λ_max, ∞); by interlacing these roots are the extreme
    eigenvalues. Cost O(Σ_s n_s³) instead of O(N³)."""
    from scipy.optimize import brentq
    pi, bD, g, r = (a[q] for a in parts)
    N = economy.N
    lams, proj = [], []
    for s_ in range(economy.S):
        idx = np.flatnonzero(economy.stage_index == s_)
        Ss = scale[idx]
        B = -bD[idx][:, None] * np.outer(pi[idx], pi[idx])
        B[np.diag_indices(idx.size)] += bD[idx] * pi[idx] + g[idx]
        B = Ss[:, None] * B * Ss[None, :]
        L, Q = np.linalg.eigh(B)
        lams.append(L)
        if lat_free:
            proj.append(Q.T @ (Ss * (-g[idx] * r[idx]) * scale[N]))
    L = np.concatenate(lams)
    lmin, lmax = float(L.min()), float(L.max())
    if not lat_free:
        return lmin, lmax
    w = np.concatenate(proj) ** 2
    c = float(scale[N] ** 2 * np.sum(g * r * r))
    nb = float(np.sqrt(w.sum()))

    def f(lam):
        return c - lam - np.sum(w / (L - lam))
    span = max(abs(lmin), abs(lmax), abs(c), nb, 1e-300)
    d = 1e-13 * span
    lo_end = lmin - d
    if f(lo_end) < 0:
        lo = brentq(f, min(lmin, c) - nb - d, lo_end, xtol=1e-15 * span, rtol=1e-15)   # Weyl bracket
    else:
        lo = lmin
    hi_end = lmax + d
    if f(hi_end) > 0:
        hi = brentq(f, hi_end, max(lmax, c) + nb + d, xtol=1e-15 * span, rtol=1e-15)
    else:
        hi = lmax
    return float(min(lo, lmin)), float(max(hi, lmax))


def _extreme_eigs_scaled(economy, q, parts, scale, lat_free=True):
    """(λ_min, λ_max) of S(−J_q)S with S = diag(scale) (symmetric), restricted to the agent prices
    when ``lat_free`` is False. Dense for small N, structured (secular equation) otherwise."""
    n = economy.N + 1
    m = n if lat_free else n - 1
    if n > _DENSE_MAX:
        return _extreme_eigs_structured(economy, q, parts, scale, lat_free)
    J = economy.jacobian_node(q, parts)
    M = -(scale[:, None] * J * scale[None, :])[:m, :m]
    ev = np.linalg.eigvalsh(M)
    return float(ev[0]), float(ev[-1])


def contraction_modulus(economy, p, pl, G) -> tuple[float, np.ndarray]:
    """max_q ‖I + G_q^½ J_q G_q^½‖₂ (DESIGN §5.1) and the per-node values; J_q symmetric NSD so
    the norm is max(|1 − λ_min|, |1 − λ_max|) of G^½(−J_q)G^½ (on the free prices: the latency
    coordinate is dropped at nodes where p_ℓ = η and the SLO is slack)."""
    parts = economy.jacobian_parts(p, pl)
    free = _free_latency(economy, p, pl)
    mods = np.empty(economy.K)
    for q in range(economy.K):
        lo, hi = _extreme_eigs_scaled(economy, q, parts, np.sqrt(G[q]), bool(free[q]))
        mods[q] = max(abs(1 - lo), abs(1 - hi))
    return float(mods.max()), mods


def choose_steps(economy, p, pl, max_halvings: int = 60, optimal: bool = True):
    """Diagonal steps G (K, N+1): Jacobi scaling times a constant c, halved until the modulus
    ‖I + G^½ J_q G^½‖₂ < 1 at every node (see module docstring). ``optimal``: c = 2/(λ_min + λ_max)
    (best linear rate, used once near the solution); otherwise the conservative c = 1/λ_max (no
    overshoot of the stiffest direction; used along the nonlinear path). Returns (G, modulus per node)."""
    parts = economy.jacobian_parts(p, pl, one_sided=True)
    free = _free_latency(economy, p, pl)
    dg = -economy.jacobian_diag(parts)
    dg = np.maximum(dg, 1e-14 * dg.max(axis=1, keepdims=True) + 1e-300)
    G = np.empty_like(dg)
    mods = np.empty(economy.K)
    for q in range(economy.K):
        lo, hi = _extreme_eigs_scaled(economy, q, parts, 1.0 / np.sqrt(dg[q]), bool(free[q]))
        lo = max(lo, 0.0)
        c = 2.0 / (lo + hi) if optimal else 1.0 / hi
        for _ in range(max_halvings):
            mod = max(abs(1 - c * lo), abs(1 - c * hi))
            if mod < 1.0 or c * hi < 2.0:   # c·λ_min ≈ 0: halving cannot help (singular J_q)
                break
            c *= 0.5
        G[q] = c / dg[q]
        mods[q] = mod
        if not free[q]:
            # p_ℓ sits at its floor with a slack SLO: the modulus above is on the agent prices. Keep
            # the latency step from overshooting should the SLO bind again: halve G_ℓ until the
            # largest eigenvalue of G^½(−J_q)G^½ on all prices is ≤ 1 + modulus.
            for _ in range(max_halvings):
                _, hi_full = _extreme_eigs_scaled(economy, q, parts, np.sqrt(G[q]), True)
                if hi_full <= 1.0 + mod:
                    break
                G[q, -1] *= 0.5
    return G, mods


# ---------------------------------------------------------------------------------------------
# tâtonnement
# ---------------------------------------------------------------------------------------------
def _z_nodal(eco, p, pl):
    s, ell, _, _ = eco.supply(p, pl)
    x, pi, _ = eco.demand(p, pl)
    lt = ell.sum(axis=1)
    h = eco.headroom_demand(pl, lt)
    return x - s, h + lt - eco.lbar, x, s, ell, h, pi


def _rel(eco, zg, zl):
    return float(max((np.abs(zg) / eco.demand_stage[:, eco.stage_index]).max(), (np.abs(zl) / eco.lbar).max()))


def tatonnement(economy, p0=None, pl0=None, tol: float = 1e-10, max_iter: int = 200_000,
                freeze_tol: float = 1e-6, refresh_factor: float = 1e2, refresh_every: int = 25,
                walras_every: int = 50):
    """Projected dual-gradient tâtonnement (see module docstring). Returns a dict of raw outputs."""
    eco = economy
    eco.check_feasible()
    if p0 is None or pl0 is None:
        p, pl = eco.initial_prices()
    else:
        p, pl = np.array(p0, float), np.array(pl0, float)
    floor = max(eco.eta, 0.0)
    pos_floor = np.maximum(floor, 1e-300)
    zg, zl, *_ = _z_nodal(eco, p, pl)
    rel = _rel(eco, zg, zl)
    G, _ = choose_steps(eco, p, pl, optimal=rel <= freeze_tol)
    last_refresh, frozen, last_refresh_it = rel, rel <= freeze_tol, 0
    Dold = eco.dual(p, pl)
    hist, steps = [rel], []
    walras_max = eco.walras_value(p, pl)[1]
    it, converged = 0, rel <= tol
    n_refresh, n_bad = 1, 0
    while not converged and it < max_iter:
        it += 1
        P = eco.pack(p, pl)
        Z = eco.pack(zg, zl)
        Pn = P + G * Z
        # projection on p_ℓ ≥ η; a p_ℓ far above η may fall at most to a tenth of its value in one
        # step (keeps p_ℓ > 0 when η = 0, never active near the solution)
        Pn[:, eco.N] = np.maximum(Pn[:, eco.N], np.maximum(pos_floor, 0.1 * P[:, eco.N]))
        pn, pln = eco.unpack(Pn)
        if not frozen:
            Dn = eco.dual(pn, pln)
            bad = Dn > Dold + 1e-13 * np.abs(Dold)
            if bad.any():      # safeguard: halve the step at nodes where D would increase
                G[bad] *= 0.5
                n_bad += 1
                Pn[bad] = P[bad]
                pn, pln = eco.unpack(Pn)
                Dn = np.where(bad, Dold, Dn)
            Dold = Dn
        else:
            steps.append(float(np.linalg.norm((Pn - P) / np.sqrt(G))))
        p, pl = pn, pln
        zg, zl, *_ = _z_nodal(eco, p, pl)
        rel = _rel(eco, zg, zl)
        hist.append(rel)
        if it % walras_every == 0:
            walras_max = max(walras_max, eco.walras_value(p, pl)[1])
        if not np.isfinite(rel):
            break
        converged = rel <= tol
        stale = n_bad >= 3 and it - last_refresh_it >= 5      # repeated safeguard halvings: G is stale
        if not frozen and (rel <= last_refresh / refresh_factor or rel <= freeze_tol
                           or it - last_refresh_it >= refresh_every or stale):
            n_bad = 0
            G, _ = choose_steps(eco, p, pl, optimal=rel <= freeze_tol)
            n_refresh += 1
            if it - last_refresh_it >= refresh_every:
                refresh_every *= 2          # periodic refreshes become rarer (cost ∝ eigen-solves)
            last_refresh, last_refresh_it = rel, it
            frozen = rel <= freeze_tol
            Dold = eco.dual(p, pl)
    walras_max = max(walras_max, eco.walras_value(p, pl)[1])
    mod, mods = contraction_modulus(eco, p, pl, G)
    # measured geometric rate over the frozen phase, dropping steps at rounding level
    st = np.array(steps)
    st = st[st > 0]
    rate = float((st[-1] / st[0]) ** (1.0 / (len(st) - 1))) if len(st) >= 2 else float("nan")
    return {"p": p, "pl": pl, "iterations": it, "converged": bool(converged), "rel": rel, "G": G,
            "modulus": mod, "modulus_nodes": mods, "rate": rate, "history": hist, "walras_max": walras_max,
            "n_refresh": n_refresh, "n_frozen": len(steps), "freeze_tol": freeze_tol}


# ---------------------------------------------------------------------------------------------
# Newton on the dual
# ---------------------------------------------------------------------------------------------
def newton_dual(economy, p0=None, pl0=None, tol: float = 1e-12, max_iter: int = 200):
    """Damped Newton with Armijo backtracking on D_q(p), p_ℓ ≥ η (active set), node by node,
    globalised by Levenberg–Marquardt damping (Nocedal & Wright 2006, §10.3): the Hessian −J_q is
    singular when a stage has a single agent (the consumer block vanishes and the firm block has
    rank one), where the undamped step is unbounded. A node whose line search fails keeps its prices
    and raises its damping λ_q (H + λ_q·max diag(H)·I, λ_q ×10³), which turns the step into a scaled
    gradient (tâtonnement) step; a full Newton step lowers λ_q tenfold. A trial point is accepted only
    if D is finite and decreases, so the prices stay finite. Where H vanishes (a shut-down firm alone
    in its stage) the damping is scaled by the firm's right derivative (as in :func:`choose_steps`)."""
    eco = economy
    eco.check_feasible()
    if p0 is None or pl0 is None:
        p, pl = eco.initial_prices()
    else:
        p, pl = np.array(p0, float), np.array(pl0, float)
    floor = max(eco.eta, 1e-300)
    N = eco.N
    it = 0
    walras_max = eco.walras_value(p, pl)[1]
    hist = []
    lm = np.zeros(eco.K)               # Levenberg–Marquardt damping per node (relative to max diag H)
    for it in range(1, max_iter + 1):
        s, ell, _, _ = eco.supply(p, pl)
        x, _, _ = eco.demand(p, pl)
        zg0 = x - s
        zl0 = ell.sum(1) - eco.lbar            # h = 0 branch: the gradient of D is −z
        zg, zl, *_ = _z_nodal(eco, p, pl)
        rel = _rel(eco, zg, zl)
        hist.append(rel)
        if rel <= tol or np.all(lm > 1e30):     # converged, or no node can descend any more
            break
        parts = eco.jacobian_parts(p, pl)
        # scale of the damping: the diagonal of H, or where it vanishes (a one-agent stage whose firm is
        # shut down has a zero Hessian block) the right derivative the firm has once it produces
        dscale = np.maximum(np.abs(eco.jacobian_diag(parts)).max(axis=1),
                            np.abs(eco.jacobian_diag(eco.jacobian_parts(p, pl, one_sided=True))).max(axis=1))
        D0 = eco.dual(p, pl)
        d = np.zeros((eco.K, N + 1))
        for q in range(eco.K):
            H = -eco.jacobian_node(q, parts)
            grad = -np.concatenate([zg0[q], [zl0[q]]])
            free = np.ones(N + 1, bool)
            if pl[q] <= floor * (1 + 1e-12) and grad[N] > 0:
                free[N] = False
            Hf = H[np.ix_(free, free)]
            dmax = max(np.abs(np.diag(Hf)).max(), 1e-300)
            A = Hf + (1e-12 * dmax + lm[q] * max(dscale[q], 1e-300)) * np.eye(free.sum())
            try:
                step = -np.linalg.solve(A, grad[free])
            except np.linalg.LinAlgError:
                step = np.full(free.sum(), np.nan)
            if not np.all(np.isfinite(step)):
                step = -grad[free] / np.maximum(np.diag(A), 1e-300)
            d[q, free] = step
        grad_all = -eco.pack(zg0, zl0)
        slope = (grad_all * d).sum(axis=1)
        tstep = np.ones(eco.K)
        P = eco.pack(p, pl)
        for _ in range(40):
            Pn = P + tstep[:, None] * d
            Pn[:, N] = np.maximum(Pn[:, N], floor)
            pn, pln = eco.unpack(Pn)
            with np.errstate(all="ignore"):
                Dn = eco.dual(pn, pln)
            ok = np.isfinite(Dn) & (Dn <= D0 + 1e-4 * tstep * slope + 1e-14 * np.abs(D0)) & (pln >= 0.1 * pl)
            if ok.all():
                break
            tstep = np.where(ok, tstep, 0.5 * tstep)
        # nodes without an acceptable step keep their prices and damp harder; full steps relax the damping
        Pn[~ok] = P[~ok]
        lm = np.where(ok, lm / 10.0, np.maximum(lm * 1e3, 1e-8))
        lm[lm < 1e-12] = 0.0
        p, pl = eco.unpack(Pn)
        walras_max = max(walras_max, eco.walras_value(p, pl)[1])
    zg, zl, *_ = _z_nodal(eco, p, pl)
    rel = _rel(eco, zg, zl)
    return {"p": p, "pl": pl, "iterations": it, "converged": rel <= max(tol, 1e-10), "rel": rel,
            "walras_max": walras_max, "history": hist}


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------
def _make_result(eco, method, p, pl, *, converged, iterations, message, G=None, modulus=float("nan"),
                 rate=float("nan"), walras=None, history=(), seconds=float("nan"), extra=None):
    zg, zl, x, s, ell, h, pi = _z_nodal(eco, p, pl)
    ed = eco.excess_demand(p, pl)
    wal = eco.walras_value(p, pl)[1] if walras is None else walras
    spend = float(eco.w @ (eco.kappa * s).sum(axis=1))
    binding = pl > eco.eta * (1 + 1e-9)
    res = EquilibriumResult(
        method=method, converged=bool(converged), iterations=int(iterations), message=message,
        goods=list(eco.agent_names), t=eco.t.copy(), weights=eco.w.copy(), prices=p, latency_price=pl,
        price_coefficients=eco.coefficients(p).T, latency_price_coefficients=eco.coefficients(pl),
        basis=eco.basis.name, K=eco.K, T=eco.basis.T, supply=s, demand=x, latency=ell, headroom=h,
        headroom_total=eco.lbar, shares=pi, slo_binding=binding, money=eco.money, spend=spend,
        spend_cap_slack=None if eco.orchestrator.spend_cap is None else eco.orchestrator.spend_cap - spend,
        welfare=eco.utility(x, h, ed["m"]), surplus=eco.utility(x, h, ed["m_minus_M"]),
        walras_residual=float(wal),
        excess_demand_norm=_rel(eco, zg, zl), contraction_modulus=float(modulus), measured_rate=float(rate),
        step_sizes=G, history=list(history), seconds=seconds, extra=dict(extra or {}))
    res._economy = eco
    return res


def _check_start(eco, method, p0, pl0):
    """Starting prices: both or neither; p0 (K, N) finite, pl0 (K,) finite and positive (it is projected
    on p_ℓ ≥ η); the planner takes none (it solves the conic program)."""
    if p0 is None and pl0 is None:
        return None, None
    if method == "planner":
        raise EconomyError("the planner takes no starting prices (p0/pl0): it solves the conic program")
    if p0 is None or pl0 is None:
        raise EconomyError("give both starting prices p0 (K×N agent prices) and pl0 (K latency prices), or neither")
    try:
        p, pl = np.array(p0, dtype=float), np.array(pl0, dtype=float)
    except (TypeError, ValueError):
        raise EconomyError("starting prices p0 / pl0 must be numeric arrays") from None
    if p.shape != (eco.K, eco.N) or pl.shape != (eco.K,):
        raise EconomyError(f"starting prices must have shapes p0 ({eco.K}, {eco.N}) (nodes × agents) and pl0 "
                           f"({eco.K},), got {p.shape} and {pl.shape}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(pl)) and np.all(pl > 0)):
        raise EconomyError("starting prices must be finite and the latency prices pl0 positive")
    return p, np.maximum(pl, eco.eta)


def equilibrium(economy, method: str = "tatonnement", K: int | None = None, basis=None, tol: float = 1e-10,
                max_iter: int | None = None, p0=None, pl0=None, **kwargs) -> EquilibriumResult:
    """Static equilibrium of ``economy`` (see module docstring for the methods).

    ``K`` / ``basis`` rebind a StaticEconomy to another V_K before solving. Raises
    :class:`~dsge_agents.errors.SLOInfeasibleError` when no latency price clears at some node.
    """
    method = str(method).lower()
    if method not in ("tatonnement", "newton", "planner"):
        raise EconomyError(f"unknown equilibrium method {method!r}; use 'tatonnement', 'newton' or 'planner'")
    try:
        tol_ok = float(tol) > 0 and math.isfinite(float(tol))
    except (TypeError, ValueError):
        tol_ok = False
    if not tol_ok:   # a relative excess demand of 0 is unreachable in floating point
        raise EconomyError(f"tolerance tol must be a positive finite number, got {tol!r}")
    if max_iter is not None:
        try:
            ok = not isinstance(max_iter, bool) and float(max_iter).is_integer() and int(max_iter) >= 1
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise EconomyError(f"max_iter must be an integer >= 1, got {max_iter!r}")
        max_iter = int(max_iter)
    if hasattr(economy, "equilibrium_exchange"):        # exchange economies (Scarf)
        return economy.equilibrium_exchange(method=method, tol=tol, max_iter=max_iter, p0=p0, K=K, basis=basis,
                                            pl0=pl0, **kwargs)
    eco = economy
    if K is not None or basis is not None:
        eco = eco.with_basis(basis, K)
    p0, pl0 = _check_start(eco, method, p0, pl0)
    if method == "newton" and kwargs:
        raise EconomyError(f"unknown option(s) for method 'newton': {', '.join(sorted(kwargs))}")
    t0 = time.perf_counter()
    if method == "tatonnement":
        unknown = sorted(set(kwargs) - {"freeze_tol", "refresh_factor", "refresh_every", "walras_every"})
        if unknown:
            raise EconomyError(f"unknown option(s) for method 'tatonnement': {', '.join(unknown)}")
        for key, lo, integer in (("freeze_tol", 0.0, False), ("refresh_factor", 1.0, False),
                                 ("refresh_every", 0.0, True), ("walras_every", 0.0, True)):
            if key in kwargs:
                v = kwargs[key]
                ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
                    and math.isfinite(v) and v > lo and (not integer or float(v).is_integer())
                if not ok:
                    raise EconomyError(f"tatonnement option {key} must be {'an integer' if integer else 'a number'}"
                                       f" > {lo:g}, got {v!r}")
        out = tatonnement(eco, p0, pl0, tol=tol, max_iter=max_iter or 200_000, **kwargs)
        msg = (f"relative excess demand {out['rel']:.2e} ≤ tol {tol:g}" if out["converged"] else
               f"stopped after {out['iterations']} iterations with relative excess demand {out['rel']:.2e} "
               f"> tol {tol:g}; gradient steps are slow when routing is near-hard (large beta) or the "
               f"latency price is tiny against the agents' costs: try method='newton' or 'planner'")
        msg += f"; G re-chosen {out['n_refresh']} times along the path, modulus at the solution"
        return _make_result(eco, method, out["p"], out["pl"], converged=out["converged"],
                            iterations=out["iterations"], message=msg, G=out["G"], modulus=out["modulus"],
                            rate=out["rate"], walras=out["walras_max"], history=out["history"],
                            seconds=time.perf_counter() - t0,
                            extra={"contraction_modulus_nodes": out["modulus_nodes"].tolist(),
                                   "frozen_iterations": out["n_frozen"], "freeze_tol": out["freeze_tol"],
                                   "step_refreshes": out["n_refresh"]})
    if method == "newton":
        out = newton_dual(eco, p0, pl0, tol=min(tol, 1e-12), max_iter=max_iter or 200)
        G, mods = choose_steps(eco, out["p"], out["pl"])
        msg = (f"Newton on the dual: relative excess demand {out['rel']:.2e}" +
               ("" if out["converged"] else " (not converged)"))
        return _make_result(eco, method, out["p"], out["pl"], converged=out["converged"],
                            iterations=out["iterations"], message=msg, G=G, modulus=float(mods.max()),
                            walras=out["walras_max"], history=out["history"], seconds=time.perf_counter() - t0)
    from .planner import solve_planner
    unknown = sorted(set(kwargs) - {"solver", "polish"})
    if unknown:
        raise EconomyError(f"unknown option(s) for method 'planner': {', '.join(unknown)}")
    pr = solve_planner(eco, **kwargs)
    G, mods = choose_steps(eco, pr.p, pr.pl)
    return _make_result(eco, method, pr.p, pr.pl, converged=pr.converged, iterations=pr.iterations,
                        message=pr.message, G=G, modulus=float(mods.max()), seconds=time.perf_counter() - t0,
                        extra={"planner_objective": pr.objective, "conic_price_error": pr.conic_price_error,
                               "kkt_residual": pr.kkt_residual})
