"""dsge_agents: orchestrated LLM agent systems as a DSGE economy.

Top-level names are imported lazily so that ``import dsge_agents`` (and the
command line) stays fast::

    import dsge_agents as da
    m = da.load_model("models/nk3.yaml")     # or a Dynare .mod, or da.default_model()
    sol = m.solve()
    irf = sol.irf(periods=40)
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_model": ("dsge_agents.api", "load_model"),
    "default_model": ("dsge_agents.api", "default_model"),
    "Model": ("dsge_agents.api", "Model"),
    "estimate": ("dsge_agents.estimation", "estimate"),
    "whatif": ("dsge_agents.policy", "whatif"),
    "transition": ("dsge_agents.policy", "transition"),
    "sweep": ("dsge_agents.policy", "sweep"),
    "economy": ("dsge_agents.economy", None),
    "traces": ("dsge_agents.traces", None),
    "errors": ("dsge_agents.errors", None),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    try:
        mod_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dsge_agents' has no attribute {name!r}") from None
    mod = importlib.import_module(mod_name)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
