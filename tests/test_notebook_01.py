"""Executes notebooks/01_slo_impulse_responses.ipynb (nbclient) so it cannot rot.

The notebook asserts its own theorem checks and IRF signs; a failing cell fails this test.
"""
from __future__ import annotations

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_notebook_01_executes(repo, monkeypatch):
    # the kernel is a separate process: make the package importable without an install
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    path = repo / "notebooks" / "01_slo_impulse_responses.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo / "notebooks")}})
    client.execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outs)
    text = "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
    assert "mean latency 30.0 s = W*" in text
