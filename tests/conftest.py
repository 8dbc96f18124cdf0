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
