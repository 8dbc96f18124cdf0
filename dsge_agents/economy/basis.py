"""Finite-dimensional subspaces V_K of L²([0, T]) used by the functional economy (DESIGN §5.1).

Two orthonormal bases are provided:

* :class:`LegendreBasis` — shifted, normalised Legendre polynomials
  φ_k(t) = √((2k+1)/T) P_k(2t/T − 1), k = 0..K−1, with the K-point Gauss–Legendre
  rule on [0, T] (nodes t_q, weights w_q). The rule is exact for polynomials of
  degree ≤ 2K−1, so the Gram identity BᵀWB = I holds to rounding
  (B_qk = φ_k(t_q), W = diag(w_q)).
* :class:`PiecewiseConstantBasis` — indicator functions of K equal bins scaled
  to unit norm, φ_k = 1_{bin k}/√h with h = T/K, nodes at the bin midpoints and
  weights h (the midpoint rule). Again BᵀWB = I exactly.

Because B is square and BᵀWB = I, B⁻¹ = BᵀW and, for p, y ∈ V_K,
⟨p, y⟩ = Σ_k P_k Y_k = Σ_q w_q p(t_q) y(t_q): coefficients and nodal values are two
coordinate systems of the same space, and collocation at the nodes is the
discrete projection (interpolation at Gauss nodes for Legendre, midpoint values
for the bins).
"""
from __future__ import annotations

import numpy as np

from dsge_agents.errors import EconomyError

__all__ = ["Basis", "LegendreBasis", "PiecewiseConstantBasis", "make_basis"]


class Basis:
    """Orthonormal basis of V_K ⊂ L²([0, T]) with a matching K-node quadrature rule."""

    name = "basis"

    #: largest basis size: B is a dense K×K matrix (K = 8192 is 512 MiB) and every node an economy
    MAX_K = 8192

    def __init__(self, K: int, T: float = 1.0):
        try:
            ok = not isinstance(K, bool) and float(K).is_integer()
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise EconomyError(f"basis size K must be a positive integer, got {K!r}")
        K = int(K)
        if K < 1:
            raise EconomyError(f"basis size K must be a positive integer, got {K}")
        if K > self.MAX_K:
            raise EconomyError(
                f"basis size K = {K} is too large: the basis matrix B is dense K×K ({K * K * 8 / 2**30:.3g} GiB) "
                f"and the economy is solved at K nodes; use K ≤ {self.MAX_K} (Legendre converges "
                "spectrally, K ≤ 64 is usually plenty)")
        try:
            T = float(T)
        except (TypeError, ValueError):
            raise EconomyError(f"horizon T must be a number, got {T!r}") from None
        if not (np.isfinite(T) and T > 0):
            raise EconomyError(f"horizon T must be positive and finite, got {T}")
        self.K, self.T = K, float(T)
        self._nodes, self._weights = self._rule()
        self._B = self.functions(self._nodes)          # (K nodes, K functions)

    # -- to be provided by subclasses ------------------------------------------------
    def _rule(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def functions(self, t) -> np.ndarray:  # pragma: no cover - abstract
        """Matrix Φ with Φ[i, k] = φ_k(t_i) for an array of times t."""
        raise NotImplementedError

    # -- common API -----------------------------------------------------------------
    @property
    def nodes(self) -> np.ndarray:
        """Collocation nodes t_q (K,)."""
        return self._nodes

    @property
    def weights(self) -> np.ndarray:
        """Quadrature weights w_q (K,), Σ w_q = T."""
        return self._weights

    @property
    def B(self) -> np.ndarray:
        """B_qk = φ_k(t_q)."""
        return self._B

    def gram(self) -> np.ndarray:
        """BᵀWB (the identity to rounding)."""
        return self._B.T @ (self._weights[:, None] * self._B)

    def _check_t(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if t.size and (np.nanmin(t) < -1e-12 * self.T or np.nanmax(t) > self.T * (1 + 1e-12)):
            raise EconomyError(
                f"sample times must lie in [0, T] = [0, {self.T:g}]; got range "
                f"[{np.nanmin(t):g}, {np.nanmax(t):g}] (shift/scale the times or widen T)")
        return t

    def project(self, f) -> np.ndarray:
        """Coefficients of the discrete projection of f onto V_K.

        f is a callable of t (vectorised) or an array of nodal values (K,) / (K, m).
        Implements c = BᵀW f(t_q): the quadrature of ⟨f, φ_k⟩ with the basis' rule,
        exact when f ∈ V_K (then f is recovered by :meth:`evaluate`).
        """
        vals = f(self._nodes) if callable(f) else f
        vals = np.asarray(vals, dtype=float)
        if vals.shape[0] != self.K:
            raise EconomyError(f"nodal values must have leading dimension K={self.K}, got {vals.shape}")
        if vals.ndim == 1:
            return self._B.T @ (self._weights * vals)
        return self._B.T @ (self._weights[:, None] * vals)

    def to_nodes(self, coeffs) -> np.ndarray:
        """Nodal values B c (inverse of :meth:`project` on V_K)."""
        return self._B @ np.asarray(coeffs, dtype=float)

    def evaluate(self, coeffs, t) -> np.ndarray:
        """Σ_k c_k φ_k(t) at times t; coeffs (K,) or (K, m)."""
        Phi = self.functions(np.atleast_1d(self._check_t(t)))
        out = Phi @ np.asarray(coeffs, dtype=float)
        return out if np.ndim(t) else out[0]

    def inner(self, a, b) -> float:
        """⟨a, b⟩_{L²} of two coefficient vectors (= Σ_k a_k b_k by orthonormality)."""
        return float(np.dot(np.asarray(a, float).ravel(), np.asarray(b, float).ravel()))

    def grid(self, n: int = 201) -> np.ndarray:
        return np.linspace(0.0, self.T, int(n))

    def to_dict(self) -> dict:
        return {"basis": self.name, "K": self.K, "T": self.T}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K}, T={self.T:g})"


class LegendreBasis(Basis):
    """Orthonormal shifted Legendre polynomials with Gauss–Legendre nodes (Abramowitz–Stegun 22.2.10, 25.4.29)."""

    name = "legendre"

    def _rule(self):
        x, w = np.polynomial.legendre.leggauss(self.K)
        return (x + 1.0) * self.T / 2.0, w * self.T / 2.0

    def functions(self, t) -> np.ndarray:
        """Φ[i, k] = √((2k+1)/T) P_k(2t_i/T − 1) by the three-term recurrence
        (k+1)P_{k+1}(x) = (2k+1) x P_k(x) − k P_{k−1}(x)."""
        t = np.asarray(t, dtype=float).ravel()
        x = 2.0 * t / self.T - 1.0
        K = self.K
        P = np.empty((t.size, K))
        P[:, 0] = 1.0
        if K > 1:
            P[:, 1] = x
        for k in range(1, K - 1):
            P[:, k + 1] = ((2 * k + 1) * x * P[:, k] - k * P[:, k - 1]) / (k + 1)
        scale = np.sqrt((2.0 * np.arange(K) + 1.0) / self.T)
        return P * scale


class PiecewiseConstantBasis(Basis):
    """Normalised bin indicators φ_k = 1_{[kh,(k+1)h)}/√h, h = T/K, midpoint nodes and weights h."""

    name = "pwc"

    def _rule(self):
        h = self.T / self.K
        return (np.arange(self.K) + 0.5) * h, np.full(self.K, h)

    def bin_index(self, t) -> np.ndarray:
        h = self.T / self.K
        return np.clip((np.asarray(t, dtype=float) / h).astype(np.int64), 0, self.K - 1)

    def functions(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float).ravel()
        Phi = np.zeros((t.size, self.K))
        Phi[np.arange(t.size), self.bin_index(t)] = 1.0 / np.sqrt(self.T / self.K)
        return Phi


_BASES = {"legendre": LegendreBasis, "pwc": PiecewiseConstantBasis,
          "piecewise_constant": PiecewiseConstantBasis, "piecewise-constant": PiecewiseConstantBasis}


def make_basis(basis="legendre", K: int = 16, T: float = 1.0) -> Basis:
    """Basis by name ('legendre' or 'pwc'), or return a given :class:`Basis` unchanged."""
    if isinstance(basis, Basis):
        return basis
    try:
        cls = _BASES[str(basis).lower()]
    except KeyError:
        raise EconomyError(f"unknown basis {basis!r}; use 'legendre' or 'pwc'") from None
    return cls(K, T)
