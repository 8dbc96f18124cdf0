"""Executes notebooks/03_slo_policy_whatif.ipynb (nbclient) so it cannot rot.

The notebook asserts its own checks (determinacy boundary at -1/eps_LR, the optimal rule beats the
baseline, replay with the estimated rule reproduces the observed series); a failing cell fails this test.
"""


def test_notebook_03_executes(run_notebook):
    text = run_notebook("03_slo_policy_whatif.ipynb", timeout=600)
    assert "replay with the estimated rule: max |difference|" in text
    assert "boundary of the current rule" in text
