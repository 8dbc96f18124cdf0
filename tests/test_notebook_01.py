"""Executes notebooks/01_slo_impulse_responses.ipynb (nbclient) so it cannot rot.

The notebook asserts its own theorem checks and IRF signs; a failing cell fails this test.
"""


def test_notebook_01_executes(run_notebook):
    text = run_notebook("01_slo_impulse_responses.ipynb", timeout=300)
    assert "mean latency 30.0 s = W*" in text
