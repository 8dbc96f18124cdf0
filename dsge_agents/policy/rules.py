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

import math
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


def check_values(changes: Mapping[str, Any]) -> None:
    """Raise :class:`PolicyError` for a parameter value that is not a finite real number
    (the ``form`` entry is a name and is checked where it is used)."""
    for k, v in changes.items():
        if k == FORM_KEY:
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise PolicyError(f"value of {k!r} is not a number: {v!r}") from None
        if not math.isfinite(x):
            raise PolicyError(f"value of {k!r} is not finite: {v!r}")


def current_form(model) -> str | None:
    spec = getattr(model, "policy_rule", None) or {}
    return spec.get("form")


#: parameters of the orchestrated economy that live in the ``slo:`` block of its configuration
SLO_CONFIG_FIELDS = ("slo_rho", "slo_phi_latency", "slo_phi_cost", "slo_target_latency")


def economy_config(model):
    """The orchestrated-economy configuration a model was built from, or ``None``.

    The builder (``dsge_agents.economy.builder``) records the configuration file as
    ``model.source`` and marks the rule with the derived intercept ``slo_rate_bar``.
    """
    spec = getattr(model, "policy_rule", None) or {}
    src = getattr(model, "source", None)
    if spec.get("intercept") != "slo_rate_bar" or not src:
        return None
    try:
        from ..economy.config import load_config
        return load_config(src)
    except Exception:  # noqa: BLE001 - not an economy file
        return None


def _ss_neutral(model) -> set:
    try:
        from ..economy.builder import SS_NEUTRAL_PARAMETERS
        base = set(SS_NEUTRAL_PARAMETERS)
    except ImportError:  # pragma: no cover
        base = {"slo_rho", "slo_phi_latency", "slo_phi_cost"}
    return base | {p for p in model.parameters if p.startswith(("sd_", "rho_cap_", "rho_cost_"))}


def needs_rebuild(model, changes: Mapping[str, Any]) -> bool:
    """True when ``changes`` cannot be applied by ``with_parameters`` alone.

    That is a change of rule form, or — for an orchestrated economy, whose
    steady state is computed by the builder (P̄ solves W(P̄) = W*, C̄ is
    steady-state cost) — a change of a parameter that moves the steady state,
    such as the SLO target ``slo_target_latency``.
    """
    if FORM_KEY in changes and changes[FORM_KEY] != current_form(model):
        return True
    if economy_config(model) is None:
        return False
    neutral = _ss_neutral(model)
    return any(k not in neutral for k in changes if k != FORM_KEY)


def check_changes(model, changes: Mapping[str, Any]) -> None:
    """Raise :class:`PolicyError` for changes that can never be applied to ``model``: unknown
    parameters, non-finite values, an unknown rule form, a form change of a model that was not
    built from an orchestrated-economy configuration, and steady-state-moving economy parameters
    other than the SLO target (the same checks :func:`apply_changes` makes, without rebuilding)."""
    changes = dict(changes)
    check_parameters(model, [k for k in changes if k != FORM_KEY])
    check_values(changes)
    form = changes.get(FORM_KEY)
    if form is not None and form != current_form(model):
        if str(form) not in SLO_FORMS:
            raise PolicyError(f"unknown rule form {form!r}; expected one of {', '.join(SLO_FORMS)}")
        if economy_config(model) is None:
            raise PolicyError(f"model {getattr(model, 'name', '?')!r} was not built from an orchestrated-economy "
                              "configuration; its rule form cannot change")
    if economy_config(model) is not None:
        neutral = _ss_neutral(model)
        bad = [k for k in changes if k != FORM_KEY and k not in neutral and k not in SLO_CONFIG_FIELDS]
        if bad:
            raise PolicyError(f"parameter(s) {', '.join(map(repr, bad))} move the steady state of the "
                              "orchestrated economy; change them in its configuration file and reload it")


def check_fast_parameters(model, names, what: str = "parameter") -> None:
    """Raise :class:`PolicyError` if a parameter cannot be varied by θ alone.

    Sweeps and optimisers evaluate the compiled model at many θ without
    rebuilding it; for an orchestrated economy the parameters that move the
    steady state (e.g. ``slo_target_latency``) need a rebuild per value, so they
    are refused there (use :func:`transition` or :func:`whatif` for them).
    """
    if economy_config(model) is None:
        return
    neutral = _ss_neutral(model)
    bad = [n for n in names if n not in neutral]
    if bad:
        raise PolicyError(f"{what} {', '.join(map(repr, bad))} moves the steady state of the orchestrated "
                          "economy (it is rebuilt per value); grids and optimal rules take steady-state-"
                          f"neutral parameters: {', '.join(sorted(p for p in neutral if p in model.parameters))}")


def _rebuild_economy(model, changes: Mapping[str, Any]):
    """Rebuild an orchestrated-economy model with SLO-rule changes (form, target, coefficients).

    The rule equation (form) and the derived steady state (P̄, C̄ and every
    variable, for a new target) change, so the model is rebuilt from its
    configuration by :func:`dsge_agents.economy.builder.build_model`;
    steady-state-neutral parameters the user had changed are carried over.
    """
    import dataclasses

    cfg = economy_config(model)
    if cfg is None:
        raise PolicyError(f"model {getattr(model, 'name', '?')!r} was not built from an orchestrated-economy "
                          "configuration; its rule form cannot change")
    from ..economy import builder
    changes = dict(changes)
    form = changes.pop(FORM_KEY, None)
    if form is not None and form not in SLO_FORMS:
        raise PolicyError(f"unknown rule form {form!r}; expected one of {', '.join(SLO_FORMS)}")
    neutral = _ss_neutral(model)
    bad = [k for k in changes if k not in neutral and k not in SLO_CONFIG_FIELDS]
    if bad:
        raise PolicyError(f"parameter(s) {', '.join(map(repr, bad))} move the steady state of the orchestrated "
                          "economy; change them in its configuration file and reload it")
    slo_kw = {k: float(v) for k, v in changes.items() if k in SLO_CONFIG_FIELDS}
    # carry over the model's current rule coefficients (they may differ from the file)
    for k in SLO_CONFIG_FIELDS:
        if k not in slo_kw and k in model.parameters and k != "slo_target_latency":
            slo_kw[k] = float(model.parameters[k])
    if "slo_target_latency" not in slo_kw:
        slo_kw["slo_target_latency"] = float(model.parameters["slo_target_latency"])
    if form is None:
        form = current_form(model) or cfg.slo.form
    cfg = cfg.copy(slo=dataclasses.replace(cfg.slo, form=form, **slo_kw))
    new = builder.build_model(cfg)
    carry = {k: float(model.parameters[k]) for k in neutral
             if k in model.parameters and k in new.parameters and k not in SLO_CONFIG_FIELDS
             and float(model.parameters[k]) != float(new.parameters[k])}
    carry.update({k: float(v) for k, v in changes.items() if k not in SLO_CONFIG_FIELDS})
    if carry:
        new = new.with_parameters(**carry)
    return _rewrap(model, new)


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
    check_values(changes)
    if form is not None:
        changes[FORM_KEY] = str(form)
    if needs_rebuild(model, changes):
        return _rebuild_economy(model, changes)
    changes.pop(FORM_KEY, None)
    if not changes:
        return model
    return _rewrap(model, model.with_parameters(**{k: float(v) for k, v in changes.items()}))


def apply_rule(model, rule: PolicyRule | Mapping[str, Any]):
    """Model transformation: the same model with ``rule``'s coefficients / form.

    Every coefficient must be a parameter of the model (otherwise
    :class:`PolicyError`). Coefficients are swapped with ``with_parameters``;
    a form change rebuilds an orchestrated-economy model from its configuration.
    """
    return apply_changes(model, rule)
