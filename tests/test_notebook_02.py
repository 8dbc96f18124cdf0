"""Executes notebooks/02_estimate_from_traces.ipynb (nbclient) with a small draw count.

The notebook asserts that the injected outage is attributed to the agent's capacity shock and that
the decomposition adds up; a failing cell fails this test.
"""
from __future__ import annotations

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_notebook_02_executes(repo, shared_data, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    path = repo / "notebooks" / "02_estimate_from_traces.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo / "notebooks")}})
    client.execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outs)
    text = "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
    assert "largest shock in the outage window: eps_capacity_act_llama" in text
