"""The .mod writer estimates a parameter that is a shock's std as Dynare's ``stderr <shock>``.

Dynare 5.3's preprocessor rejects an ``estimated_params`` entry for a parameter that also
sets a shock's standard deviation in the ``shocks`` block (checked on the exported default
economy, see tests/data/dynare/README.md); the writer must name the shock instead.
"""
from __future__ import annotations

from dsge_agents.model import from_dict, load


def test_estimated_shock_std_parameter_is_written_as_stderr(tmp_path):
    m = from_dict({
        "name": "ar1",
        "variables": ["x"],
        "shocks": {"e": "sd_e"},
        "parameters": {"rho": 0.9, "sd_e": 0.1},
        "equations": ["x = rho*x(-1) + e"],
        "steady_state": {"x": 0},
        "estimation": {"priors": {"rho": {"prior": "beta", "mean": 0.5, "std": 0.2},
                                  "sd_e": {"prior": "inv_gamma", "mean": 0.1, "std": "inf"}}},
    })
    out = tmp_path / "ar1.mod"
    m.to_mod(out)
    text = out.read_text()
    block = text[text.index("estimated_params;"):]
    block = block[:block.index("end;")]
    assert "stderr e, inv_gamma_pdf" in block
    assert "sd_e," not in block
    assert "rho, beta_pdf" in block
    # reading the file back: the shock std is estimated as a stderr entry of shock e
    back = load(out)
    kinds = {(e["kind"], e["name"] if isinstance(e["name"], str) else tuple(e["name"]))
             for e in back.estimated_params}
    assert ("stderr", "e") in kinds and ("param", "rho") in kinds
