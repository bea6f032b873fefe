"""Errors of the formula language: user-facing `FormulaError` and the internal `EvalError`."""
from __future__ import annotations


class FormulaError(Exception):
    """A problem with a formula, explained in plain words, with where it is in the text."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
        token: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.position = position
        self.line = line
        self.column = column
        self.token = token

    def __str__(self) -> str:
        return self.message

    @classmethod
    def at(
        cls, source: str, position: int | None, message: str, *, token: str | None = None,
        hint: str = "",
    ) -> FormulaError:
        """An error whose message ends with the line/column of `position` in `source`."""
        if position is None:
            return cls(message + hint, token=token)
        line = source.count("\n", 0, position) + 1
        column = position - (source.rfind("\n", 0, position) + 1) + 1
        where = f"line {line}, column {column}" if "\n" in source else f"column {column}"
        return cls(
            f"{message} at {where}{hint}",
            position=position, line=line, column=column, token=token,
        )


class FormulaLimitError(FormulaError):
    """The formula or its evaluation exceeded a size or work limit; never turned into blank."""


class EvalError(Exception):
    """A run-time error (division by zero, bad date, ...): the formula's result becomes blank."""
