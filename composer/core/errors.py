"""User-facing errors: one exception type that carries a location and a hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in the user's input, printed as ``path:line:col: message (hint) [check]``."""

    message: str
    path: str = ""
    line: int = 0  # 1-based; 0 = unknown
    col: int = 0  # 1-based; 0 = unknown
    hint: str = ""
    check: str = ""

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if self.check:
            text += f" [{self.check}]"
        return text

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.col,
            "message": self.message,
            "hint": self.hint,
            "check": self.check,
        }


class ComposerError(Exception):
    """Raised for bad input; carries one or more problems. Never a bug in composer itself."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def short(value: object, limit: int = 24) -> str:
    """A value as a message shows it: a long one cut in the middle, with its length."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:10]}…{text[-8:]} ({len(text)} characters)"


def fail(message: str, path: str = "", line: int = 0, col: int = 0, hint: str = "", check: str = "") -> ComposerError:
    """Build a single-problem error (``raise fail(...)``)."""
    return ComposerError(Problem(message, path, line, col, hint, check))
