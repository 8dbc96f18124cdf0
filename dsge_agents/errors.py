"""Exception hierarchy shared by every layer.

Every error a user can provoke with bad input is a subclass of :class:`DSGEError`,
so the command line can print a one-line message instead of a traceback.
"""
from __future__ import annotations


class DSGEError(Exception):
    """Base class of all errors raised on purpose by dsge_agents."""


class ModelSyntaxError(DSGEError):
    """A model file could not be parsed; names file, line, column and token."""

    def __init__(self, msg: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, token: str | None = None):
        self.msg, self.file, self.line, self.column, self.token = msg, file, line, column, token
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        loc = ", ".join(where)
        tok = f" (token {token!r})" if token is not None else ""
        super().__init__(f"{loc}: {msg}{tok}" if loc else f"{msg}{tok}")


class UnsupportedStatementError(ModelSyntaxError):
    """A Dynare statement outside the supported subset."""


class UnknownNameError(ModelSyntaxError):
    """An expression uses a name that is not declared."""


class ModelStructureError(DSGEError):
    """The model is ill-formed (e.g. equation/variable count mismatch)."""


class SteadyStateError(DSGEError):
    """The steady state could not be found or does not solve the model."""


class SolutionError(DSGEError):
    """Base class of Blanchard-Kahn failures; carries eigenvalue counts."""

    def __init__(self, msg: str, n_explosive: int | None = None, n_forward: int | None = None,
                 eigenvalues=None):
        self.n_explosive, self.n_forward, self.eigenvalues = n_explosive, n_forward, eigenvalues
        super().__init__(msg)


class IndeterminacyError(SolutionError):
    """Fewer explosive eigenvalues than forward-looking variables."""


class NoStableSolutionError(SolutionError):
    """More explosive eigenvalues than forward-looking variables."""


class SingularPencilError(SolutionError):
    """The pencil (A, B) is singular: 0/0 generalized eigenvalues or rank failure."""


class DataError(DSGEError):
    """Bad estimation data (rows, columns, non-finite values)."""


class PriorError(DSGEError):
    """Bad prior specification or a value outside the prior's support."""


class TraceValidationError(DSGEError):
    """Trace input failed validation; names rows / span ids."""


class EconomyError(DSGEError):
    """Ill-formed agent economy (cyclic DAG, dangling agent, bad probabilities...)."""


class SLOInfeasibleError(EconomyError):
    """No latency price clears the market: demand exceeds what the SLO allows."""


class PolicyError(DSGEError):
    """Bad policy / what-if specification."""
