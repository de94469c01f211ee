"""The small language of a magic line: `{name}` filling, `VAR <<`, options before a command.

Pure functions of text (no shell, no session), shared by `%agent` and
`%iowarp` and tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# `{{name}}` is the escape for a literal `{name}`; anything else in braces that is
# not a plain identifier (`{a b}`, `{}`, `{x[0]}`) is never touched.
_BRACES = re.compile(r"\{\{(" + IDENT + r")\}\}|\{(" + IDENT + r")\}")
_ASSIGN = re.compile(r"^\s*(" + IDENT + r")\s*<<\s*")
#: a whole argument that names one variable, `{grid}`: its object is used, not its text
ONE_VAR = re.compile(r"^\{(" + IDENT + r")\}$")

# options of %agent / %%agent that take a value (the others are flags)
_VALUE_OPTIONS = {"--backend", "--agent", "-o", "--out"}


def is_identifier(name: str) -> bool:
    return re.fullmatch(IDENT, name) is not None


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill `{name}` from the namespace; unknown names and other braces stay as they are."""

    def fill(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped is not None:
            return "{" + escaped + "}"
        return str(namespace[name]) if name in namespace else match.group(0)

    return _BRACES.sub(fill, text)


def split_assignment(line: str) -> tuple[str | None, str]:
    """`VAR << rest` -> ("VAR", "rest") (jupysql's form); anything else -> (None, line)."""
    match = _ASSIGN.match(line)
    if not match:
        return None, line
    return match.group(1), line[match.end():]


def split_options(line: str) -> tuple[str, str]:
    """Leading options of `%agent` and the command after them, which is kept verbatim."""
    pos = 0
    expect_value = False
    for match in re.finditer(r"\S+", line):
        token = match.group(0)
        if expect_value:
            expect_value = False
        elif token == "--":
            return line[: match.start()], line[match.end():].strip()
        elif token.startswith("-"):
            name = token.split("=", 1)[0]
            expect_value = name in _VALUE_OPTIONS and "=" not in token
        else:
            return line[: match.start()], line[match.start():].strip()
        pos = match.end()
    return line[:pos], line[pos:].strip()


def cell_commands(cell: str) -> list[str]:
    """One command per line; blank lines and `#` comments are skipped."""
    return [s for s in (raw.strip() for raw in cell.splitlines()) if s and not s.startswith("#")]


# -- `VAR << %%agent` -------------------------------------------------------------------
_CELL_ASSIGN = re.compile(r"^(\s*)(" + IDENT + r")\s*<<\s*%%agent(\b.*)$", re.DOTALL)
_LINE_ASSIGN = re.compile(r"^(\s*)(" + IDENT + r")\s*<<\s*%agent(\b.*)$", re.DOTALL)


def assignment_transform(lines: list[str]) -> list[str]:
    """Input transformer: `VAR << %%agent ...` -> `%%agent VAR << ...` (and the same for %agent).

    Python would read `VAR << %%agent` as a shift; jupysql users write it anyway,
    so it is rewritten before IPython looks for magics.
    """
    if not lines:
        return lines
    first = _CELL_ASSIGN.match(lines[0])
    if first:
        return [f"%%agent {first.group(2)} <<{first.group(3)}", *lines[1:]]
    if lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own language
    out = []
    for line in lines:
        match = _LINE_ASSIGN.match(line)
        out.append(f"{match.group(1)}%agent {match.group(2)} <<{match.group(3)}" if match else line)
    return out
