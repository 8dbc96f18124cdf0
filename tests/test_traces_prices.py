"""Price tables: which spans get a cost, what it is, and malformed tables as named errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.traces import readers as R
from dsge_agents.traces.readers import TraceFormatError
from dsge_agents.traces.schema import to_canonical

T0 = pd.Timestamp("2024-06-01T00:00:00Z")


def _spans(tmp_path, tokens):
    """A canonical CSV of chat spans on model m with (input, output, cached) token counts
    (None: not reported)."""
    rows = [
        dict(trace_id="t", span_id=f"s{i}", name="chat", operation="chat", model="m",
             start_ts=T0, end_ts=T0 + pd.Timedelta("1s"), input_tokens=i_, output_tokens=o_,
             cached_input_tokens=c_, status="ok")
        for i, (i_, o_, c_) in enumerate(tokens)
    ]
    p = tmp_path / "s.csv"
    to_canonical(pd.DataFrame(rows)).to_csv(p, index=False)
    return p


def test_cost_needs_both_counts_and_never_goes_negative(tmp_path):
    p = _spans(tmp_path, [
        (None, None, None),   # nothing known: cost unknown
        (1000, None, None),   # output unknown: cost unknown (not 0 output tokens)
        (None, 50, None),     # input unknown
        (1000, 50, None),     # no cache reads reported: all input at the input price
        (1000, 50, 400),      # 400 of the 1000 input tokens from cache
        (100, 10, 500),       # more cached than input: cache reads reported apart from input
        (0, 0, None),         # zero tokens are known counts: cost 0
    ])
    prices = {"m": (2.0, 8.0, 0.5)}  # USD per 1M input / output / cached input tokens
    got = R.read_spans(p, price_table=prices)["cost_usd"].to_numpy(float)
    expected = [
        np.nan, np.nan, np.nan,
        (1000 * 2.0 + 50 * 8.0) / 1e6,                 # 0.0024
        (600 * 2.0 + 400 * 0.5 + 50 * 8.0) / 1e6,       # 0.0018
        (100 * 2.0 + 500 * 0.5 + 10 * 8.0) / 1e6,       # 0.00053
        0.0,
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[5] > 0


def test_yaml_list_of_rows_equals_the_mapping(tmp_path):
    p = _spans(tmp_path, [(1000, 50, 400), (200, 20, None)])
    y = tmp_path / "prices.yaml"
    y.write_text("- model: m\n  input_per_1m: 2.0\n  output_per_1m: 8.0\n  cached_input_per_1m: 0.5\n"
                 "- model: other\n  input_per_1m: 1\n  output_per_1m: 1\n")
    got = R.read_spans(p, price_table=y)["cost_usd"].to_numpy(float)
    np.testing.assert_allclose(got, [(600 * 2.0 + 400 * 0.5 + 50 * 8.0) / 1e6, (200 * 2.0 + 20 * 8.0) / 1e6])
    m = tmp_path / "map.yaml"
    m.write_text("m: [2.0, 8.0, 0.5]\n")
    np.testing.assert_array_equal(R.read_spans(p, price_table=m)["cost_usd"].to_numpy(float), got)


@pytest.mark.parametrize("name, text, message", [
    ("dup.csv", "model,input_per_1m,output_per_1m\nm,2.5,10\nm,5,15\n",
     r"dup\.csv: model 'm' is listed more than once \(row 1, row 2\)"),
    ("usd.csv", "model,input_per_1m,output_per_1m\nm,$2.50,$10.00\n",
     r"usd\.csv: row 1 \(model 'm'\): input_per_1m '\$2.50' is not a number"),
    ("neg.csv", "model,input_per_1m,output_per_1m\nm,2.5,-1\n",
     r"neg\.csv: row 1 \(model 'm'\): output_per_1m -1 is not a number >= 0"),
    ("blank.csv", "model,input_per_1m,output_per_1m\nm,2.5,\n",
     r"blank\.csv: row 1 \(model 'm'\): no output_per_1m price"),
    ("nomodel.csv", "model,input_per_1m,output_per_1m\n,2.5,1\n", r"nomodel\.csv: row 1: no model name"),
    ("empty.yaml", "", r"empty\.yaml: empty \(expected model -> \(input_per_1m, output_per_1m"),
    ("scalar.yaml", "3\n", r"scalar\.yaml: a int \(expected"),
    ("rows.yaml", "- model: m\n  input_per_1m: 2\n", r"rows\.yaml lacks column.s. output_per_1m"),
    ("notrow.yaml", "- [m, 2, 8]\n", r"notrow\.yaml: entry 1: \['m', 2, 8\] is not a row"),
    ("twice.yaml",
     "- {model: m, input_per_1m: 1, output_per_1m: 2}\n- {model: m, input_per_1m: 1, output_per_1m: 3}\n",
     r"twice\.yaml: model 'm' is listed more than once \(entry 1, entry 2\)"),
])
def test_malformed_price_files_are_named_errors(tmp_path, name, text, message):
    p = _spans(tmp_path, [(1000, 50, None)])
    (tmp_path / name).write_text(text)
    with pytest.raises(TraceFormatError, match=message):
        R.read_spans(p, price_table=tmp_path / name)


@pytest.mark.parametrize("table, message", [
    ({"m": (2.5,)}, r"price table: model 'm': price \(2.5,\) has the wrong shape \(expected"),
    ({"m": 2.5}, r"price table: model 'm': price 2.5 has the wrong shape"),
    ({"m": (1, 2, 3, 4)}, r"model 'm': price \(1, 2, 3, 4\) has the wrong shape"),
    ({"m": {"input": 1}}, r"model 'm': no output_per_1m price"),
    ({"m": ("cheap", 1)}, r"model 'm': input_per_1m 'cheap' is not a number"),
    ({"m": (float("inf"), 1)}, r"model 'm': input_per_1m inf is not a number"),
    (pd.DataFrame({"model": ["m", "m"], "input_per_1m": [1, 1], "output_per_1m": [1, 2]}),
     r"price table: model 'm' is listed more than once \(row 1, row 2\)"),
])
def test_malformed_price_objects_are_named_errors(tmp_path, table, message):
    p = _spans(tmp_path, [(1000, 50, None)])
    with pytest.raises(TraceFormatError, match=message):
        R.read_spans(p, price_table=table)


def test_resolved_price_frame_is_accepted_again(tmp_path):
    p = _spans(tmp_path, [(1000, 50, None)])
    resolved = R._price_frame({"m": (2.0, 8.0)})
    assert resolved.index.name == "model" and resolved.loc["m", "input_per_1m"] == 2.0
    got = R.read_spans(p, price_table=resolved)["cost_usd"].iat[0]
    assert got == pytest.approx((1000 * 2.0 + 50 * 8.0) / 1e6, rel=1e-12)
