"""Validation: each bad-input class, exact quarantine reports, nothing lost (issue 4, item 2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.validate import PROBLEMS, load_spans, validate
from dsge_agents.traces.writers import write_canonical


def clean_table(n_traces: int = 10, children: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2024-03-01 10:00:00", tz="UTC")
    for i in range(n_traces):
        tid = f"{i:032x}"
        root = f"{(i + 1) << 20:016x}"
        start = t0 + pd.Timedelta(seconds=float(i) * 7.3)
        rows.append(
            dict(
                trace_id=tid,
                span_id=root,
                parent_span_id=None,
                name="invoke_agent orch",
                operation="invoke_agent",
                agent_name="orch",
                start_ts=start,
                end_ts=start + pd.Timedelta(seconds=6),
                status="ok",
            )
        )
        for j in range(children):
            s = start + pd.Timedelta(seconds=float(j))
            rows.append(
                dict(
                    trace_id=tid,
                    span_id=f"{((i + 1) << 20) + j + 1:016x}",
                    parent_span_id=root,
                    name="chat a",
                    operation="chat",
                    agent_name=f"a{j % 2}",
                    provider="p",
                    model="m",
                    start_ts=s,
                    end_ts=s + pd.Timedelta(seconds=float(rng.uniform(0.5, 0.9))),
                    ttft_s=0.1,
                    input_tokens=int(rng.integers(10, 100)),
                    output_tokens=5,
                    cost_usd=0.001,
                    status="ok",
                )
            )
    return pd.DataFrame(rows)


def write_csv(df: pd.DataFrame, path) -> None:
    out = df.copy()
    for c in ("start_ts", "end_ts"):
        if c in out.columns:
            out[c] = out[c].map(
                lambda v: v if isinstance(v, str) else (None if pd.isna(v) else v.isoformat())
            )
    out.to_csv(path, index=False)


def corrupt(df: pd.DataFrame, kind: str, i: int) -> pd.DataFrame:
    """Break row ``i`` (a child span) in the way named by ``kind``."""
    df = df.copy().astype({"start_ts": object, "end_ts": object})
    if kind == "unparseable_timestamp":
        df.loc[i, "start_ts"] = "31/02/2024 25:61"
    elif kind == "nan_duration":
        df.loc[i, "end_ts"] = None
    elif kind == "end_before_start":
        df.loc[i, ["start_ts", "end_ts"]] = [df.loc[i, "end_ts"], df.loc[i, "start_ts"]]
    elif kind == "negative_duration":
        df.loc[i, "ttft_s"] = -0.5
    elif kind == "negative_tokens":
        df.loc[i, "input_tokens"] = -3
    elif kind == "duplicate_span_id":
        df.loc[i, "span_id"] = df.loc[i - 1, "span_id"]
    elif kind == "missing_id":
        df.loc[i, "span_id"] = None
    elif kind == "orphan_parent":
        df.loc[i, "parent_span_id"] = "ffffffffffffffff"
    else:  # pragma: no cover
        raise ValueError(kind)
    return df


ROW_KINDS = [
    "unparseable_timestamp",
    "nan_duration",
    "end_before_start",
    "negative_duration",
    "negative_tokens",
    "duplicate_span_id",
    "missing_id",
    "orphan_parent",
]


def test_clean_table_passes(tmp_path):
    p = tmp_path / "ok.csv"
    write_csv(clean_table(), p)
    acc, rep = load_spans(p)
    assert rep.quarantined_rows == 0 and rep.accepted_rows == rep.input_rows == 50
    assert rep.problems == {} and rep.quarantine_file is None
    assert not any(c.startswith("_") for c in acc.columns)


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_each_class_raises_named_error(tmp_path, kind):
    df = corrupt(clean_table(), kind, 7)
    p = tmp_path / "bad.csv"
    write_csv(df, p)
    with pytest.raises(TraceValidationError) as ei:
        load_spans(p, on_error="raise")
    msg = str(ei.value)
    assert kind in msg and "bad.csv: row 9" in msg  # data row 7 is CSV line 9 (header is line 1)
    other = [k for k in PROBLEMS if k != kind and k in msg]
    assert other == []


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_each_class_quarantine_report_is_exact(tmp_path, kind):
    df = corrupt(clean_table(), kind, 7)
    p = tmp_path / "bad.csv"
    write_csv(df, p)
    acc, rep = load_spans(
        p, on_error="quarantine", quarantine_path=tmp_path / "q.parquet", report_path=tmp_path / "report.json"
    )
    d = json.loads((tmp_path / "report.json").read_text())
    assert d["input_rows"] == 50 and d["accepted_rows"] == 49 and d["quarantined_rows"] == 1
    assert d["problems"] == {kind: 1}
    assert d["quarantine_file"] == str(tmp_path / "q.parquet")
    assert d["examples"][kind][0]["row"] == 9 and d["examples"][kind][0]["file"] == str(p)
    q = pd.read_parquet(tmp_path / "q.parquet")
    assert len(q) == 1 and q["_problems"].iloc[0] == kind and int(q["_row"].iloc[0]) == 9
    if kind == "unparseable_timestamp":
        assert d["examples"][kind][0]["value"] == "31/02/2024 25:61"
        assert q["_raw_start"].iloc[0] == "31/02/2024 25:61"
    assert len(acc) == 49


def test_missing_columns(tmp_path):
    df = clean_table().drop(columns=["end_ts"])
    p = tmp_path / "nocol.csv"
    write_csv(df, p)
    with pytest.raises(TraceValidationError, match=r"missing_columns .*nocol.csv lacks \['end_ts'\]"):
        load_spans(p)
    good = tmp_path / "good.csv"
    write_csv(clean_table(3), good)
    acc, rep = load_spans([p, good], on_error="quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.problems == {"missing_columns": 50}
    assert rep.quarantined_rows == 50 and rep.accepted_rows == 15 and rep.input_rows == 65
    assert rep.examples["missing_columns"][0]["missing"] == ["end_ts"]


def test_one_percent_mixed_bad_rows_lose_nothing(tmp_path):
    df = clean_table(n_traces=400, children=4, seed=1)  # 2000 rows
    rng = np.random.default_rng(7)
    child_rows = np.flatnonzero(df["parent_span_id"].notna().to_numpy())
    bad_rows = rng.choice(
        child_rows[child_rows % 5 != 1], size=20, replace=False
    )  # not first child (dup uses i-1)
    kinds = [ROW_KINDS[k % len(ROW_KINDS)] for k in range(20)]
    for i, k in zip(bad_rows, kinds):
        df = corrupt(df, k, int(i))
    p = tmp_path / "mixed.csv"
    write_csv(df, p)
    acc, rep = load_spans(p, on_error="quarantine", quarantine_path=tmp_path / "q.csv")
    assert rep.input_rows == 2000 == rep.accepted_rows + rep.quarantined_rows
    assert rep.quarantined_rows == 20
    expected = pd.Series(kinds).value_counts().to_dict()
    assert rep.problems == expected
    q = pd.read_csv(rep.quarantine_file)
    assert sorted(q["_row"].tolist()) == sorted((bad_rows + 2).tolist())
    # every input row is either accepted or quarantined: compare the row multiset on (trace_id, _row)
    assert len(acc) + len(q) == len(df)


def test_quarantine_never_overwrites(tmp_path):
    user = tmp_path / "q.parquet"
    user.write_bytes(b"precious")
    (tmp_path / "q-1.parquet").write_bytes(b"also precious")
    p = tmp_path / "bad.csv"
    write_csv(corrupt(clean_table(), "negative_tokens", 3), p)
    _, rep = load_spans(p, on_error="quarantine", quarantine_path=user)
    assert user.read_bytes() == b"precious" and (tmp_path / "q-1.parquet").read_bytes() == b"also precious"
    assert rep.quarantine_file == str(tmp_path / "q-2.parquet")
    with pytest.raises(FileExistsError):
        rep.write(user)


def test_arrival_only_tables_allow_missing_end(tmp_path, shared_data):
    acc, rep = load_spans(shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv")
    assert rep.accepted_rows == 19366 and rep.problems == {}
    # the same rows as a generic span table are flagged
    df = acc.head(10).copy()
    acc2, rep2 = validate(
        df.assign(_row=np.arange(2, 12)),
        "quarantine",
        quarantine_path=tmp_path / "q.parquet",
        allow_missing_end=False,
    )
    assert rep2.problems == {"nan_duration": 10}


def test_parquet_input_and_bad_on_error(tmp_path):
    p = write_canonical(
        corrupt(clean_table(), "end_before_start", 12).assign(
            start_ts=lambda d: pd.to_datetime(d["start_ts"], utc=True),
            end_ts=lambda d: pd.to_datetime(d["end_ts"], utc=True),
        ),
        tmp_path / "s.parquet",
    )
    with pytest.raises(TraceValidationError, match=r"end_before_start \(1 rows\): .*s.parquet: row 13"):
        load_spans(p)
    with pytest.raises(ValueError):
        load_spans(p, on_error="ignore")


@pytest.mark.parametrize("values, pool", [
    (pd.Series(["a", None, "b", "", "zz", "a"], dtype="str"), pd.Series(["a", "b", None, ""], dtype="str")),
    (pd.Series(["a", None, "c"], dtype="object"), pd.Series(["a", "c", "d"], dtype="object")),
    (pd.Series([1, 2, None], dtype="object"), pd.Series([2, 3], dtype="object")),
    (pd.Series(["1", 1, None], dtype="object"), pd.Series([1], dtype="object")),
    (pd.Series(["é", "\u2028x"], dtype="string"), pd.Series(["\u2028x"], dtype="string")),
])
def test_parent_membership_equals_pandas_isin(values, pool):
    """The orphan-parent check's membership test (Arrow for text) answers as pandas' isin does."""
    from dsge_agents.traces.validate import _isin

    pool = pool.dropna()
    got = _isin(values, pool)
    assert got.dtype == bool and got.tolist() == values.isin(set(pool.tolist())).tolist()
