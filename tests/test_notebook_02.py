"""Executes notebooks/02_estimate_from_traces.ipynb (nbclient) with a small draw count.

The notebook asserts that the injected outage is attributed to the agent's capacity shock and that
the decomposition adds up; a failing cell fails this test.
"""


def test_notebook_02_executes(run_notebook, shared_data):
    text = run_notebook("02_estimate_from_traces.ipynb", timeout=600)
    assert "largest shock in the outage window: eps_capacity_act_llama" in text
