"""Subcommands of a line magic (`%iowarp put ...`), each parsed by its own argparse parser.

argparse prints and calls `sys.exit` on a mistake, which in a kernel is a
`SystemExit` traceback; `CmdParser` (jupysql's model) raises IPython's
`UsageError` instead, with the subcommand's usage line, and turns `-h` into
help text the magic returns. A subcommand is declared next to its handler
with `@subcommand(synopsis, summary, arg(...), ...)`, so its usage, its
one-line summary in `help` and its parser cannot drift apart.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, NoReturn, TypeVar

from IPython.core.error import UsageError

F = TypeVar("F", bound=Callable[..., Any])
Argument = tuple[tuple[str, ...], dict[str, Any]]

_SUMMARY_COLUMN = 35  # where `help` starts the summaries; a longer synopsis puts its summary below


class ShowHelp(Exception):
    """`-h` was given: the parser's help text, for the magic to return instead of printing and exiting."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class CmdParser(argparse.ArgumentParser):
    """An ArgumentParser that never exits the kernel: a mistake is a UsageError ending in the usage line."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: -"):
            message += f" (`{self.prog} -h` lists its options; a name that starts with '-' goes after `--`)"
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError((message or "").strip() or f"{self.prog}: stopped (status {status})")

    def print_help(self, file: IO[str] | None = None) -> NoReturn:
        raise ShowHelp(self.format_help())


def arg(*flags: str, **options: Any) -> Argument:
    """One `add_argument` call, written where the subcommand is declared."""
    return flags, options


@dataclass(frozen=True)
class Subcommand:
    """What a subcommand takes: `synopsis` is its usage after the magic's name, `summary` one line."""

    synopsis: str
    summary: str
    arguments: tuple[Argument, ...] = ()
    handler: str = ""  # the method that runs it

    @property
    def name(self) -> str:
        return self.synopsis.split()[0]

    def parser(self, magic: str) -> CmdParser:
        # argparse %-formats the usage (and help strings): the magic's own `%` goes in through prog
        usage = " ".join(["%(prog)s", *self.synopsis.split()[1:]])
        parser = CmdParser(prog=f"{magic} {self.name}", usage=usage, description=self.summary)
        for flags, options in self.arguments:
            parser.add_argument(*flags, **options)
        return parser


def subcommand(synopsis: str, summary: str, *arguments: Argument) -> Callable[[F], F]:
    """Declare the decorated method as the handler of a subcommand (see `collect`)."""

    def mark(method: F) -> F:
        method.subcommand = Subcommand(synopsis, summary, arguments, method.__name__)  # type: ignore[attr-defined]
        return method

    return mark


def collect(cls: type) -> dict[str, Subcommand]:
    """The subcommands a class declares, by name, in the order they are written."""
    found = [getattr(member, "subcommand", None) for member in vars(cls).values()]
    return {sub.name: sub for sub in found if isinstance(sub, Subcommand)}


def find(magic: str, subcommands: dict[str, Subcommand], name: str | None) -> Subcommand:
    """The subcommand called `name`, or a UsageError that lists them (and the closest one)."""
    names = ", ".join(subcommands)
    if name is None:
        raise UsageError(f"{magic} needs a subcommand: {names}\nusage: {magic} SUBCOMMAND [ARGS] "
                         f"(`{magic} help` shows each one's usage)")
    if name not in subcommands:
        close = difflib.get_close_matches(name, subcommands, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown {magic} subcommand {name!r}{guess}; one of: {names}\n"
                         f"usage: {magic} SUBCOMMAND [ARGS] (`{magic} help` shows each one's usage)")
    return subcommands[name]


def help_text(magic: str, subcommands: dict[str, Subcommand]) -> str:
    """One line per subcommand: its usage and its summary, in columns."""
    lines = []
    for sub in subcommands.values():
        usage = f"{magic} {sub.synopsis}"
        if len(usage) <= _SUMMARY_COLUMN - 2:
            lines.append(usage.ljust(_SUMMARY_COLUMN) + sub.summary)
        else:
            lines += [usage, " " * _SUMMARY_COLUMN + sub.summary]
    return "\n".join(lines)
