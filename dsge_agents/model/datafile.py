"""Data files named by ``estimation(datafile=...)``: ``.csv`` and Dynare ``.m``.

* ``.csv``: a header row of variable names; an optional first column of dates
  (``1947Q3``, ``1947q3``, ``1990M01``, ``1990m1``, ``1990Y``/``1990``, ISO
  dates), which becomes the index (a quarterly/monthly/annual ``PeriodIndex``
  when it parses). Empty cells are missing values (NaN); every line must have as many
  fields as the header (a short or long line is an error, not a missing value) and the
  header names must be unique.
* ``.m``: Matlab vector assignments ``name = [v1 v2 ...];`` (optionally
  transposed with ``'``, separators blanks, commas, ``;`` or new lines, ``...``
  continuations, ``%`` comments); scalar assignments are ignored. Nothing is
  executed: the numbers are read by a tokenizer.

Bad content raises :class:`~dsge_agents.errors.DataError` naming file, line /
row and column.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents.errors import DataError

__all__ = ["read_datafile"]

_DATE_Q = re.compile(r"^\s*(\d{4})\s*[Qq]([1-4])\s*$")
_DATE_M = re.compile(r"^\s*(\d{4})\s*[Mm](\d{1,2})\s*$")
_DATE_Y = re.compile(r"^\s*(\d{4})\s*[Yy]?\s*$")


def _parse_dates(values) -> pd.Index | None:
    vals = [str(v) for v in values]
    if all(_DATE_Q.match(v) for v in vals):
        return pd.PeriodIndex([f"{_DATE_Q.match(v).group(1)}Q{_DATE_Q.match(v).group(2)}" for v in vals],
                              freq="Q", name="date")
    if all(_DATE_M.match(v) for v in vals):
        return pd.PeriodIndex([f"{_DATE_M.match(v).group(1)}-{int(_DATE_M.match(v).group(2)):02d}"
                               for v in vals], freq="M", name="date")
    if all(_DATE_Y.match(v) for v in vals) and any(re.search(r"[Yy]", v) for v in vals):
        return pd.PeriodIndex([_DATE_Y.match(v).group(1) for v in vals], freq="Y", name="date")
    try:
        idx = pd.to_datetime(pd.Index(vals), format="ISO8601")
        return pd.Index(idx, name="date")
    except (ValueError, TypeError):
        return None


def _check_csv_shape(path: Path) -> None:
    """Every non-blank line has as many fields as the header, and the header names are unique
    (pandas would fill a short line with NaN — a silent missing observation — and rename a
    repeated name ``y.1``)."""
    import csv
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = None
            for row in reader:
                if not row or all(not c.strip() for c in row) and len(row) <= 1:
                    continue
                if header is None:
                    header = [c.strip() for c in row]
                    seen = set()
                    for c in header:
                        if c and c in seen:
                            raise DataError(f"{path}, line {reader.line_num}: column {c!r} appears "
                                            "twice in the header")
                        seen.add(c)
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, the header has "
                                    f"{len(header)} ({', '.join(header)})")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read CSV: {exc}") from None
    if header is None:
        raise DataError(f"{path}: empty file (a header row of variable names and data rows expected)")


def _read_csv(path: Path) -> pd.DataFrame:
    _check_csv_shape(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas parser errors
        raise DataError(f"{path}: cannot read CSV: {exc}") from None
    if raw.shape[1] == 0:
        raise DataError(f"{path}: no columns")
    if raw.shape[0] == 0:
        raise DataError(f"{path}: no data rows (only the header {', '.join(map(str, raw.columns))})")
    cols = list(raw.columns)
    first = cols[0]
    index = None
    if raw.shape[0] > 0:
        col0 = raw[first].astype(str)
        numeric0 = pd.to_numeric(col0.where(col0.str.strip() != "", "nan"), errors="coerce")
        if (str(first).startswith("Unnamed") or str(first).strip().lower() in ("", "date", "dates", "period",
                                                                              "time", "quarter")
                or numeric0.isna().all()):
            index = _parse_dates(col0)
            if index is None and not numeric0.notna().all():
                raise DataError(f"{path}: first column {first!r} is neither numeric nor dates "
                                f"(e.g. row 2 value {col0.iloc[0]!r})")
            if index is not None:
                raw = raw.drop(columns=[first])
    out = {}
    for c in raw.columns:
        s = raw[c].astype(str).str.strip()
        s = s.where(~s.str.lower().isin(["", "nan", "na", "null"]), "nan")
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & (s != "nan")
        if bad.any():
            r = int(np.argmax(bad.values))
            raise DataError(f"{path}: row {r + 2}, column {c!r}: not a number: {raw[c].iloc[r]!r}")
        out[str(c).strip()] = num.astype(float).values
    df = pd.DataFrame(out)
    if index is not None:
        df.index = index
    return df


_MTOK = re.compile(r"\s*(?:(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?|[+-]?[Nn]a[Nn]|[+-]?[Ii]nf)"
                   r"|(?P<sep>[,;])|(?P<close>\])|(?P<cont>\.\.\.[^\n]*\n?))")


def _read_m(path: Path) -> pd.DataFrame:
    text = path.read_text()
    # strip % comments
    text = re.sub(r"%[^\n]*", lambda m: " " * len(m.group(0)), text)
    data: dict[str, list[float]] = {}
    i, n = 0, len(text)
    assign = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
    while i < n:
        if text[i].isspace() or text[i] == ";":
            i += 1
            continue
        m = assign.match(text, i)
        line = text.count("\n", 0, i) + 1
        if not m:
            raise DataError(f"{path}, line {line}: expected 'name = [ ... ];' (Matlab code is not executed)")
        name = m.group(1)
        j = m.end()
        if j < n and text[j] == "[":
            j += 1
            vals: list[float] = []
            rows = [0]          # numbers per row: rows end at ';' or a new line (not after '...')
            while True:
                t = _MTOK.match(text, j)
                if not t:
                    ln = text.count("\n", 0, j) + 1
                    bad = text[j:j + 15].split()[0] if text[j:j + 15].split() else "end of file"
                    raise DataError(f"{path}, line {ln}: {name}: not a number: {bad!r}")
                if "\n" in text[j:t.start(t.lastgroup)]:
                    rows.append(0)
                j = t.end()
                if t.group("close"):
                    break
                if t.group("sep") == ";":
                    rows.append(0)
                if t.group("num"):
                    vals.append(float(t.group("num").replace("d", "e").replace("D", "e")))
                    rows[-1] += 1
            filled = [r for r in rows if r]
            if len(filled) > 1 and max(filled) > 1:
                raise DataError(f"{path}, line {line}: {name} is a matrix ({len(filled)} rows); only vectors "
                                "'name = [ ... ];' are read")
            while j < n and text[j] in " \t'":
                j += 1
            if j < n and text[j] not in ";\n\r":
                raise DataError(f"{path}, line {text.count(chr(10), 0, j) + 1}: unexpected {text[j]!r} after "
                                f"vector {name}")
            data[name] = vals
            i = j
        else:
            k = text.find(";", j)
            k2 = text.find("\n", j)
            ends = [x for x in (k, k2) if x >= 0]
            e = min(ends) if ends else n
            val = text[j:e].strip()
            if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", val):
                raise DataError(f"{path}, line {line}: only numeric vectors and scalars are read "
                                f"({name} = {val[:30]!r})")
            i = e + 1
    if not data:
        raise DataError(f"{path}: no vector assignments 'name = [ ... ];' found")
    lens = {k: len(v) for k, v in data.items()}
    if len(set(lens.values())) > 1:
        raise DataError(f"{path}: vectors have different lengths: {lens}")
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in data.items()})


def read_datafile(path) -> pd.DataFrame:
    """Read a ``.csv`` or ``.m`` data file into a DataFrame (columns = series; NaN = missing)."""
    p = Path(path)
    if not p.suffix:
        for s in (".m", ".csv"):
            if p.with_suffix(s).exists():
                p = p.with_suffix(s)
                break
    if not p.exists():
        raise DataError(f"data file not found: {path}")
    suf = p.suffix.lower()
    if suf == ".csv":
        return _read_csv(p)
    if suf == ".m":
        return _read_m(p)
    raise DataError(f"{p}: unsupported data file type {suf!r} (use .csv or .m)")
