"""User-facing facade: ``load_model`` / ``default_model`` and a :class:`Model` with methods.

The model layer's :class:`dsge_agents.model.Model` is a pure specification; it
knows nothing about solutions, filters or policy (lower layers never import
higher ones).  This module sits above every layer and adds the convenience
methods of DESIGN §2 (``m.solve()``, ``m.loglik(...)``, ...) by delegation.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from . import model as _model
from .errors import DSGEError

__all__ = ["Model", "load_model", "default_model", "bundled_model_path", "bundled_model_names", "DEFAULT_MODEL"]

#: file name of the bundled default model (package data in ``dsge_agents/models``)
DEFAULT_MODEL = "orchestrated_default.yaml"
#: used while the default economy is not available
FALLBACK_MODEL = "nk3.yaml"


class Model(_model.Model):
    """A loaded model with the solution / estimation / policy methods attached."""

    @classmethod
    def wrap(cls, spec: _model.Model) -> "Model":
        if isinstance(spec, cls):
            return spec
        obj = cls.__new__(cls)
        obj.__dict__.update(spec.__dict__)
        return obj

    # -- first-order solution (dsge_agents.linear) ----------------------------
    def solve(self, params: dict | None = None, **kwargs):
        """First-order solution (DESIGN §4); see :func:`dsge_agents.linear.solve`."""
        from .linear import solve
        return solve(self, params=params, **kwargs)

    def irf(self, periods: int = 40, shocks=None, params: dict | None = None):
        """Impulse responses to one-standard-deviation shocks (tidy DataFrame)."""
        return self.solve(params).irf(periods=periods, shocks=shocks)

    # -- likelihood / estimation -------------------------------------------------
    def loglik(self, data=None, params: dict | None = None, **options):
        """Kalman-filter log-likelihood, Dynare-consistent (DESIGN §6)."""
        from .estimation import loglik
        return loglik(self, data=data, params=params, **options)


def _is_economy_yaml(path: Path) -> bool:
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the model reader reports the problem with line numbers
    return isinstance(doc, dict) and doc.get("kind") == "orchestrated_economy"


def _read_yaml(path: Path) -> dict:
    import yaml
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def bundled_model_path(name: str) -> Path:
    """Path of a model file shipped inside the package (``dsge_agents/models``)."""
    ref = resources.files("dsge_agents.models").joinpath(name)
    return Path(str(ref))


def _economy_dict_overrides(source: dict, overrides: dict) -> tuple[dict, dict]:
    """Split load_model overrides of an economy dict: SLO fields into a copy of its ``slo:`` block, the
    steady-state-neutral rest kept as parameter overrides; anything else moves the derived steady state."""
    import copy

    from .economy.builder import SS_NEUTRAL_PARAMETERS
    from .errors import EconomyError
    slo_fields = ("slo_rho", "slo_phi_latency", "slo_phi_cost", "slo_target_latency")
    src = copy.deepcopy(source)
    slo = dict(src.get("slo") or {})
    rest = {}
    for k, v in overrides.items():
        if k in slo_fields:
            slo[k] = v
        elif k in SS_NEUTRAL_PARAMETERS or k.startswith(("sd_", "rho_cap_", "rho_cost_")):
            rest[k] = v
        else:
            raise EconomyError(f"parameter {k!r} moves the steady state of the orchestrated economy; change it "
                               "in the economy configuration (the dict) instead of overriding the parameter")
    src["slo"] = slo
    return src, rest


def bundled_model_names() -> list[str]:
    """Names of the bundled models (``dsge_agents/models/*.yaml|.mod`` without the suffix)."""
    root = Path(str(resources.files("dsge_agents.models")))
    return sorted(p.stem for p in root.iterdir() if p.suffix in (".yaml", ".mod") and p.is_file())


def _not_found_message(source: str) -> str:
    """One line for a MODEL that is neither a file nor a bundled name: what was looked for, the
    bundled names and, for a typo, the closest file or bundled name."""
    import difflib
    names = bundled_model_names()
    msg = f"model file not found: {source} (no such file; bundled models: {', '.join(names)})"
    p = Path(source)
    try:   # files beside the one named, for a typo in a path
        near = [q.name for q in (p.parent if str(p.parent) else Path(".")).iterdir() if q.is_file()
                and q.suffix.lower() in (".yaml", ".yml", ".mod")]
    except OSError:
        near = []
    close = difflib.get_close_matches(p.name, near, n=1, cutoff=0.8)
    if close:
        return msg + f"; did you mean {p.with_name(close[0])}?"
    close = difflib.get_close_matches(p.stem if p.suffix else p.name, names, n=1, cutoff=0.6)
    if close:
        return msg + f"; did you mean {close[0]}?"
    return msg


def load_model(source: str | Path | dict, **overrides: Any) -> Model:
    """Load a model file (YAML, Dynare ``.mod``, or an orchestrated-economy YAML).

    ``source`` may also be the name of a bundled model (``"nk3"``,
    ``"orchestrated_default"``) or a dict in the YAML schema of DESIGN §3.
    Keyword arguments override parameter values.
    For an orchestrated economy an override of an SLO field (``slo_target_latency``, ...) rebuilds the
    model (its steady state is derived from W*); other steady-state-moving parameters are an error.
    """
    economy = False
    if isinstance(source, dict):
        if source.get("kind") == "orchestrated_economy":
            from .economy import builder
            if overrides:       # SLO fields go into the configuration (P̄, C̄ are derived from it)
                source, overrides = _economy_dict_overrides(source, overrides)
            spec = builder.build_model(source)
        else:
            spec = _model.from_dict(source)
    else:
        path = Path(source)
        if not path.exists():
            for cand in (f"{source}", f"{source}.yaml", f"{source}.mod"):
                bp = bundled_model_path(cand)
                if bp.is_file():
                    path = bp
                    break
            else:
                raise DSGEError(_not_found_message(str(source)))
        if _is_economy_yaml(path):
            economy = True
            from .economy import builder, config
            loader = getattr(config, "load_config", None)
            cfg = loader(path) if loader else _read_yaml(path)
            spec = builder.build_model(cfg)
        else:
            spec = _model.load(path)
    m = Model.wrap(spec)
    if overrides and economy:
        # an economy's steady state is derived by the builder (P̄ solves W(P̄) = W*): a new SLO target
        # rebuilds the model, other steady-state-moving parameters are a named error (with_parameters
        # alone left a stale steady state that solve() rejected with a residual message)
        from .policy.rules import apply_changes
        m = Model.wrap(apply_changes(m, overrides))
    elif overrides:
        m = Model.wrap(m.with_parameters(**overrides))
    return m


def default_model() -> Model:
    """The bundled default model: the orchestrated agent economy (falls back to nk3)."""
    path = bundled_model_path(DEFAULT_MODEL)
    if not path.is_file():
        path = bundled_model_path(FALLBACK_MODEL)
    return load_model(path)
