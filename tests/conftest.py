"""Shared fixtures: location of ../shared/data and of the repository."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not depend on luck); set
# HYPOTHESIS_PROFILE=explore to search new random examples locally. No example database is
# written into the checkout.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DSGE_AGENTS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return REPO / "models"


def _compare_dynare_irfs(sol, ref: dict, atol: float) -> int:
    """Every IRF of ``sol`` against Dynare's ``oo_.irfs`` stored in ``ref["irfs"]`` (keys
    ``<variable>_<shock>``, ``ref["irf_periods"]`` periods), absolutely to ``atol``; a response Dynare
    left out must be below its cut-off (it drops those whose absolute maximum is below 1e-10).
    Returns how many stored responses were compared."""
    import numpy as np
    names, arr = sol.irf_array(int(ref["irf_periods"]))
    vidx = {v: k for k, v in enumerate(sol.declared)}
    seen = 0
    for j, s in enumerate(names):
        for v in sol.declared:
            key = f"{v}_{s}"
            ours = arr[j, :, vidx[v]]
            if key in ref["irfs"]:
                np.testing.assert_allclose(ours, np.array(ref["irfs"][key], float), atol=atol, rtol=0,
                                           err_msg=key)
                seen += 1
            else:
                assert np.max(np.abs(ours)) < 1e-10, key
    assert seen == len(ref["irfs"])
    return seen


@pytest.fixture(scope="session")
def compare_dynare_irfs():
    """:func:`_compare_dynare_irfs` (a fixture, so test modules need not import conftest)."""
    return _compare_dynare_irfs


@pytest.fixture
def run_notebook(repo, monkeypatch):
    """Execute ``notebooks/<name>`` with nbclient; fail on an error output; return the printed text."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    # the kernel is a separate process: make the package importable without an install
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))

    def run(name: str, timeout: int) -> str:
        nb = nbformat.read(repo / "notebooks" / name, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(repo / "notebooks")}})
        client.execute()
        outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not any(o.get("output_type") == "error" for o in outs)
        return "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")

    return run
