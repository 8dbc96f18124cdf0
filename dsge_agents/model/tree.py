"""SymPy-free expression trees of model equations: build, substitute, differentiate, evaluate, print.

The safe parser (:mod:`dsge_agents.model.expr`) produces these trees; SymPy
expressions are derived from them only on demand (:func:`to_sympy`), so that
loading a cached model, and parsing, differentiating and generating code for a
large model, cost time linear in the size of the model text.

A tree is a nested tuple (hashable, picklable, cheap to build):

=====================  =====================================================
``("num", v)``          number, ``v`` an ``int`` or a ``float``
``("rat", p, q)``       exact rational p/q (q > 1, reduced)
``("const", "pi")``     π
``("sym", name, lag)``  a name at a timing (parameters have lag 0)
``("add", args)``       n-ary sum (``args`` a tuple of trees)
``("mul", args)``       n-ary product
``("neg", a)``          −a
``("div", a, b)``       a / b
``("pow", a, b)``       a ** b
``("fn", name, args)``  one of :data:`FUNCTION_NAMES` (plus ``heaviside``, the strict step 1 if x > 0 else 0,
                        produced by differentiating min/max)
=====================  =====================================================

The constructors (:func:`add`, :func:`mul`, ...) flatten nested sums/products
and fold numeric constants (so ``0*x`` vanishes, as in SymPy).

Differentiation (:func:`gradient`) is symbolic reverse-mode accumulation
(Griewank & Walther, *Evaluating Derivatives*, 2nd ed., SIAM 2008, ch. 3): one
pass over the tree propagates the adjoint of every node to its children with the
chain rule, and the derivative with respect to a symbol is the sum of the
adjoints reaching its leaves. Its cost is linear in the size of the tree (times
the number of arguments of the widest product), whatever the number of symbols —
unlike differentiating the whole expression once per symbol.
"""
from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["FUNCTION_NAMES", "num", "sym", "add", "mul", "neg", "sub", "div", "pow_", "fn", "ZERO", "ONE",
           "symbols", "subs", "shift", "evaluate", "gradient", "to_sympy", "from_sympy", "canonical",
           "ScalarPrinter", "VectorPrinter", "is_number", "number_value"]

#: functions of the model language (arity checked by the parser)
FUNCTION_NAMES = {"exp": 1, "log": 1, "ln": 1, "log10": 1, "sqrt": 1, "abs": 1, "sign": 1, "min": 2, "max": 2,
                  "normcdf": (1, 3), "normpdf": (1, 3), "erf": 1, "sin": 1, "cos": 1, "tan": 1, "atan": 1,
                  "tanh": 1, "asin": 1, "acos": 1, "cbrt": 1}
#: Dynare's STEADY_STATE(expr) operator: not callable as a function name by the parser (it has its own
#: branch, timing stripped), represented as ("fn", "STEADY_STATE", (expr,)): the value of expr at the
#: steady state, a constant for the dynamic model (derivative 0) and expr itself in the static model
STEADY_STATE = "STEADY_STATE"

ZERO = ("num", 0)
ONE = ("num", 1)
MINUS_ONE = ("num", -1)
_NUMERIC = ("num", "rat")


# --------------------------------------------------------------------------- constructors
def _mk(v):
    """Tree of a Python number (int, Fraction or float)."""
    if isinstance(v, Fraction):
        return ("num", v.numerator) if v.denominator == 1 else ("rat", v.numerator, v.denominator)
    return ("num", v)


def number_value(t):
    """Value of a numeric leaf as int, Fraction or float (None when ``t`` is not a number)."""
    k = t[0]
    if k == "num":
        return t[1]
    if k == "rat":
        return Fraction(t[1], t[2])
    return None


def is_number(t) -> bool:
    return t[0] in _NUMERIC


def num(v):
    if isinstance(v, bool):
        v = int(v)
    return _mk(v)


def sym(name: str, lag: int = 0):
    return ("sym", name, int(lag))


def add(*args):
    out = []
    c = 0
    for a in args:
        k = a[0]
        if k == "add":
            for b in a[1]:
                if b[0] in _NUMERIC:
                    c = c + number_value(b)
                else:
                    out.append(b)
        elif k in _NUMERIC:
            c = c + number_value(a)
        else:
            out.append(a)
    if c != 0 or (isinstance(c, float) and c != c):
        out.append(_mk(c))
    if not out:
        return ZERO if not isinstance(c, float) else ("num", 0.0) if c == 0 else _mk(c)
    if len(out) == 1:
        return out[0]
    return ("add", tuple(out))


def mul(*args):
    out = []
    c = 1
    for a in args:
        k = a[0]
        if k == "mul":
            for b in a[1]:
                if b[0] in _NUMERIC:
                    c = c * number_value(b)
                else:
                    out.append(b)
        elif k in _NUMERIC:
            c = c * number_value(a)
        elif k == "neg":
            c = -c
            inner = a[1]
            if inner[0] == "mul":
                for b in inner[1]:
                    if b[0] in _NUMERIC:
                        c = c * number_value(b)
                    else:
                        out.append(b)
            else:
                out.append(inner)
        else:
            out.append(a)
    if c == 0 and not (isinstance(c, float) and c != c):
        return ZERO
    if not out:
        return _mk(c)
    body = out[0] if len(out) == 1 else ("mul", tuple(out))
    if c == 1 and not isinstance(c, float):
        return body
    if c == -1 and not isinstance(c, float):
        return ("neg", body)
    if len(out) == 1:
        return ("mul", (_mk(c), out[0]))
    return ("mul", (_mk(c),) + tuple(out))


def neg(a):
    k = a[0]
    if k in _NUMERIC:
        return _mk(-number_value(a))
    if k == "neg":
        return a[1]
    if k == "mul" and a[1][0][0] in _NUMERIC:
        return mul(_mk(-number_value(a[1][0])), *a[1][1:])
    return ("neg", a)


def sub(a, b):
    return add(a, neg(b))


def div(a, b):
    if b[0] in _NUMERIC:
        vb = number_value(b)
        if vb == 1:
            return a
        if a[0] in _NUMERIC and vb != 0:
            va = number_value(a)
            if isinstance(va, (int, Fraction)) and isinstance(vb, (int, Fraction)):
                return _mk(Fraction(va) / Fraction(vb))
            return _mk(va / vb)
    if a == ZERO:
        return ZERO
    return ("div", a, b)


def pow_(a, b):
    if b[0] in _NUMERIC:
        vb = number_value(b)
        if vb == 1:
            return a
        if vb == 0 and not isinstance(vb, float):
            return ONE
        if a[0] in _NUMERIC:
            va = number_value(a)
            if isinstance(va, int) and isinstance(vb, int) and abs(vb) <= 64 and va != 0:
                return _mk(Fraction(va) ** vb)
            if isinstance(va, float) or isinstance(vb, float):
                try:
                    r = float(va) ** float(vb)
                except (OverflowError, ZeroDivisionError):
                    return ("pow", a, b)
                if isinstance(r, float):
                    return ("num", r)
    return ("pow", a, b)


def fn(name: str, *args):
    if name == "ln":
        name = "log"
    if name in ("normcdf", "normpdf") and len(args) == 3:
        x, m, s = args
        z = div(sub(x, m), s)
        return fn("normcdf", z) if name == "normcdf" else div(fn("normpdf", z), s)
    return ("fn", name, tuple(args))


# --------------------------------------------------------------------------- traversal
def symbols(t, out: set | None = None) -> set:
    """Set of ``(name, lag)`` of the symbols in ``t``."""
    out = set() if out is None else out
    stack = [t]
    pop, push, ext = stack.pop, stack.append, stack.extend
    while stack:
        n = pop()
        k = n[0]
        if k == "sym":
            out.add((n[1], n[2]))
        elif k == "add" or k == "mul":
            ext(n[1])
        elif k == "fn":
            ext(n[2])
        elif k == "neg":
            push(n[1])
        elif k == "div" or k == "pow":
            push(n[1])
            push(n[2])
    return out


def nodes(t):
    """Every node of ``t`` (depth first, a node before its arguments); :func:`symbols` is the
    specialised walk for the symbols alone, which model building calls often."""
    stack = [t]
    while stack:
        n = stack.pop()
        yield n
        k = n[0]
        if k == "add" or k == "mul":
            stack.extend(n[1])
        elif k == "fn":
            stack.extend(n[2])
        elif k == "neg":
            stack.append(n[1])
        elif k == "div" or k == "pow":
            stack.extend((n[1], n[2]))


def _rebuild(t, f):
    """Apply ``f`` to every symbol leaf (returns a tree or None for 'unchanged'); rebuild with folding."""
    k = t[0]
    if k == "sym":
        r = f(t)
        return t if r is None else r
    if k in ("num", "rat", "const"):
        return t
    if k == "add" or k == "mul":
        args = t[1]
        new = [_rebuild(a, f) for a in args]
        if all(x is y for x, y in zip(new, args)):
            return t
        return add(*new) if k == "add" else mul(*new)
    if k == "neg":
        a = _rebuild(t[1], f)
        return t if a is t[1] else neg(a)
    if k == "div" or k == "pow":
        a, b = _rebuild(t[1], f), _rebuild(t[2], f)
        if a is t[1] and b is t[2]:
            return t
        return div(a, b) if k == "div" else pow_(a, b)
    if k == "fn":
        args = t[2]
        new = [_rebuild(a, f) for a in args]
        if all(x is y for x, y in zip(new, args)):
            return t
        return ("fn", t[1], tuple(new))
    raise ValueError(f"not an expression tree: {t!r}")


def subs(t, mapping: dict):
    """Replace symbols: ``mapping`` maps ``(name, lag)`` to a tree."""
    if not mapping:
        return t
    get = mapping.get
    return _rebuild(t, lambda s: get((s[1], s[2])))


def shift(t, k: int, names) -> tuple:
    """Shift every symbol whose name is in ``names`` by ``k`` periods."""
    if k == 0:
        return t
    return _rebuild(t, lambda s: ("sym", s[1], s[2] + k) if s[1] in names else None)


def canonical(t) -> str:
    """Stable text of a tree (for hashing): ``repr`` (floats print exactly)."""
    return repr(t)


# --------------------------------------------------------------------------- numeric evaluation
def _normcdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _normpdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _sign(x):
    return 0.0 if x == 0 else math.copysign(1.0, x)


def _heaviside(x):
    # the strict step H(x) = (x > 0), H(0) = 0, of min/max derivatives: at a tie the first
    # argument gets (a > b) = 0 and the second 1 - 0, as Dynare 5.3's generated dynamic_g1.m
    # (tests/data/dynare/lang_kinks.json, qa_kinks.json)
    return 1.0 if x > 0 else 0.0


_PYFUN = {"exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt, "abs": abs, "sign": _sign,
          "min": min, "max": max, "erf": math.erf, "sin": math.sin, "cos": math.cos, "tan": math.tan,
          "atan": math.atan, "tanh": math.tanh, "asin": math.asin, "acos": math.acos, "cbrt": math.cbrt,
          "normcdf": _normcdf, "normpdf": _normpdf,
          "heaviside": _heaviside, "STEADY_STATE": lambda x: x}


def evaluate(t, env) -> float:
    """Numeric value of ``t``; ``env`` maps ``(name, lag)`` (or, for lag 0, ``name``) to a number.

    Raises ``KeyError`` for a symbol without a value and the usual ``ValueError`` /
    ``ZeroDivisionError`` / ``OverflowError`` of :mod:`math` for undefined operations.
    """
    k = t[0]
    if k == "num":
        return float(t[1])
    if k == "sym":
        key = (t[1], t[2])
        if key in env:
            return float(env[key])
        if t[2] == 0:
            return float(env[t[1]])
        raise KeyError(t[1])
    if k == "add":
        return math.fsum(evaluate(a, env) for a in t[1])
    if k == "mul":
        r = 1.0
        for a in t[1]:
            r *= evaluate(a, env)
        return r
    if k == "neg":
        return -evaluate(t[1], env)
    if k == "div":
        return evaluate(t[1], env) / evaluate(t[2], env)
    if k == "pow":
        a, b = evaluate(t[1], env), evaluate(t[2], env)
        r = a ** b
        if isinstance(r, complex):
            raise ValueError("negative number to a fractional power")
        return r
    if k == "fn":
        return float(_PYFUN[t[1]](*(evaluate(a, env) for a in t[2])))
    if k == "rat":
        return t[1] / t[2]
    if k == "const":
        return math.pi
    raise ValueError(f"not an expression tree: {t!r}")


# --------------------------------------------------------------------------- differentiation
def _dfn(name, args, t):
    """Partial derivatives of ``fn name(args)`` (``t`` the node itself) w.r.t. each argument."""
    a = args[0]
    if name == "exp":
        return [t]
    if name == "log":
        return [div(ONE, a)]
    if name == "log10":
        return [div(ONE, mul(a, fn("log", ("num", 10))))]
    if name == "sqrt":
        return [div(ONE, mul(("num", 2), t))]
    if name == "abs":
        return [fn("sign", a)]
    if name in ("sign", "heaviside", "STEADY_STATE"):
        return [ZERO]
    if name == "erf":
        return [mul(div(("num", 2), fn("sqrt", ("const", "pi"))), fn("exp", neg(pow_(a, ("num", 2)))))]
    if name == "sin":
        return [fn("cos", a)]
    if name == "cos":
        return [neg(fn("sin", a))]
    if name == "tan":
        return [add(ONE, pow_(t, ("num", 2)))]
    if name == "atan":
        return [div(ONE, add(ONE, pow_(a, ("num", 2))))]
    if name == "tanh":
        return [sub(ONE, pow_(t, ("num", 2)))]
    if name == "cbrt":       # real cube root (negative arguments too): d cbrt(a) = 1 / (3 cbrt(a)^2)
        return [div(ONE, mul(("num", 3), pow_(t, ("num", 2))))]
    if name == "asin":       # d asin(a) = 1 / sqrt(1 - a^2)
        return [div(ONE, fn("sqrt", sub(ONE, pow_(a, ("num", 2)))))]
    if name == "acos":       # d acos(a) = -1 / sqrt(1 - a^2)
        return [neg(div(ONE, fn("sqrt", sub(ONE, pow_(a, ("num", 2))))))]
    if name == "normcdf":
        return [fn("normpdf", a)]
    if name == "normpdf":
        return [neg(mul(a, t))]
    if name in ("min", "max"):
        b = args[1]
        # as Dynare 5.3 (its generated dynamic_g1.m): d max(a, b) = (a > b) da + (1 - (a > b)) db,
        # d min(a, b) = (b > a) da + (1 - (b > a)) db, with H(x) = (x > 0): at a tie the whole
        # derivative goes to the second argument (tests/data/dynare/lang_kinks.json)
        h = fn("heaviside", sub(b, a) if name == "min" else sub(a, b))
        return [h, sub(ONE, h)]
    raise ValueError(f"no derivative rule for function {name!r}")


def _leaf_const(t) -> bool:
    return t[0] in ("num", "rat", "const")


def gradient(t, targets) -> dict:
    """Derivatives of ``t`` with respect to every symbol ``(name, lag)`` whose name is in ``targets``.

    Returns ``{(name, lag): tree}`` without identically-zero entries (symbolic reverse
    mode, see the module docstring).
    """
    contrib: dict = {}

    def walk(n, adj):
        k = n[0]
        if k == "sym":
            if n[1] in targets:
                contrib.setdefault((n[1], n[2]), []).append(adj)
        elif k == "add":
            for a in n[1]:
                if not _leaf_const(a):
                    walk(a, adj)
        elif k == "mul":
            args = n[1]
            for i, a in enumerate(args):
                if not _leaf_const(a):
                    walk(a, mul(adj, *args[:i], *args[i + 1:]))
        elif k == "neg":
            walk(n[1], neg(adj))
        elif k == "div":
            a, b = n[1], n[2]
            if not _leaf_const(a):
                walk(a, div(adj, b))
            if not _leaf_const(b):
                walk(b, neg(div(mul(adj, a), pow_(b, ("num", 2)))))
        elif k == "pow":
            a, b = n[1], n[2]
            if not _leaf_const(a):
                if b[0] in _NUMERIC:
                    walk(a, mul(adj, b, pow_(a, _mk(number_value(b) - 1))))
                else:
                    walk(a, mul(adj, b, pow_(a, sub(b, ONE))))
            if not _leaf_const(b):
                walk(b, mul(adj, n, fn("log", a)))
        elif k == "fn":
            args = n[2]
            if all(_leaf_const(a) for a in args):
                return
            ds = _dfn(n[1], args, n)
            for a, d in zip(args, ds):
                if not _leaf_const(a) and d != ZERO:
                    walk(a, mul(adj, d))

    walk(t, ONE)
    out = {}
    for s, lst in contrib.items():
        d = add(*lst)
        if d != ZERO and not (d[0] == "num" and d[1] == 0):
            out[s] = d
    return out


# --------------------------------------------------------------------------- SymPy bridge
def to_sympy(t, _memo=None):
    """SymPy expression of a tree (imports SymPy)."""
    import sympy as sp
    from dsge_agents.model.expr import tsym
    return _to_sp(t, sp, tsym)


def _to_sp(t, sp, tsym):
    k = t[0]
    if k == "num":
        v = t[1]
        return sp.Integer(v) if isinstance(v, int) else sp.Float(v)
    if k == "sym":
        return tsym(t[1], t[2])
    if k == "add":
        return sp.Add(*[_to_sp(a, sp, tsym) for a in t[1]])
    if k == "mul":
        return sp.Mul(*[_to_sp(a, sp, tsym) for a in t[1]])
    if k == "neg":
        return -_to_sp(t[1], sp, tsym)
    if k == "div":
        return _to_sp(t[1], sp, tsym) / _to_sp(t[2], sp, tsym)
    if k == "pow":
        return sp.Pow(_to_sp(t[1], sp, tsym), _to_sp(t[2], sp, tsym))
    if k == "rat":
        return sp.Rational(t[1], t[2])
    if k == "const":
        return sp.pi
    if k == "fn":
        args = [_to_sp(a, sp, tsym) for a in t[2]]
        name = t[1]
        if name == "normcdf":
            return (1 + sp.erf(args[0] / sp.sqrt(2))) / 2
        if name == "normpdf":
            return sp.exp(-args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi)
        if name == "log10":
            return sp.log(args[0]) / sp.log(10)
        if name == "sqrt":
            return sp.sqrt(args[0])
        if name in ("min", "max"):
            dmin, dmax = sympy_min_max()
            return (dmin if name == "min" else dmax)(*args)
        if name == "heaviside":
            return sp.Heaviside(args[0], 0)          # H(0) = 0 (see _heaviside)
        if name == STEADY_STATE:
            return sympy_steady_state()(args[0])
        if name == "cbrt":
            return sympy_cbrt()(args[0])
        f = {"exp": sp.exp, "log": sp.log, "abs": sp.Abs, "sign": sp.sign,
             "erf": sp.erf, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "atan": sp.atan, "tanh": sp.tanh,
             "asin": sp.asin, "acos": sp.acos}[name]
        return f(*args)
    raise ValueError(f"not an expression tree: {t!r}")


_SP_MIN_MAX = None


def sympy_min_max():
    """SymPy functions ``(DynMin, DynMax)`` for the model language's two-argument ``min``/``max``.

    SymPy's own ``Min``/``Max`` sort their arguments (even with ``evaluate=False``) and may rewrite
    ``Max(x, -x)`` as ``Abs(x)``; the written order matters at a tie, where Dynare 5.3 differentiates
    ``max(a, b)`` as ``(a > b) da + (1 - (a > b)) db`` and ``min(a, b)`` as
    ``(b > a) da + (1 - (b > a)) db``. These keep the order, evaluate only numbers, and carry that
    derivative (``Heaviside(x, 0)``: H(0) = 0)."""
    global _SP_MIN_MAX
    if _SP_MIN_MAX is None:
        import sympy as sp

        class _DynExtremum(sp.Function):
            """Two-argument max / min in written order: a where ``_gap(a, b) >= 0`` (max: a - b,
            min: b - a), else b; derivative H(gap) da + (1 - H(gap)) db with H(0) = 0."""
            nargs = 2
            _word = ""

            @staticmethod
            def _gap(a, b):
                raise NotImplementedError

            def _sympystr(self, printer):      # str(): the model language's max(a, b) / min(a, b)
                return f"{self._word}({printer._print(self.args[0])}, {printer._print(self.args[1])})"

            @classmethod
            def eval(cls, a, b):
                if a.is_number and b.is_number and a.is_comparable and b.is_comparable:
                    return a if bool(cls._gap(a, b) >= 0) else b
                return None

            def fdiff(self, argindex=1):
                h = sp.Heaviside(self._gap(*self.args), 0)
                return h if argindex == 1 else 1 - h

        class DynMax(_DynExtremum):
            _word = "max"
            _gap = staticmethod(lambda a, b: a - b)

        class DynMin(_DynExtremum):
            _word = "min"
            _gap = staticmethod(lambda a, b: b - a)

        _SP_MIN_MAX = (DynMin, DynMax)
    return _SP_MIN_MAX


_SP_CBRT = None


def sympy_cbrt():
    """SymPy function for the real cube root ``cbrt(x)`` (Dynare's, MATLAB's ``nthroot(x, 3)``: negative
    for negative x, where SymPy's ``cbrt`` is the principal complex root); derivative 1/(3 cbrt(x)^2)."""
    global _SP_CBRT
    if _SP_CBRT is None:
        import sympy as sp

        class Cbrt(sp.Function):
            nargs = 1

            def _sympystr(self, printer):
                return f"cbrt({printer._print(self.args[0])})"

            @classmethod
            def eval(cls, x):
                if x.is_number and x.is_real and x.is_comparable:
                    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)
                return None

            def fdiff(self, argindex=1):
                return 1 / (3 * self ** 2)

        _SP_CBRT = Cbrt
    return _SP_CBRT


_SP_STEADY_STATE = None


def sympy_steady_state():
    """SymPy function for Dynare's ``STEADY_STATE(x)``: derivative 0 (a constant of the dynamic model);
    the code printers write its argument (every symbol is at the steady state where it is evaluated)."""
    global _SP_STEADY_STATE
    if _SP_STEADY_STATE is None:
        import sympy as sp

        class SteadyStateOp(sp.Function):
            nargs = 1

            def _sympystr(self, printer):
                return f"STEADY_STATE({printer._print(self.args[0])})"

            def fdiff(self, argindex=1):
                return sp.S.Zero

        _SP_STEADY_STATE = SteadyStateOp
    return _SP_STEADY_STATE


def from_sympy(e):
    """Tree of a SymPy expression (the functions of the model language only)."""
    import sympy as sp
    from dsge_agents.model.expr import split_tsym
    return _from_sp(sp.sympify(e), sp, split_tsym)


def _from_sp(e, sp, split_tsym):
    if e.is_Symbol:
        n, k = split_tsym(e.name)
        return ("sym", n, k)
    if e.is_Integer:
        return ("num", int(e))
    if e.is_Rational:
        return ("rat", int(e.p), int(e.q))
    if e.is_Float:
        return ("num", float(e))
    if e is sp.pi:
        return ("const", "pi")
    if e is sp.E:
        return ("fn", "exp", (ONE,))
    if e is sp.oo:
        return ("num", math.inf)
    if e is sp.S.NegativeInfinity:
        return ("num", -math.inf)
    if e is sp.nan:
        return ("num", math.nan)
    if e.is_Add:
        return add(*[_from_sp(a, sp, split_tsym) for a in e.args])
    if e.is_Mul:
        return mul(*[_from_sp(a, sp, split_tsym) for a in e.args])
    if e.is_Pow:
        return pow_(_from_sp(e.args[0], sp, split_tsym), _from_sp(e.args[1], sp, split_tsym))
    names = {sp.exp: "exp", sp.log: "log", sp.Abs: "abs", sp.sign: "sign", sp.erf: "erf", sp.sin: "sin",
             sp.cos: "cos", sp.tan: "tan", sp.atan: "atan", sp.tanh: "tanh", sp.Heaviside: "heaviside",
             sp.asin: "asin", sp.acos: "acos"}
    f = names.get(e.func)
    if f is not None:
        return ("fn", f, (_from_sp(e.args[0], sp, split_tsym),))
    if e.func is sympy_cbrt():
        return ("fn", "cbrt", (_from_sp(e.args[0], sp, split_tsym),))
    if e.func is sympy_steady_state():
        return ("fn", STEADY_STATE, (_from_sp(e.args[0], sp, split_tsym),))
    dmin, dmax = sympy_min_max()
    if e.func in (dmin, dmax):
        return ("fn", "min" if e.func is dmin else "max",
                tuple(_from_sp(a, sp, split_tsym) for a in e.args))
    if e.func in (sp.Min, sp.Max):
        args = [_from_sp(a, sp, split_tsym) for a in e.args]
        name = "min" if e.func is sp.Min else "max"
        r = args[0]
        for a in args[1:]:
            r = ("fn", name, (r, a))
        return r
    raise ValueError(f"cannot convert {e.func.__name__} to an expression tree")


# --------------------------------------------------------------------------- printing
class ScalarPrinter:
    """Python source of a tree with :mod:`math` (scalar code). ``names`` maps ``(name, lag)`` to identifiers."""

    FUN = {"exp": "math.exp", "log": "math.log", "log10": "math.log10", "sqrt": "math.sqrt", "abs": "abs",
           "erf": "math.erf", "sin": "math.sin", "cos": "math.cos", "tan": "math.tan", "atan": "math.atan",
           "tanh": "math.tanh", "asin": "math.asin", "acos": "math.acos", "cbrt": "np.cbrt", "min": "min", "max": "max"}

    def __init__(self, names):
        self.names = names

    def sym(self, t):
        return self.names[(t[1], t[2])]

    def num(self, v):
        x = float(v)
        return repr(x) if math.isfinite(x) else f"float('{x!r}')"

    def __call__(self, t) -> str:
        return self.p(t)

    def p(self, t) -> str:
        k = t[0]
        if k == "num":
            return self.num(t[1])
        if k == "sym":
            return self.sym(t)
        if k == "add":
            if len(t[1]) > 64:   # a long chain of binary '+' nests deeply in Python's compiler
                return "sum((" + ", ".join(self.p(a) for a in t[1]) + ",))"
            return "(" + " + ".join(self.p(a) for a in t[1]) + ")"
        if k == "mul":
            if len(t[1]) > 64:
                return "math.prod((" + ", ".join(self.p(a) for a in t[1]) + ",))"
            return "(" + "*".join(self.p(a) for a in t[1]) + ")"
        if k == "neg":
            return "(-" + self.p(t[1]) + ")"
        if k == "div":
            return "(" + self.p(t[1]) + "/" + self.p(t[2]) + ")"
        if k == "pow":
            return self.power(t[1], t[2])
        if k == "rat":
            return f"({float(t[1])!r}/{float(t[2])!r})"
        if k == "const":
            return "math.pi"
        if k == "fn":
            return self.func(t[1], [self.p(a) for a in t[2]])
        raise ValueError(f"not an expression tree: {t!r}")

    def power(self, a, b):
        if b[0] == "num" and b[1] == 2:
            x = self.p(a)
            return f"({x}*{x})" if a[0] == "sym" else f"({x}**2)"
        return f"({self.p(a)}**{self.p(b)})"

    def func(self, name, args):
        if name == STEADY_STATE:      # evaluated where every symbol is at the steady state
            return f"({args[0]})"
        if name == "sign":
            return f"(0.0 if {args[0]} == 0.0 else math.copysign(1.0, {args[0]}))"
        if name == "heaviside":
            return f"(1.0 if {args[0]} > 0.0 else 0.0)"
        if name == "normcdf":
            return f"(0.5*(1.0 + math.erf({args[0]}/1.4142135623730951)))"
        if name == "normpdf":
            return f"(math.exp(-0.5*{args[0]}**2)/2.5066282746310002)"
        return f"{self.FUN[name]}({', '.join(args)})"


class VectorPrinter(ScalarPrinter):
    """NumPy source of a tree: every symbol is an array (vectorized over equations of one shape)."""

    FUN = {"exp": "np.exp", "log": "np.log", "log10": "np.log10", "sqrt": "np.sqrt", "abs": "np.abs",
           "erf": "_erf", "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "atan": "np.arctan",
           "tanh": "np.tanh", "asin": "np.arcsin", "acos": "np.arccos", "cbrt": "np.cbrt", "min": "np.minimum",
           "max": "np.maximum"}

    def __init__(self, slot_name):
        self.slot_name = slot_name

    def sym(self, t):
        return self.slot_name(t)

    def power(self, a, b):
        return f"({self.p(a)}**{self.p(b)})"

    def func(self, name, args):
        if name == STEADY_STATE:      # evaluated where every symbol is at the steady state
            return f"({args[0]})"
        if name == "sign":
            return f"np.sign({args[0]})"
        if name == "heaviside":
            return f"np.heaviside({args[0]}, 0.0)"
        if name == "normcdf":
            return f"(0.5*(1.0 + _erf({args[0]}/1.4142135623730951)))"
        if name == "normpdf":
            return f"(np.exp(-0.5*{args[0]}**2)/2.5066282746310002)"
        if name == "const":
            return "np.pi"
        return f"{self.FUN[name]}({', '.join(args)})"

    def p(self, t) -> str:
        if t[0] == "const":
            return "np.pi"
        return super().p(t)
