"""Safe expression parser for model files.

User text is never handed to Python's ``eval``/``exec``/``ast``. A whitelisting
tokenizer accepts only numbers, identifiers, the operators ``+ - * / ^ **``,
parentheses, commas and ``=``; a recursive-descent parser (precedence climbing)
turns the tokens into SymPy expressions, resolving every identifier against the
declared names of the model and a fixed list of functions. Anything else
(strings, attribute access, subscripts, lambdas, unknown names) is rejected with
:class:`~dsge_agents.errors.ModelSyntaxError` or
:class:`~dsge_agents.errors.UnknownNameError` naming file, line, column and token.

Grammar (lowest to highest precedence)::

    equation := expr [ '=' expr ]
    expr     := term   (('+' | '-') term)*
    term     := unary  (('*' | '/') unary)*
    unary    := ('+' | '-') unary | power
    power    := atom [ ('^' | '**') unary ]          (right associative)
    atom     := NUMBER | NAME [ '(' ['+'|'-'] INTEGER ')' ]
              | FUNC '(' expr (',' expr)* ')' | '(' expr ')'

so ``-x^2 = -(x^2)``, ``2^-1 = 0.5`` and ``a^b^c = a^(b^c)`` as in Dynare/Matlab.

Timing: a variable ``x`` at lead/lag ``k`` is the SymPy symbol returned by
:func:`tsym` (``x`` for k = 0, ``x__p1`` for k = +1, ``x__m2`` for k = -2);
:func:`split_tsym` inverts the naming.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping, NamedTuple

from dsge_agents.errors import ModelSyntaxError, UnknownNameError, UnsupportedStatementError
from dsge_agents.model import tree as T

#: operators of Dynare's model language outside our subset (named in the error instead of "unknown name")
DYNARE_OPERATORS = {
    "STEADY_STATE": "outside model equations",
    "EXPECTATION": "write the expectation with an auxiliary variable",
    "diff": "outside model equations; write x - x(-1)", "adl": "write the lag polynomial out",
    "var_expectation": "VAR expectations",
    "pac_expectation": "PAC models", "pac_target_nonstationary": "PAC models",
    "external_function": "external functions",
}

__all__ = ["Token", "tokenize", "ExprParser", "parse_expr", "parse_equation", "parse_expr_tree",
           "parse_equation_tree", "tsym", "split_tsym", "FUNCTIONS", "shift"]


# --------------------------------------------------------------------------- timing symbols
def tsym(name: str, lag: int = 0):
    """SymPy symbol of variable ``name`` at timing ``lag`` (``x``, ``x__p1``, ``x__m1``...)."""
    import sympy as sp
    if lag == 0:
        return sp.Symbol(name, real=True)
    return sp.Symbol(f"{name}__{'p' if lag > 0 else 'm'}{abs(lag)}", real=True)


_TS_RE = re.compile(r"^(.*)__([pm])(\d+)$")


def split_tsym(sym) -> tuple[str, int]:
    """Inverse of :func:`tsym`: ``'x__m2' -> ('x', -2)``."""
    s = sym if isinstance(sym, str) else sym.name
    m = _TS_RE.match(s)
    if not m:
        return s, 0
    k = int(m.group(3))
    return m.group(1), k if m.group(2) == "p" else -k


def shift(expr, k: int, names: set[str]):
    """Shift every timed symbol of a name in ``names`` by ``k`` periods (SymPy expression or tree)."""
    if k == 0:
        return expr
    if isinstance(expr, tuple):
        return T.shift(expr, k, names)
    rep = {}
    for s in expr.free_symbols:
        n, lag = split_tsym(s)
        if n in names:
            rep[s] = tsym(n, lag + k)
    return expr.xreplace(rep)


# --------------------------------------------------------------------------- functions
def _arity(name, n):
    def g(*a):
        want = T.FUNCTION_NAMES[name]
        ok = (len(a) in want) if isinstance(want, tuple) else len(a) == want
        if not ok:
            if isinstance(want, tuple):
                raise TypeError(f"takes {' or '.join(map(str, want))} arguments")
            raise TypeError("takes exactly 1 argument" if want == 1 else f"takes exactly {want} arguments")
        return T.fn(name, *a)
    return g


#: The fixed whitelist of functions (name -> builder of an expression tree).
FUNCTIONS: dict[str, Callable[..., tuple]] = {name: _arity(name, n) for name, n in T.FUNCTION_NAMES.items()}


# --------------------------------------------------------------------------- tokenizer
class Token(NamedTuple):
    kind: str      # NUM, NAME, OP, EOF
    text: str
    line: int
    col: int       # 1-based column in the source line


_NUM = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("**", "+", "-", "*", "/", "^", "(", ")", ",", "=")
# one pass over well-formed text (the checked tokenizer below runs only when this one meets anything else)
_FAST = re.compile(r"[ \t\r\f\v]*(?:(\n)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z0-9_.])"
                   r"|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/^(),=]))")
_WS_END = re.compile(r"[ \t\r\f\v]*\Z")


def _tokenize_fast(text: str, line: int, col: int) -> list[Token] | None:
    toks: list[Token] = []
    app = toks.append
    i, n = 0, len(text)
    ln, lstart = line, -(col - 1)
    match = _FAST.match
    while True:
        m = match(text, i)
        if m is None:
            e = _WS_END.match(text, i)
            if e is None:
                return None
            i = n
            break
        nl, nm, name, op = m.groups()
        i = m.end()
        if nl is not None:
            ln += 1
            lstart = i
            continue
        if nm is not None:
            app(Token("NUM", nm, ln, m.start(2) - lstart + 1))
        elif name is not None:
            app(Token("NAME", name, ln, m.start(3) - lstart + 1))
        else:
            app(Token("OP", op, ln, m.start(4) - lstart + 1))
        if i >= n:
            break
    toks.append(Token("EOF", "", ln, i - lstart + 1))
    return toks


def tokenize(text: str, *, file: str | None = None, line: int = 1, col: int = 1) -> list[Token]:
    """Split ``text`` into whitelisted tokens; anything else is a :class:`ModelSyntaxError`.

    ``line``/``col`` give the position of ``text[0]`` in the source file so
    errors point at the right place; newlines inside ``text`` advance the line.
    """
    fast = _tokenize_fast(text, line, col)
    if fast is not None:
        return fast
    toks: list[Token] = []
    i, n = 0, len(text)
    ln, lstart = line, -(col - 1)   # column of char i = i - lstart + 1
    while i < n:
        c = text[i]
        if c == "\n":
            ln += 1
            lstart = i + 1
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        cc = i - lstart + 1
        m = _NUM.match(text, i)
        if m and (c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit())):
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                # e.g. '1abc' or '2.5e' : malformed number
                m2 = re.match(r"[A-Za-z0-9_.]+", text[i:])
                raise ModelSyntaxError("malformed number", file, ln, cc, m2.group(0))
            if end < n and text[end] == ".":
                raise ModelSyntaxError("malformed number", file, ln, cc, text[i:end + 1])
            toks.append(Token("NUM", m.group(0), ln, cc))
            i = end
            continue
        m = _NAME.match(text, i)
        if m:
            toks.append(Token("NAME", m.group(0), ln, cc))
            i = m.end()
            continue
        if text.startswith("**", i):
            toks.append(Token("OP", "**", ln, cc))
            i += 2
            continue
        if c in "+-*/^(),=":
            toks.append(Token("OP", c, ln, cc))
            i += 1
            continue
        # everything else is refused with a specific message
        if c in "'\"":
            what = "string literals are not allowed"
        elif c == ".":
            what = "attribute access is not allowed"
        elif c in "[]":
            what = "subscripts are not allowed"
        elif c == ":":
            what = "':' is not allowed (no lambdas, slices or annotations)"
        else:
            what = "character not allowed in an expression"
        raise ModelSyntaxError(what, file, ln, cc, c)
    toks.append(Token("EOF", "", ln, i - lstart + 1))
    return toks


# --------------------------------------------------------------------------- parser
class ExprParser:
    """Recursive-descent parser producing SymPy expressions.

    Produces expression trees (:mod:`dsge_agents.model.tree`); :func:`parse_expr` /
    :func:`parse_equation` convert them to SymPy.

    Parameters
    ----------
    names : mapping name -> kind
        Declared names. Kinds: ``'var'`` (endogenous, may carry timing),
        ``'shock'`` (may carry timing), ``'param'``, ``'local'`` (``#``
        definitions or steady-state temporaries; value in ``locals``),
        ``'const'`` (value in ``locals``, e.g. ``inf``).
    locals : mapping name -> tree (or sympy.Expr)
        Values substituted for ``'local'``/``'const'`` names (a local used with
        a timing suffix is shifted in time).
    allow_timing : bool
        Whether timing suffixes are accepted (model equations only).
    """

    def __init__(self, names: Mapping[str, str], locals: Mapping | None = None,
                 allow_timing: bool = True, file: str | None = None,
                 timed_names: set[str] | None = None):
        self.names = names
        self.locals = locals or {}
        self.allow_timing = allow_timing
        self.file = file
        self._timed_names = timed_names
        self._local_trees: dict = {}
        self.toks: list[Token] = []
        self.pos = 0
        self.opens: list[Token] = []

    @property
    def timed_names(self) -> set[str]:
        # computed only when a local is used with a timing (a scan of all names per parser is O(names))
        if self._timed_names is None:
            self._timed_names = {k for k, v in self.names.items() if v in ("var", "shock")}
        return self._timed_names

    def _local(self, name):
        t = self._local_trees.get(name)
        if t is None:
            v = self.locals[name]
            t = v if isinstance(v, tuple) else T.from_sympy(v)
            self._local_trees[name] = t
        return t

    # -- helpers
    def _err(self, msg: str, tok: Token, cls=ModelSyntaxError):
        raise cls(msg, self.file, tok.line, tok.col, tok.text if tok.kind != "EOF" else "end of expression")

    @property
    def cur(self) -> Token:
        return self.toks[self.pos]

    def _take(self) -> Token:
        t = self.toks[self.pos]
        self.pos += 1
        return t

    def _expect(self, text: str) -> Token:
        t = self.cur
        if t.kind == "OP" and t.text == text:
            return self._take()
        if text == ")" and self.opens:
            o = self.opens[-1]
            if t.kind == "EOF":
                raise ModelSyntaxError(f"unbalanced parentheses: '(' opened at column {o.col} is never closed",
                                       self.file, o.line, o.col, "(")
        self._err(f"expected {text!r}", t)

    # -- entry points
    def parse(self, text: str, line: int = 1, col: int = 1, equation: bool = False):
        """Parse ``text``; returns an expression, or ``(lhs, rhs|None)`` if ``equation``."""
        self.toks = tokenize(text, file=self.file, line=line, col=col)
        self.pos = 0
        self.opens = []
        if self.cur.kind == "EOF":
            self._err("empty expression", self.cur)
        lhs = self._expr()
        rhs = None
        if equation and self.cur.kind == "OP" and self.cur.text == "=":
            self._take()
            if self.cur.kind == "EOF":
                self._err("missing right-hand side after '='", self.cur)
            rhs = self._expr()
        t = self.cur
        if t.kind != "EOF":
            if t.kind == "OP" and t.text == ")":
                self._err("unbalanced parentheses: ')' without matching '('", t)
            if t.kind == "OP" and t.text == "=":
                self._err("unexpected '='" if not equation else "more than one '=' in an equation", t)
            self._err("unexpected token", t)
        return (lhs, rhs) if equation else lhs

    # -- grammar
    # token texts of the operators (NAME/NUM texts never equal them; EOF has the empty text)
    _ADD = frozenset(("+", "-"))
    _MUL = frozenset(("*", "/"))
    _POW = frozenset(("^", "**"))

    def _expr(self):
        # terms are collected and summed once: building a sum term by term is quadratic
        terms = [self._term()]
        toks, add_ops = self.toks, self._ADD
        while toks[self.pos].text in add_ops:
            op = toks[self.pos].text
            self.pos += 1
            r = self._term()
            terms.append(r if op == "+" else T.neg(r))
        return terms[0] if len(terms) == 1 else T.add(*terms)

    def _term(self):
        v = self._unary()
        factors = None
        toks, mul_ops = self.toks, self._MUL
        while toks[self.pos].text in mul_ops:
            op = toks[self.pos].text
            self.pos += 1
            r = self._unary()
            if op == "*":
                if factors is None:
                    factors = [v]
                factors.append(r)
            else:
                if factors is not None:
                    v = T.mul(*factors)
                    factors = None
                v = T.div(v, r)
        return v if factors is None else T.mul(*factors)

    def _unary(self):
        t = self.toks[self.pos]
        if t.text in self._ADD:
            self.pos += 1
            v = self._unary()
            return T.neg(v) if t.text == "-" else v
        return self._power()

    def _power(self):
        base = self._atom()
        if self.toks[self.pos].text in self._POW:
            self.pos += 1
            ex = self._unary()
            return T.pow_(base, ex)
        return base

    _INT = re.compile(r"\d+")

    def _number(self, t: Token):
        s = t.text
        if self._INT.fullmatch(s):
            return ("num", int(s))
        return ("num", float(s))

    def _atom(self):
        t = self.toks[self.pos]
        if t.kind == "NAME":
            nxt = self.toks[self.pos + 1]
            kind = self.names.get(t.text)
            if (kind == "param" or kind == "var" or kind == "shock") and nxt.text != "(":
                self.pos += 1           # the common case: a declared name without timing
                return ("sym", t.text, 0)
        if t.kind == "NUM":
            self._take()
            return self._number(t)
        if t.kind == "OP" and t.text == "(":
            self.opens.append(self._take())
            v = self._expr()
            self._expect(")")
            self.opens.pop()
            return v
        if t.kind == "NAME":
            self._take()
            name = t.text
            nxt = self.cur
            if name in FUNCTIONS and name not in self.names:
                if not (nxt.kind == "OP" and nxt.text == "("):
                    self._err(f"function {name!r} must be called with parentheses", t)
                self.opens.append(self._take())
                args = [self._expr()]
                while self.cur.kind == "OP" and self.cur.text == ",":
                    self._take()
                    args.append(self._expr())
                self._expect(")")
                self.opens.pop()
                try:
                    return FUNCTIONS[name](*args)
                except TypeError as exc:
                    self._err(f"function {name!r} {exc}", t)
            kind = self.names.get(name)
            if kind is None:
                if name.startswith("__") or name in ("lambda", "import", "eval", "exec", "open"):
                    self._err(f"name {name!r} is not allowed", t, UnknownNameError)
                if name == "STEADY_STATE" and nxt.kind == "OP" and nxt.text == "(" and self.allow_timing:
                    # Dynare's STEADY_STATE(expr): the steady-state value of expr (timing irrelevant)
                    self.opens.append(self._take())
                    inner = self._expr()
                    if self.cur.kind == "OP" and self.cur.text == ",":
                        self._err("STEADY_STATE(...) takes one argument", self.cur)
                    self._expect(")")
                    self.opens.pop()
                    inner = T._rebuild(inner, lambda s: ("sym", s[1], 0) if s[2] != 0 else None)
                    return T.fn(T.STEADY_STATE, inner)
                if name == "diff" and nxt.kind == "OP" and nxt.text == "(" and self.allow_timing:
                    # Dynare's diff(e) = e - e(-1): the expression minus its one-period lag
                    self.opens.append(self._take())
                    inner = self._expr()
                    if self.cur.kind == "OP" and self.cur.text == ",":
                        self._err("diff(...) takes one argument", self.cur)
                    self._expect(")")
                    self.opens.pop()
                    return T.sub(inner, T.shift(inner, -1, self.timed_names))
                if name in DYNARE_OPERATORS and nxt.kind == "OP" and nxt.text == "(":
                    self._err(f"Dynare's {name}(...) operator is not supported ({DYNARE_OPERATORS[name]})", t,
                              UnsupportedStatementError)
                self._err(f"unknown name {name!r}", t, UnknownNameError)
            lag = 0
            if nxt.kind == "OP" and nxt.text == "(":
                lag = self._timing(t)
            if kind in ("local", "const"):
                val = self._local(name)
                return T.shift(val, lag, self.timed_names) if lag else val
            if lag and kind not in ("var", "shock"):
                self._err(f"timing suffix on {kind} {name!r}", t)
            return ("sym", name, lag)
        if t.kind == "EOF":
            if self.opens:
                o = self.opens[-1]
                raise ModelSyntaxError(f"unbalanced parentheses: '(' opened at column {o.col} is never closed",
                                       self.file, o.line, o.col, "(")
            self._err("unexpected end of expression", t)
        if t.kind == "OP" and t.text == ")":
            self._err("unbalanced parentheses: ')' without matching '('" if not self.opens
                      else "unexpected ')'", t)
        self._err("unexpected token", t)

    def _timing(self, name_tok: Token) -> int:
        if not self.allow_timing:
            self._err("timing suffixes are only allowed in model equations (or unknown function)", name_tok)
        open_tok = self._take()  # '('
        sign = 1
        t = self.cur
        if t.kind == "OP" and t.text in ("+", "-"):
            sign = -1 if t.text == "-" else 1
            self._take()
            t = self.cur
        if t.kind != "NUM" or not re.fullmatch(r"\d+", t.text):
            self._err(f"a name followed by '(' must be a function or a variable with an integer "
                      f"timing like {name_tok.text}(+1)", t)
        self._take()
        if not (self.cur.kind == "OP" and self.cur.text == ")"):
            if self.cur.kind == "EOF":
                raise ModelSyntaxError(f"unbalanced parentheses: '(' opened at column {open_tok.col} is never "
                                       "closed", self.file, open_tok.line, open_tok.col, "(")
            self._err("expected ')' after timing", self.cur)
        self._take()
        return sign * int(t.text)


def parse_expr_tree(text: str, names: Mapping[str, str], locals: Mapping | None = None, *,
                    allow_timing: bool = False, file: str | None = None, line: int = 1, col: int = 1) -> tuple:
    """Parse one expression into an expression tree (see :class:`ExprParser`)."""
    return ExprParser(names, locals, allow_timing, file).parse(str(text), line, col)


def parse_equation_tree(text: str, names: Mapping[str, str], locals: Mapping | None = None, *,
                        file: str | None = None, line: int = 1, col: int = 1,
                        timed_names: set[str] | None = None) -> tuple:
    """Parse ``lhs = rhs`` (or a residual expression) into the tree of the residual ``lhs - rhs``."""
    lhs, rhs = ExprParser(names, locals, True, file, timed_names).parse(str(text), line, col, equation=True)
    return lhs if rhs is None else T.sub(lhs, rhs)


def parse_expr(text: str, names: Mapping[str, str], locals: Mapping | None = None, *,
               allow_timing: bool = False, file: str | None = None, line: int = 1, col: int = 1):
    """Parse one expression into a SymPy expression (see :class:`ExprParser`)."""
    return T.to_sympy(parse_expr_tree(text, names, locals, allow_timing=allow_timing, file=file, line=line,
                                      col=col))


def parse_equation(text: str, names: Mapping[str, str], locals: Mapping | None = None, *,
                   file: str | None = None, line: int = 1, col: int = 1):
    """Parse ``lhs = rhs`` (or a residual expression) into the SymPy residual ``lhs - rhs``."""
    return T.to_sympy(parse_equation_tree(text, names, locals, file=file, line=line, col=col))
