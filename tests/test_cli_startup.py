"""Start-up path of ``dsge-agents irf`` (issue 2): what a warm run imports, and that its one-shot solve
(the model's NumPy code path, no Numba) gives the library's answer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

PROBE = r"""
import json, sys
from dsge_agents.cli.main import main
rc = main(["irf"])
heavy = ["numba", "pandas", "sympy", "matplotlib"]
print("PROBE" + json.dumps({"rc": rc, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_irf_default_run_skips_heavy_imports(tmp_path):
    """The default ``irf`` run (figure + table) needs none of Numba, pandas, SymPy or matplotlib (the PNG
    is drawn with Pillow): each of them costs a fresh process 0.2-0.5 s of start-up."""
    for _ in range(2):        # the first run may fill the caches; the second is the warm path
        r = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, env=ENV)
        assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.split("PROBE", 1)[1])
    assert out["rc"] == 0
    assert out["loaded"] == [], out
    png = tmp_path / "irf_orchestrated_default.png"
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20000


@pytest.mark.parametrize("name", ["nk3", "orchestrated_default"])
def test_one_shot_solve_equals_library_solve(name):
    from dsge_agents.api import load_model
    from dsge_agents.cli._common import one_shot
    from dsge_agents.linear import solve
    m = load_model(name)
    ref = solve(m, method="qz")
    fast = solve(one_shot(m), method="qz")
    assert type(one_shot(m)).__mro__[1] is type(m) and one_shot(m).name == m.name
    assert fast.model.compiled.large and not m.compiled.large
    n1, a1 = ref.irf_array(40)
    n2, a2 = fast.irf_array(40)
    assert n1 == n2
    # same IRFs up to rounding amplified by the model's conditioning (Jacobians agree to ~1 ulp)
    scale = np.abs(a1).max(axis=(0, 1))
    scale[scale == 0] = 1.0
    # (1-ulp random perturbations of this economy's Jacobian move its IRFs by ~1e-8 of their scale; the Dynare
    # comparison of tests/test_economy_builder_irf.py uses 1e-6)
    assert np.max(np.abs(a1 - a2) / scale) < 1e-6
    np.testing.assert_allclose(fast.steady_state.to_numpy(), ref.steady_state.to_numpy(), rtol=1e-12)
    assert fast.state_variables == ref.state_variables


def test_irf_plot_formats(models_dir, tmp_path, capsys):
    """--plot follows the suffix: PNG from the Pillow writer, PDF / SVG through matplotlib."""
    from dsge_agents.cli.main import main
    nk3 = str(models_dir / "nk3.yaml")
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        out = tmp_path / f"f{suffix}"
        assert main(["irf", nk3, "--periods", "8", "--plot", str(out)]) == 0
        assert out.read_bytes().startswith(magic), suffix
        assert str(out.resolve()) in capsys.readouterr().out


def test_cli_economy_cache(tmp_path, monkeypatch):
    """The CLI reads an orchestrated-economy YAML back from the model cache: the same model as a fresh
    build, a new entry when the file changes, nothing cached for other model files."""
    from dsge_agents import api
    from dsge_agents.cli import _common
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(tmp_path / "cache"))
    src = api.bundled_model_path(api.DEFAULT_MODEL).read_text()
    f = tmp_path / "econ.yaml"
    f.write_text(src)
    fresh = api.load_model(f)
    m1 = _common.load_model(str(f))                      # builds and stores
    entries = sorted((tmp_path / "cache").glob("model_*.pkl"))
    assert entries
    m2 = _common.load_model(str(f))                      # read back
    assert sorted((tmp_path / "cache").glob("model_*.pkl")) == entries
    for m in (m1, m2):
        assert isinstance(m, api.Model)
        assert m.variables == fresh.variables and m.shocks == fresh.shocks
        assert m.parameters == fresh.parameters
        np.testing.assert_allclose(m.solve().irf_array(5)[1], fresh.solve().irf_array(5)[1], rtol=1e-12, atol=1e-15)
    # an edited file is a new key: the change shows
    assert "std: 0.165" in src
    f.write_text(src.replace("std: 0.165", "std: 0.2", 1))
    m3 = _common.load_model(str(f))
    assert m3.parameters["sd_demand"] == pytest.approx(0.2) != m1.parameters["sd_demand"]
    # a plain model file is not an economy: loaded by the api as before
    nk3 = api.bundled_model_path("nk3.yaml")
    assert _common._economy_cached(nk3) is None
    assert _common.load_model(str(nk3)).name == "nk3"


def test_python_dash_m_runs_the_command(tmp_path):
    """``python -m dsge_agents`` is the ``dsge-agents`` command (for a venv whose scripts are not on PATH):
    same exit codes, same one-line errors."""
    ok = subprocess.run([sys.executable, "-m", "dsge_agents", "--help"], cwd=tmp_path, capture_output=True,
                        text=True, env=ENV)
    assert ok.returncode == 0 and "irf" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "dsge_agents", "ingest", "nope.csv", "-o", "o.csv"],
                         cwd=tmp_path, capture_output=True, text=True, env=ENV)
    assert bad.returncode == 1 and "nope.csv: no such trace file" in bad.stderr
    assert not (tmp_path / "o.csv").exists()
