"""SFSL — the streaming functional statistics layer (DESIGN §5.1).

An online projector that turns a stream of samples (t_i, v_i), t_i ∈ [0, T], into
coefficients of a function in V_K (see :mod:`dsge_agents.economy.basis`) and into
running second moments, with an associative, commutative ``merge`` so partial
states computed on different workers reduce to the one-pass answer (to rounding).

State (all sums are plain additive sufficient statistics):

* ``n``            number of samples,
* ``S_v, S_vv``    Σ v_i, Σ v_i²,
* ``b``            Σ φ(t_i) v_i          (K,)
* ``b2``           Σ φ(t_i) v_i²         (K,)
* ``G``            Σ φ(t_i) φ(t_i)ᵀ      (K, K)   (the running Gram matrix ΦᵀΦ)

Estimators of the coefficients c of f(t) = E[v | t]:

* ``"lsq"`` (default) — least-squares projection ĉ = G⁻¹ b, the normal equations of
  min_c Σ_i (v_i − φ(t_i)ᵀc)². Exact (to rounding) whenever the samples come from
  an f ∈ V_K and the sample times determine V_K (G nonsingular: at least K
  distinct times for Legendre, one per bin for the piecewise-constant basis).
  Cost per sample O(K²) for the Legendre basis (rank-one Gram update) and O(K)
  for the piecewise-constant basis (diagonal Gram); ``update_many`` does the
  update as one matrix product ΦᵀΦ.
* ``"projection"`` — the Monte-Carlo projection estimator ĉ_k = (T/n) Σ_i φ_k(t_i) v_i
  of ⟨f, φ_k⟩ for times spread uniformly on [0, T]; O(K) per sample, unbiased
  under uniform sampling but not exact for finite n.

When is ``"lsq"`` undetermined? Let H = D^(-1/2) G D^(-1/2), D = diag(G), the Gram matrix
scaled to a unit diagonal (Cholesky's success and accuracy depend on κ₂(H), not κ₂(G):
Demmel's condition in Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002,
§10.1; van der Sluis 1969). The computed sums differ from the exact ones entrywise by at most
γ_n Σ_i |φ(t_i)||φ(t_i)|ᵀ, γ_n ≈ n·eps (Higham §3.1, the inner-product bound, valid for any
summation order or merge tree), which in H is at most n·eps·K in 2-norm (Σ_i |φ̂_i||φ̂_i|ᵀ,
φ̂_i = D^(-1/2)φ(t_i), is nonnegative and PSD with trace K); the eigensolver
adds at most about K·eps·‖H‖ ≤ K²·eps (LAPACK Users' Guide, §4.7). So the coefficients count as
undetermined — :class:`EconomyError` "singular", NaN in the traces layer — when a diagonal
entry of G is 0 or λ_min(H) ≤ 2·K·(n + K)·eps: then the sums cannot be told apart from a
singular Gram matrix (fewer distinct times than K, an empty bin), and any answer would depend on
the rounding, i.e. on partition and merge order. Above the bound the exact G is positive
definite with a margin of the perturbation itself. The test costs one K×K symmetric
eigenvalue problem per solve (microseconds for K ≤ 64), nothing per sample.

``second_moments()`` returns the coefficients of E[v² | t] (same estimator applied to
v²), the residual variance σ̂² = (Σv² − ĉᵀb)/(n − K) of the lsq fit and the
covariance σ̂² G⁻¹ of ĉ.
"""
from __future__ import annotations

import numpy as np

from dsge_agents.errors import EconomyError

from .basis import Basis, make_basis

__all__ = ["SFSL"]


class SFSL:
    """Streaming projector onto V_K with mergeable state.

    >>> from dsge_agents.economy.basis import LegendreBasis
    >>> s = SFSL(LegendreBasis(4, T=10.0)).update_many([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    >>> s.coefficients().round(6).tolist()[2:]   # a straight line has no quadratic part
    [0.0, 0.0]
    """

    ESTIMATORS = ("lsq", "projection")

    def __init__(self, basis: Basis | str = "legendre", K: int | None = None, T: float | None = None,
                 estimator: str = "lsq"):
        if not isinstance(basis, Basis):
            basis = make_basis(basis, K if K is not None else 16, T if T is not None else 1.0)
        if estimator not in self.ESTIMATORS:
            raise EconomyError(f"SFSL estimator must be one of {self.ESTIMATORS}, got {estimator!r}")
        self.basis, self.estimator = basis, estimator
        K = basis.K
        self.n = 0
        self.S_v = 0.0
        self.S_vv = 0.0
        self.b = np.zeros(K)
        self.b2 = np.zeros(K)
        self.G = np.zeros((K, K))

    # ---------------------------------------------------------------- updates
    def update(self, t: float, v: float) -> "SFSL":
        """Add one sample (O(K) for the projection sums, O(K²) for the Legendre Gram)."""
        try:
            tf, v = float(t), float(v)
        except (TypeError, ValueError):
            raise EconomyError(f"SFSL sample must be numbers (t, v), got ({t!r}, {v!r})") from None
        if not (np.isfinite(tf) and np.isfinite(v)):
            # a NaN time would pass the range check and poison the Gram matrix (or fall into bin 0)
            raise EconomyError(f"SFSL sample must be finite, got t={t!r}, v={v!r}")
        phi = self.basis.functions(self.basis._check_t(np.array([tf])))[0]
        self.n += 1
        self.S_v += v
        self.S_vv += v * v
        self.b += phi * v
        self.b2 += phi * (v * v)
        self.G += np.outer(phi, phi)
        return self

    def update_many(self, ts, vs) -> "SFSL":
        """Add arrays of samples at once (vectorised; same sums as repeated :meth:`update`)."""
        try:
            ts = np.asarray(ts, dtype=float).ravel()
            vs = np.asarray(vs, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise EconomyError(f"SFSL.update_many: times and values must be numeric arrays ({exc})") from None
        if ts.shape != vs.shape:
            raise EconomyError(f"SFSL.update_many: {ts.size} times but {vs.size} values")
        if ts.size == 0:
            return self
        bad = ~np.isfinite(vs) | ~np.isfinite(ts)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EconomyError(f"SFSL sample {i} is not finite (t={ts[i]!r}, v={vs[i]!r})")
        Phi = self.basis.functions(self.basis._check_t(ts))
        self.n += ts.size
        self.S_v += float(vs.sum())
        self.S_vv += float(vs @ vs)
        self.b += Phi.T @ vs
        self.b2 += Phi.T @ (vs * vs)
        self.G += Phi.T @ Phi
        return self

    def merge(self, other: "SFSL") -> "SFSL":
        """New state equal to the sums of both (associative and commutative)."""
        if not isinstance(other, SFSL):
            raise EconomyError(f"can only merge an SFSL state with another SFSL state, got {type(other).__name__}")
        if (other.basis.name, other.basis.K, other.basis.T) != (self.basis.name, self.basis.K, self.basis.T):
            raise EconomyError(f"cannot merge SFSL states on different bases: {self.basis!r} vs {other.basis!r}")
        if other.estimator != self.estimator:
            raise EconomyError(f"cannot merge SFSL states with different estimators: "
                               f"{self.estimator!r} vs {other.estimator!r}")
        out = SFSL(self.basis, estimator=self.estimator)
        out.n = self.n + other.n
        out.S_v = self.S_v + other.S_v
        out.S_vv = self.S_vv + other.S_vv
        out.b = self.b + other.b
        out.b2 = self.b2 + other.b2
        out.G = self.G + other.G
        return out

    __add__ = merge

    # -------------------------------------------------------------- estimates
    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        if self.n == 0:
            raise EconomyError("SFSL has no samples yet")
        if self.estimator == "projection":
            return (self.basis.T / self.n) * rhs
        lam, tol = self.gram_margin()
        if lam > tol:
            try:
                c = np.linalg.cholesky(self.G)
                y = np.linalg.solve(c, rhs)
                return np.linalg.solve(c.T, y)
            except np.linalg.LinAlgError:
                pass
        raise EconomyError(
            f"SFSL least-squares Gram matrix is singular to working precision (smallest eigenvalue of "
            f"the unit-diagonal Gram matrix {lam:.3g} <= {tol:.3g}): {self.n} samples do not determine "
            f"the K={self.basis.K} coefficients (need samples at >= K distinct times / in every bin); "
            "use a smaller K or estimator='projection'")

    def gram_margin(self) -> tuple[float, float]:
        """(λ_min of the unit-diagonal Gram matrix H, the bound 2·K·(n + K)·eps below which the
        least-squares coefficients are undetermined; see the module docstring). λ_min is 0
        when a diagonal entry of G is 0 (a basis function vanishes at every sample time)."""
        K = self.basis.K
        tol = 2.0 * K * (self.n + K) * np.finfo(float).eps
        d = np.diag(self.G)
        if not np.all(d > 0):  # also catches NaN sums
            return 0.0, tol
        s = 1.0 / np.sqrt(d)
        H = self.G * s[:, None] * s[None, :]
        return float(np.linalg.eigvalsh(H)[0]), tol

    def coefficients(self) -> np.ndarray:
        """Coefficients ĉ of E[v | t] in the basis (estimator as documented in the module)."""
        return self._solve(self.b)

    def evaluate(self, t) -> np.ndarray:
        return self.basis.evaluate(self.coefficients(), t)

    def second_moments(self) -> dict:
        """Running second moments: coefficients of E[v²|t], residual variance, coefficient covariance,
        and the raw totals (n, mean, variance of v)."""
        c = self.coefficients()
        c2 = self._solve(self.b2)
        K = self.basis.K
        mean = self.S_v / self.n
        out = {"n": self.n, "mean": mean,
               "variance": max(self.S_vv / self.n - mean * mean, 0.0),
               "m2_coefficients": c2}
        if self.estimator == "lsq" and self.n > K:
            rss = max(self.S_vv - float(c @ self.b), 0.0)
            sigma2 = rss / (self.n - K)
            out["residual_variance"] = sigma2
            out["coefficient_cov"] = sigma2 * np.linalg.inv(self.G)
        return out

    # --------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict:
        return {"basis": self.basis.name, "K": self.basis.K, "T": self.basis.T, "estimator": self.estimator,
                "n": self.n, "S_v": self.S_v, "S_vv": self.S_vv, "b": self.b.tolist(),
                "b2": self.b2.tolist(), "G": self.G.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "SFSL":
        try:
            out = cls(make_basis(d["basis"], d["K"], d["T"]), estimator=d.get("estimator", "lsq"))
            out.n = int(d["n"])
            out.S_v, out.S_vv = float(d["S_v"]), float(d["S_vv"])
            out.b = np.asarray(d["b"], dtype=float)
            out.b2 = np.asarray(d["b2"], dtype=float)
            out.G = np.asarray(d["G"], dtype=float)
        except KeyError as exc:
            raise EconomyError(f"SFSL state dict misses key {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise EconomyError(f"not an SFSL state dict ({type(exc).__name__}: {exc})") from None
        K = out.basis.K
        if out.b.shape != (K,) or out.b2.shape != (K,) or out.G.shape != (K, K):
            raise EconomyError(f"SFSL state dict has arrays of the wrong shape for K={K}")
        return out

    def __repr__(self) -> str:
        return f"SFSL({self.basis!r}, estimator={self.estimator!r}, n={self.n})"
