"""Errors a user can fix: each renders as one line naming the file, the field path, the value and
what is allowed. The command line prints them without a traceback and exits with status 2."""

from __future__ import annotations

from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOTHING_FITS = 0, 1, 2, 3
"""Exit status of every command: success; a regression, a failed run or check; bad input; a calibration that
kept nothing (no point of the parameter space is compatible with the observations: `resilience calibrate` says
which observations are in conflict and which parameters are pinned at a bound)."""


class BadInput(Exception):
    """A command-line problem that is the user's to fix (exit 2)."""


def short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(Exception):
    """A bad configuration: one or more one-line problems."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    @classmethod
    def at(cls, file: str, path: str, value: Any, allowed: str) -> ConfigError:
        return cls([problem_line(file, path, value, allowed)])


def problem_line(file: str, path: str, value: Any, allowed: str) -> str:
    where = f"{file}: {path}" if path else file
    return f"{where}: {short_repr(value)}: {allowed}"


class ConservationError(AssertionError):
    """The run lost or created masks or material: a model bug, never a user error."""


class ResultsError(Exception):
    """A results file that cannot be read (truncated, corrupted, not ours): one line naming the file and
    what to do. The command line exits with status 2: it is a problem with the input folder."""
