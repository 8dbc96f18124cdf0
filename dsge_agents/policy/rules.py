"""Policy-rule objects and the model transformation that swaps a rule.

A model may declare its policy rule (YAML ``policy_rule:``; the model layer
stores ``model.policy_rule = {"equation": i, "parameters": [...], "form": ...}``).
For nk3 this is the Taylor rule ``i = rho_i i(-1) + (1-rho_i)(phi_pi pi + phi_x x)``;
for the orchestrated economy it is the SLO rule for the latency price
(DESIGN §5.2)::

    log P_t = rho_P log P_{t-1} + (1-rho_P)[log P̄ + phi_W (log W_t - log W*) + phi_C (log C_t - log C̄)] + z^P_t

with the *expected* variant (``W_{t+1}`` instead of ``W_t``) and the *integral*
variant ``log P_t = log P_{t-1} + phi_W (log W_t - log W*) + ...`` (the
tâtonnement of DESIGN §5.1).

A rule object only records **coefficient values** and, optionally, a **form**.
:func:`apply_rule` turns it into a new model: coefficient changes go through
``model.with_parameters`` (cheap); a change of form needs the rule equation
itself to change, which for the orchestrated economy means rebuilding the model
from its configuration with the new form (``dsge_agents.economy.builder``).
Nothing is written to disk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import PolicyError

__all__ = [
    "PolicyRule", "TaylorRule", "SLORule", "SLO_FORMS", "FORM_KEY",
    "rule_of", "apply_rule", "apply_changes", "check_parameters",
]

#: forms of the SLO rule (DESIGN §5.2)
SLO_FORMS = ("current", "expected", "integral")
#: key that selects the rule form in a what-if change dict
FORM_KEY = "form"


@dataclass
class PolicyRule:
    """A policy rule: coefficient values by parameter name, and an optional form.

    ``coefficients`` maps model parameter names to values; ``None`` values mean
    "keep the model's value". ``form`` (``None`` = keep) selects a rule variant
    for models that know several (the orchestrated economy: ``current``,
    ``expected``, ``integral``).
    """

    coefficients: dict[str, float | None] = field(default_factory=dict)
    form: str | None = None
    name: str = "rule"

    # ------------------------------------------------------------------
    def changes(self) -> dict[str, Any]:
        """The parameter changes this rule asks for (``None`` entries dropped)."""
        return {k: float(v) for k, v in self.coefficients.items() if v is not None}

    def replace(self, **kw) -> "PolicyRule":
        """Copy with some coefficients (by parameter name) or ``form``/``name`` changed."""
        coeffs = dict(self.coefficients)
        form, name = kw.pop("form", self.form), kw.pop("name", self.name)
        coeffs.update(kw)
        return PolicyRule(coeffs, form=form, name=name)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.changes())
        if self.form is not None:
            d[FORM_KEY] = self.form
        return d

    @classmethod
    def from_model(cls, model) -> "PolicyRule":
        """The rule a model declares, at the model's current coefficient values."""
        spec = _rule_spec(model)
        names = list(spec.get("parameters") or [])
        return cls({n: float(model.parameters[n]) for n in names if n in model.parameters},
                   form=spec.get("form"), name=str(spec.get("name", "rule")))

    def __str__(self) -> str:
        parts = [f"{k}={v:g}" for k, v in self.changes().items()]
        if self.form:
            parts.append(f"form={self.form}")
        return f"{self.name}(" + ", ".join(parts) + ")"


class TaylorRule(PolicyRule):
    """Taylor rule of nk3: ``i = rho_i i(-1) + (1-rho_i)(phi_pi pi + phi_x x) + e_i``.

    Keyword names are the coefficient names of ``models/nk3.yaml``; other
    parameters may be passed through ``**others``.
    """

    def __init__(self, phi_pi: float | None = None, phi_x: float | None = None,
                 rho_i: float | None = None, name: str = "taylor", **others: float):
        super().__init__({"phi_pi": phi_pi, "phi_x": phi_x, "rho_i": rho_i, **others},
                         form=None, name=name)


class SLORule(PolicyRule):
    """SLO rule for the latency price ``slo_rate`` (DESIGN §5.2).

    Parameters map to the orchestrated economy's parameters: ``rho`` ->
    ``slo_rho`` (smoothing), ``phi_latency`` -> ``slo_phi_latency`` (response to
    the latency gap), ``phi_cost`` -> ``slo_phi_cost`` (response to the cost
    gap), ``target_latency`` -> ``slo_target_latency`` (W*, mean latency).
    ``form`` is ``current`` (respond to W_t), ``expected`` (to E_t W_{t+1}) or
    ``integral`` (the tâtonnement: log P_t = log P_{t-1} + phi_W gap_t + ...).
    """

    PARAM = {"rho": "slo_rho", "phi_latency": "slo_phi_latency",
             "phi_cost": "slo_phi_cost", "target_latency": "slo_target_latency"}

    def __init__(self, rho: float | None = None, phi_latency: float | None = None,
                 phi_cost: float | None = None, target_latency: float | None = None,
                 form: str | None = None, name: str = "slo", **others: float):
        if form is not None and form not in SLO_FORMS:
            raise PolicyError(f"unknown SLO rule form {form!r}; expected one of {', '.join(SLO_FORMS)}")
        vals = {"rho": rho, "phi_latency": phi_latency, "phi_cost": phi_cost,
                "target_latency": target_latency}
        coeffs = {self.PARAM[k]: v for k, v in vals.items()}
        coeffs.update(others)
        super().__init__(coeffs, form=form, name=name)


# ---------------------------------------------------------------------------
def _rule_spec(model) -> dict:
    spec = getattr(model, "policy_rule", None)
    if not spec:
        raise PolicyError(f"model {getattr(model, 'name', '?')!r} declares no policy rule "
                          "(YAML key `policy_rule:`)")
    return dict(spec)


def rule_of(model) -> PolicyRule:
    """The model's declared rule (see :meth:`PolicyRule.from_model`)."""
    return PolicyRule.from_model(model)


def check_parameters(model, names, what: str = "parameter") -> None:
    """Raise :class:`PolicyError` naming every name that is not a model parameter."""
    params = getattr(model, "parameters", {})
    bad = [n for n in names if n not in params]
    if bad:
        raise PolicyError(f"unknown {what}{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                          f"in model {getattr(model, 'name', '?')!r}; known parameters: "
                          f"{', '.join(params)}")


def current_form(model) -> str | None:
    spec = getattr(model, "policy_rule", None) or {}
    return spec.get("form")


def _rebuild_with_form(model, form: str):
    """Rebuild an orchestrated-economy model with another SLO-rule form.

    The rule equation changes, so the model is rebuilt from the configuration
    the builder recorded on it (``dsge_agents.economy.builder``).
    """
    if form not in SLO_FORMS:
        raise PolicyError(f"unknown rule form {form!r}; expected one of {', '.join(SLO_FORMS)}")
    try:
        from ..economy import builder
    except ImportError as exc:  # pragma: no cover - layer missing
        raise PolicyError("changing the rule form needs dsge_agents.economy.builder") from exc
    rebuild = getattr(builder, "with_rule_form", None)
    if rebuild is not None:
        new = rebuild(model, form)
    else:
        cfg = getattr(model, "economy_config", None) or getattr(model, "config", None)
        if cfg is None:
            raise PolicyError(f"model {getattr(model, 'name', '?')!r} was not built from an "
                              "orchestrated-economy configuration; its rule form cannot change")
        cfg = _config_with_form(cfg, form)
        new = builder.build_model(cfg)
        new = new.with_parameters(**{k: v for k, v in model.parameters.items() if k in new.parameters})
    return _rewrap(model, new)


def _config_with_form(cfg, form):
    import copy
    cfg = copy.deepcopy(cfg)
    if isinstance(cfg, dict):
        slo = cfg.setdefault("slo", {})
        if isinstance(slo, dict) and "rule" in slo and isinstance(slo["rule"], dict):
            slo["rule"]["form"] = form
        elif isinstance(slo, dict):
            slo["form"] = form
        return cfg
    if hasattr(cfg, "slo") and hasattr(cfg.slo, "form"):
        cfg.slo.form = form
        return cfg
    raise PolicyError("cannot set the rule form on this economy configuration")


def _rewrap(old, new):
    """Keep the api-layer class of ``old`` (e.g. ``dsge_agents.api.Model``) on ``new``."""
    cls = type(old)
    if isinstance(new, cls) or not hasattr(cls, "wrap"):
        return new
    return cls.wrap(new)


def apply_changes(model, changes: Mapping[str, Any] | PolicyRule | None):
    """A copy of ``model`` with parameter values (and optionally the rule form) changed.

    ``changes`` maps parameter names to values; the key ``"form"`` selects a rule
    form. Unknown parameter names raise :class:`PolicyError`.
    """
    if changes is None:
        return model
    if isinstance(changes, PolicyRule):
        changes = changes.as_dict()
    changes = dict(changes)
    form = changes.pop(FORM_KEY, None)
    check_parameters(model, list(changes))
    out = model
    if form is not None and form != current_form(model):
        out = _rebuild_with_form(out, str(form))
    if changes:
        out = _rewrap(model, out.with_parameters(**{k: float(v) for k, v in changes.items()}))
    return out


def apply_rule(model, rule: PolicyRule | Mapping[str, Any]):
    """Model transformation: the same model with ``rule``'s coefficients / form.

    Every coefficient must be a parameter of the model (otherwise
    :class:`PolicyError`). Coefficients are swapped with ``with_parameters``;
    a form change rebuilds an orchestrated-economy model from its configuration.
    """
    return apply_changes(model, rule)
