"""The Dynare macro language, the part real ``.mod`` files use (Dynare 5 reference manual, ch. 4.24).

Directives (a line whose first non-blank characters are ``@#``; a directive line ending in ``\\``
continues on the next line):

* ``@#define NAME = EXPR``; ``@#include "file"`` (relative to the including file's folder, then the
  ``@#includepath`` folders, then the working directory); ``@#includepath "dir"``;
* ``@#if EXPR`` / ``@#ifdef NAME`` / ``@#ifndef NAME``, ``@#elseif EXPR``, ``@#else``, ``@#endif``;
* ``@#for NAME in EXPR`` ... ``@#endfor`` (also ``@#for (a, b) in EXPR`` over arrays of pairs);
* ``@#echo EXPR`` (a warning naming file and line), ``@#error EXPR`` (a :class:`ModelSyntaxError`),
  ``@#echomacrovars`` (ignored).

``@{EXPR}`` anywhere else in the text is replaced by the value of EXPR (``x@{i}`` gives ``x1``).
Expressions: numbers (doubles), strings ``"..."``, ``true``/``false``, arrays ``[a, b]``, ranges
``lo:hi`` and ``lo:step:hi``, names; ``|| && ! == != < > <= >= in + - * / ^``, indexing ``a[i]``
(from 1; an array index selects several), and the functions ``length isempty defined abs exp log
sqrt floor ceil round min max mod``. ``+`` also joins strings and arrays.

Expansion is a pure text transformation that executes nothing; every output line remembers the
file and line it comes from, so that later errors name the place in the user's file.
"""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

from dsge_agents.errors import ModelSyntaxError, UnsupportedStatementError

__all__ = ["expand", "has_macros", "original_column"]

_DIRECTIVE = re.compile(r"^[ \t]*@#[ \t]*([A-Za-z_]+)(.*)$")
_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|[-+*/^!<>()\[\],:])
)""", re.X)
_MAX_LINES = 2_000_000


def has_macros(text: str) -> bool:
    """Whether ``text`` uses the macro language (a ``@#`` directive line or an ``@{...}``)."""
    return "@{" in text or re.search(r"(?m)^[ \t]*@#", text) is not None


class _Err(Exception):
    """Expression error without a position (the caller adds it)."""


# ------------------------------------------------------------------------------ expressions
def _tokens(s: str) -> list[tuple[str, str]]:
    out, i = [], 0
    s = s.rstrip()
    while i < len(s):
        m = _TOKEN.match(s, i)
        if not m or m.end() == i:
            raise _Err(f"unexpected character {s[i:].lstrip()[:1]!r} in macro expression")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        i = m.end()
        while i < len(s) and s[i].isspace():
            i += 1
    return out


def _show(v) -> str:
    """Text of a macro value as ``@{...}`` inserts it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format(v, ".15g")   # as Dynare 5.3 prints doubles: 1/3 -> 0.333333333333333, 0.1*3 -> 0.3
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return "[" + ", ".join(_show(x) for x in v) + "]"


def _show_q(v) -> str:
    return f'"{v}"' if isinstance(v, str) else _show(v)


def _truth(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return v != 0.0
    raise _Err(f"a condition must be a number or a boolean, not {_show_q(v)}")


def _num(v, what="operand") -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if not isinstance(v, float):
        raise _Err(f"{what} must be a number, not {_show_q(v)}")
    return v


_FUNCS = {"abs": abs, "exp": math.exp, "log": math.log, "ln": math.log, "sqrt": math.sqrt,
          "floor": math.floor, "ceil": math.ceil, "round": round, "sin": math.sin, "cos": math.cos}


class _Parser:
    """Recursive descent over the token list; evaluates as it parses."""

    def __init__(self, text: str, env: dict):
        self.t = _tokens(text)
        self.i = 0
        self.env = env

    def peek(self, k=0):
        j = self.i + k
        return self.t[j] if j < len(self.t) else ("end", "")

    def take(self, op=None):
        tok = self.peek()
        if op is not None and tok[1] != op:
            raise _Err(f"expected {op!r} in macro expression, found {tok[1] or 'the end'!r}")
        self.i += 1
        return tok

    def parse(self):
        v = self.expr()
        if self.i != len(self.t):
            raise _Err(f"unexpected {self.peek()[1]!r} in macro expression")
        return v

    def expr(self):
        return self.or_()

    def or_(self):
        v = self.and_()
        while self.peek()[1] == "||":
            self.take()
            r = self.and_()
            v = _truth(v) or _truth(r)
        return v

    def and_(self):
        v = self.cmp()
        while self.peek()[1] == "&&":
            self.take()
            r = self.cmp()
            v = _truth(v) and _truth(r)
        return v

    def cmp(self):
        v = self.range_()
        while self.peek()[1] in ("==", "!=", "<", ">", "<=", ">=") or self.peek() == ("name", "in"):
            op = self.take()[1]
            r = self.range_()
            if op == "in":
                if not isinstance(r, list):
                    raise _Err("the right side of 'in' must be an array")
                v = v in r
            elif op in ("==", "!="):
                v = (v == r) if op == "==" else (v != r)
            else:
                if isinstance(v, str) and isinstance(r, str):
                    a, b = v, r
                else:
                    a, b = _num(v), _num(r)
                v = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return v

    def range_(self):
        v = self.add()
        if self.peek()[1] == ":":
            self.take()
            b = self.add()
            step = 1.0
            if self.peek()[1] == ":":
                self.take()
                step, b = _num(b, "range step"), self.add()
            lo, hi = _num(v, "range start"), _num(b, "range end")
            if step == 0:
                raise _Err("range step is zero")
            n = int(math.floor((hi - lo) / step + 1e-10)) + 1
            if n > _MAX_LINES:
                raise _Err("range too long")
            v = [lo + k * step for k in range(max(n, 0))]
        return v

    def add(self):
        v = self.mul()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            r = self.mul()
            if op == "+" and isinstance(v, str) and isinstance(r, str):
                v = v + r
            elif op == "+" and isinstance(v, list) and isinstance(r, list):
                v = v + r
            elif op == "-" and isinstance(v, list) and isinstance(r, list):
                v = [x for x in v if x not in r]
            else:
                v = _num(v) + _num(r) if op == "+" else _num(v) - _num(r)
        return v

    def mul(self):
        v = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            r = self.unary()
            a, b = _num(v), _num(r)
            if op == "/" and b == 0:
                raise _Err("division by zero in macro expression")
            v = a * b if op == "*" else a / b
        return v

    def unary(self):
        op = self.peek()[1]
        if op == "-":
            self.take()
            return -_num(self.unary())
        if op == "+":
            self.take()
            return _num(self.unary())
        if op == "!":
            self.take()
            return not _truth(self.unary())
        return self.power()

    def power(self):
        v = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            e = self.unary()   # right-associative
            v = _num(v) ** _num(e)
        return v

    def postfix(self):
        v = self.atom()
        while self.peek()[1] == "[":
            self.take()
            idx = self.expr()
            self.take("]")
            if not isinstance(v, (list, str)):
                raise _Err("only arrays and strings can be indexed")
            picks = idx if isinstance(idx, list) else [idx]
            out = []
            for k in picks:
                k = _num(k, "index")
                if k != int(k) or not 1 <= k <= len(v):
                    raise _Err(f"index {_show(k)} out of range 1..{len(v)}")
                out.append(v[int(k) - 1])
            v = (("".join(out) if isinstance(v, str) else out) if isinstance(idx, list) else out[0])
        return v

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "op" and text == "(":
            v = self.expr()
            if self.peek()[1] == ",":        # a tuple (a, b)
                items = [v]
                while self.peek()[1] == ",":
                    self.take()
                    items.append(self.expr())
                v = tuple(items)
            self.take(")")
            return v
        if kind == "op" and text == "[":
            items = []
            if self.peek()[1] != "]":
                items.append(self.expr())
                while self.peek()[1] == ",":
                    self.take()
                    items.append(self.expr())
            self.take("]")
            flat = []
            for x in items:   # [1:3] is the range itself, as Dynare writes it
                flat.extend(x) if isinstance(x, list) and len(items) == 1 else flat.append(x)
            return flat
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if self.peek()[1] == "(":
                return self.call(text)
            if text not in self.env:
                raise _Err(f"unknown macro variable {text!r}")
            return self.env[text]
        raise _Err(f"unexpected {text or 'end of expression'!r} in macro expression")

    def call(self, name):
        self.take("(")
        if name == "defined":
            kind, arg = self.take()
            self.take(")")
            if kind == "str":
                arg = arg[1:-1]
            return arg in self.env
        args = []
        if self.peek()[1] != ")":
            args.append(self.expr())
            while self.peek()[1] == ",":
                self.take()
                args.append(self.expr())
        self.take(")")
        if name in ("length", "isempty"):
            if len(args) != 1 or not isinstance(args[0], (list, str, tuple)):
                raise _Err(f"{name}() takes one array or string")
            n = float(len(args[0]))
            return n if name == "length" else n == 0
        if name in ("min", "max", "mod"):
            if len(args) != 2:
                raise _Err(f"{name}() takes two numbers")
            a, b = _num(args[0]), _num(args[1])
            return min(a, b) if name == "min" else max(a, b) if name == "max" else math.fmod(a, b)
        if name in _FUNCS:
            if len(args) != 1:
                raise _Err(f"{name}() takes one number")
            try:
                return float(_FUNCS[name](_num(args[0])))
            except (ValueError, OverflowError) as exc:
                raise _Err(f"{name}({_show(args[0])}): {exc}") from None
        raise _Err(f"unknown macro function {name!r}")


def _eval(text: str, env: dict):
    if not text.strip():
        raise _Err("empty macro expression")
    return _Parser(text, env).parse()


# ------------------------------------------------------------------------------ the expander
class _Expander:
    def __init__(self, main_file: str, defines: dict | None):
        self.env: dict = {}
        for k, v in (defines or {}).items():
            self.env[k] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        self.paths: list[Path] = []
        self.main_dir = Path(main_file).resolve().parent if main_file and not main_file.startswith("<") \
            else Path.cwd()
        self.out: list[str] = []
        self.origin: list[tuple[str, int]] = []
        self.depth = 0

    def fail(self, msg, file, line, col=None, token=None, cls=ModelSyntaxError):
        raise cls(msg, file, line, col, token)

    # one logical line = (text, file, line number)
    def lines_of(self, text: str, file: str) -> list[tuple[str, str, int]]:
        raw = text.split("\n")
        out, k = [], 0
        while k < len(raw):
            s, start = raw[k], k + 1
            if _DIRECTIVE.match(s):
                while s.rstrip().endswith("\\") and k + 1 < len(raw):
                    k += 1
                    s = s.rstrip()[:-1] + " " + raw[k]
            out.append((s, file, start))
            k += 1
        return out

    def substitute(self, s: str, file: str, line: int) -> tuple[str, tuple]:
        """Replace every ``@{EXPR}`` of a text line by its value. Also returns the column map:
        ``(expanded offset, original offset, inserted length)`` per substitution."""
        if "@{" not in s:
            return s, ()
        out, i, n, cmap = [], 0, 0, []
        while True:
            j = s.find("@{", i)
            if j < 0:
                out.append(s[i:])
                return "".join(out), tuple(cmap)
            out.append(s[i:j])
            n += j - i
            depth, k = 0, j + 1
            while k < len(s):
                if s[k] == "{":
                    depth += 1
                elif s[k] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if k >= len(s):
                self.fail("'@{' without its closing '}'", file, line, j + 1, "@{")
            try:
                val = _show(_eval(s[j + 2:k], self.env))
            except _Err as exc:
                self.fail(str(exc), file, line, j + 1, s[j:k + 1])
            out.append(val)
            cmap.append((n, j, len(val), k + 1 - j))
            n += len(val)
            i = k + 1

    def run(self, lines, stop=()):
        """Expand ``lines`` from index 0; returns the index of a directive in ``stop`` (not consumed)
        or ``len(lines)``. Blocks are found by matching directives."""
        k = 0
        while k < len(lines):
            s, file, line = lines[k]
            m = _DIRECTIVE.match(s)
            if not m:
                self.emit(*self.substitute(s, file, line), file, line)
                k += 1
                continue
            word, rest = m.group(1), m.group(2).strip()
            col = s.index("@#") + 1
            if word in stop:
                return k
            if word == "define":
                mm = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\(.*?\))?\s*(=\s*(.*))?$", rest)
                if not mm:
                    self.fail("expected '@#define NAME = EXPRESSION'", file, line, col, "@#define")
                if mm.group(2):
                    self.fail("macro functions (@#define f(x) = ...) are not supported", file, line, col,
                              mm.group(1), UnsupportedStatementError)
                self.env[mm.group(1)] = self.value(mm.group(4), file, line, col) if mm.group(3) else True
                k += 1
            elif word in ("if", "ifdef", "ifndef"):
                k = self.conditional(lines, k, word, rest, file, line, col)
            elif word == "for":
                k = self.loop(lines, k, rest, file, line, col)
            elif word == "include":
                self.include(rest, file, line, col)
                k += 1
            elif word == "includepath":
                v = self.value(rest, file, line, col)
                if not isinstance(v, str):
                    self.fail("@#includepath needs a string", file, line, col, "@#includepath")
                p = Path(v)
                self.paths.append(p if p.is_absolute() else Path(file).resolve().parent / p)
                k += 1
            elif word == "echo":
                warnings.warn(f"{file}, line {line}: @#echo {_show(self.value(rest, file, line, col))}",
                              stacklevel=5)
                k += 1
            elif word == "error":
                v = self.value(rest, file, line, col)
                self.fail(f"@#error: {_show(v)}", file, line, col, "@#error")
            elif word == "echomacrovars":
                k += 1
            elif word in ("else", "elseif", "endif", "endfor"):
                self.fail(f"@#{word} without its opening directive", file, line, col, f"@#{word}")
            else:
                self.fail(f"unknown macro directive '@#{word}'", file, line, col, f"@#{word}")
        return k

    def value(self, text, file, line, col):
        try:
            return _eval(text, self.env)
        except _Err as exc:
            self.fail(str(exc), file, line, col, text.strip()[:40] or None)

    def block(self, lines, k, opener, file, line, col):
        """Index of the directive that closes or splits the block opened at ``lines[k]``."""
        depth = 0
        j = k + 1
        ends = {"if": "endif", "ifdef": "endif", "ifndef": "endif", "for": "endfor"}
        while j < len(lines):
            m = _DIRECTIVE.match(lines[j][0])
            if m:
                w = m.group(1)
                if w in ends:
                    depth += 1
                elif w in ("endif", "endfor"):
                    if depth == 0:
                        if w != ends[opener]:
                            self.fail(f"@#{w} closes @#{opener} (line {line})", lines[j][1], lines[j][2],
                                      None, f"@#{w}")
                        return j
                    depth -= 1
            j += 1
        self.fail(f"@#{opener} is not closed by @#{ends[opener]}", file, line, col, f"@#{opener}")

    def conditional(self, lines, k, word, rest, file, line, col):
        end = self.block(lines, k, word, file, line, col)
        # split points at depth 0: elseif / else
        parts, depth, start = [], 0, k
        head = (word, rest, file, line, col)
        for j in range(k + 1, end):
            m = _DIRECTIVE.match(lines[j][0])
            if not m:
                continue
            w = m.group(1)
            if w in ("if", "ifdef", "ifndef", "for"):
                depth += 1
            elif w in ("endif", "endfor"):
                depth -= 1
            elif depth == 0 and w in ("elseif", "else"):
                parts.append((head, start + 1, j))
                s2, f2, l2 = lines[j]
                head = (w, m.group(2).strip(), f2, l2, s2.index("@#") + 1)
                start = j
        parts.append((head, start + 1, end))
        seen_else = False
        for (w, cond, f, ln, c), a, b in parts:
            if seen_else:
                self.fail("@#else must be the last branch", f, ln, c, f"@#{w}")
            if w in ("ifdef", "ifndef"):
                name = cond.strip()
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    self.fail(f"@#{w} needs a macro variable name", f, ln, c, f"@#{w}")
                ok = (name in self.env) == (w == "ifdef")
            elif w == "else":
                seen_else, ok = True, True
            else:
                try:
                    ok = _truth(_eval(cond, self.env))
                except _Err as exc:
                    self.fail(str(exc), f, ln, c, cond[:40] or None)
            if ok:
                self.run(lines[a:b])
                break
        return end + 1

    def loop(self, lines, k, rest, file, line, col):
        end = self.block(lines, k, "for", file, line, col)
        mm = re.match(r"(?:\(\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*\)|"
                      r"([A-Za-z_][A-Za-z0-9_]*))\s+in\s+(.*)$", rest)
        if not mm:
            self.fail("expected '@#for NAME in EXPRESSION'", file, line, col, "@#for")
        names = [n.strip() for n in mm.group(1).split(",")] if mm.group(1) else [mm.group(2)]
        seq = self.value(mm.group(3), file, line, col)
        if not isinstance(seq, list):
            self.fail("@#for needs an array to loop over", file, line, col, "@#for")
        body = lines[k + 1:end]
        for item in seq:
            if len(names) == 1:
                self.env[names[0]] = item
            else:
                if not isinstance(item, (tuple, list)) or len(item) != len(names):
                    self.fail(f"@#for ({', '.join(names)}) needs items with {len(names)} elements", file, line,
                              col, "@#for")
                for n, x in zip(names, item):
                    self.env[n] = x
            self.run(body)
        return end + 1

    def include(self, rest, file, line, col):
        v = self.value(rest, file, line, col)
        if not isinstance(v, str):
            self.fail("@#include needs a file name in double quotes", file, line, col, "@#include")
        p = Path(v)
        cands = [p] if p.is_absolute() else [Path(file).resolve().parent / p] + [d / p for d in self.paths] + \
            [self.main_dir / p, Path.cwd() / p]
        for c in cands:
            if c.is_file():
                break
        else:
            looked = list(dict.fromkeys(str(c.parent) for c in cands))
            self.fail(f"@#include: file {v!r} not found (looked in {', '.join(looked)})",
                      file, line, col, "@#include")
        self.depth += 1
        if self.depth > 50:
            self.fail("@#include nested more than 50 deep (a file including itself?)", file, line, col,
                      "@#include")
        data = c.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.run(self.lines_of(text, str(c)))
        self.depth -= 1

    def emit(self, s, cmap, file, line):
        self.out.append(s)
        self.origin.append((file, line, cmap) if cmap else (file, line))
        if len(self.out) > _MAX_LINES:
            self.fail("macro expansion produces more than 2,000,000 lines", file, line)


def original_column(entry: tuple, col: int | None) -> int | None:
    """Column (from 1) in the user's line of column ``col`` of an expanded line whose ``origin``
    entry is ``entry``; a column inside an inserted value maps to its ``@{``."""
    if col is None or len(entry) < 3:
        return col
    shift = 0
    for exp_off, orig_off, n_ins, n_orig in entry[2]:
        if col - 1 < exp_off:
            break
        if col - 1 < exp_off + n_ins:
            return orig_off + 1
        shift = (orig_off + n_orig) - (exp_off + n_ins)
    return col + shift


def expand(text: str, file: str = "<string>", defines: dict | None = None) -> tuple[str, list[tuple]]:
    """Expand the macro language in ``text``: ``(expanded text, origin)`` where ``origin[i]`` is
    ``(file, line)`` or ``(file, line, column map)`` of expanded line ``i + 1`` (see
    :func:`original_column`). ``defines`` are macro variables set beforehand (Dynare's
    ``-DNAME=VALUE``)."""
    ex = _Expander(file, defines)
    ex.run(ex.lines_of(text, file))
    return "\n".join(ex.out), ex.origin
