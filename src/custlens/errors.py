"""User-facing errors: each says what was wrong, where, and what to do."""

from __future__ import annotations


class CustlensError(Exception):
    """An error caused by input or settings; the CLI prints it without a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  hint: {self.hint}" if self.hint else base
