"""Which tag and blob names the two tiers can hold faithfully.

The IOWarp runtime keeps names as C strings: a NUL ends the name, so
`put("t", "b1\\x00x")` silently overwrote `b1` (whose checksum then failed
forever). Names also travel as UTF-8 (memcached keys are hashes of it, the
bridge speaks JSON), so a lone surrogate cannot be stored under its own name
either. Both are refused here, before any tier is touched.
"""

from __future__ import annotations

from ..core.errors import InvalidAction, InvalidName

_SHOWN = 60  # a 10,000-character name is shortened in messages


def shown(name: str) -> str:
    """`name` for a message: repr'd, and cut in the middle when long."""
    text = repr(name)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN // 2]}...{text[-_SHOWN // 2 :]} ({len(name)} chars)"


def check_name(name: object, what: str = "blob") -> str:
    """`name` itself if both tiers can hold it under exactly that name, else `InvalidName`."""
    if not isinstance(name, str):
        raise InvalidName(f"a {what} name must be text, not {type(name).__name__}")
    if not name:
        raise InvalidName(f"a {what} name must not be empty")
    if "\x00" in name:
        raise InvalidName(
            f"{what} name {shown(name)} contains a NUL character",
            hint="IOWarp ends names at NUL, so it would alias another name; remove the NUL",
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(
            f"{what} name {shown(name)} is not valid Unicode text (a lone surrogate)",
            hint="names are stored as UTF-8; decode file names with errors='replace' or rename",
        ) from None
    return name


def check_text(text: str, what: str) -> str:
    """Free text (a search prompt) must be encodable to reach the runtime, whatever tags exist."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidAction(f"the {what} {shown(text)} is not valid Unicode text (a lone surrogate)",
                            hint="retype it") from None
    return text


def check_names(names: list[str], what: str = "blob") -> list[str]:
    for name in names:
        check_name(name, what)
    return names
