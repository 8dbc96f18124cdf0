"""Packaging: bundled model files, the api facade and the default CLI job."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import dsge_agents as da
from dsge_agents.api import bundled_model_path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "dsge_agents" / "models").glob("*.yaml")))
def test_bundled_models_identical_to_repo_copies(name):
    bundled = (REPO / "dsge_agents" / "models" / name).read_bytes()
    assert bundled == (REPO / "models" / name).read_bytes(), f"models/{name} and its package copy differ"


def test_bundled_default_is_the_orchestrated_economy():
    assert bundled_model_path("orchestrated_default.yaml").is_file()
    m = da.default_model()
    for var in ("demand", "latency", "cost", "quality", "net_value", "slo_rate"):
        assert var in m.variables
    assert "eps_slo" in m.shocks and "eps_demand" in m.shocks


def test_load_model_by_bundled_name_and_overrides():
    m = da.load_model("nk3", phi_pi=2.0)
    assert m.parameters["phi_pi"] == 2.0
    assert da.load_model("nk3").parameters["phi_pi"] == 1.5


def test_load_model_missing_file_is_clear():
    with pytest.raises(da.errors.DSGEError, match="not found"):
        da.load_model("no/such/model.yaml")


def test_cli_irf_nk3_from_another_folder(tmp_path):
    """The CLI works from any folder; its CSV equals the Solution's IRFs."""
    csv = tmp_path / "irf.csv"
    png = tmp_path / "irf.png"
    r = subprocess.run([sys.executable, "-m", "dsge_agents.cli.main", "irf", "nk3", "--periods", "12",
                        "--csv", str(csv), "--plot", str(png)], cwd=tmp_path, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(csv)
    assert list(df.columns) == ["shock", "variable", "period", "value"]
    assert png.stat().st_size > 1000
    ref = da.load_model("nk3").solve().irf(periods=12)
    merged = df.merge(ref, on=["shock", "variable", "period"], suffixes=("", "_ref"))
    assert len(merged) == len(ref) == len(df)
    assert (merged.value - merged.value_ref).abs().max() < 1e-12
    # nk3: x responds negatively to a monetary tightening on impact (independent sign check)
    x = df[(df.shock == "e_i") & (df.variable == "x") & (df.period == 1)].value.item()
    assert x < 0


def test_cli_bad_model_one_line_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvariables: [x]\nshocks: {e: 1}\nparameters: {a: 0.5}\n"
                   "equations:\n  - x = a*x(-1) + e + __import__('os')\n")
    r = subprocess.run([sys.executable, "-m", "dsge_agents.cli.main", "solve", str(bad)],
                       cwd=tmp_path, capture_output=True, text=True, env=ENV)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "line 6" in r.stderr and len(r.stderr.strip().splitlines()) == 1
