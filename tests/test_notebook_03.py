"""Executes notebooks/03_slo_policy_whatif.ipynb (nbclient) so it cannot rot.

The notebook asserts its own checks (determinacy boundary at -1/eps_LR, the optimal rule beats the
baseline, replay with the estimated rule reproduces the observed series); a failing cell fails this test.
"""
from __future__ import annotations

import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_notebook_03_executes(repo, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    path = repo / "notebooks" / "03_slo_policy_whatif.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(repo / "notebooks")}})
    client.execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outs)
    text = "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
    assert "replay with the estimated rule: max |difference|" in text
    assert "boundary of the current rule" in text
