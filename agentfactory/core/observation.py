"""What a step returns to the agent and the user: a pydantic model at the boundary."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# a quoted name in a message: 'x' or "x" (repr() picks either), escapes included
# and only where a name can start and end, so prose between two names is never taken for one
_QUOTED = (r"""(?:(?<=[\s(\[{,:=])|^)(?:'((?:[^'\\]|\\.){%d,})'|"((?:[^"\\]|\\.){%d,})")"""
           r"""(?=[\s)\]},.;:!?]|$)""")
NAME_CHARS = 60

#: Stored bytes + blob metadata -> the value a user stored (array, str or bytes).
ValueDecoder = Callable[[builtins.bytes | None, dict[str, Any] | None], Any]
_value_decoder: ValueDecoder | None = None


def register_value_decoder(decoder: ValueDecoder) -> None:
    """Install what `Observation.value` decodes with.

    The blob layouts (and numpy, h5py) belong to `agentfactory.sources`, which
    registers itself when imported; core must not import the top level, so the
    dependency points outwards through this hook instead of an import here.
    """
    global _value_decoder
    _value_decoder = decoder


def shorten_names(text: str, width: int = NAME_CHARS) -> str:
    """`text` with every quoted name longer than `width` cut in the middle, keeping both ends.

    Tag, blob and file names may be any length; a 10,000-character name pasted
    into a message buries what the message says. Both ends stay because names
    that differ usually differ at the end (`run_0001.h5`, `run_0002.h5`).
    """
    pattern = re.compile(_QUOTED % (width + 1, width + 1))

    def cut(match: re.Match[str]) -> str:
        quote = "'" if match.group(1) is not None else '"'
        name = match.group(1) if match.group(1) is not None else match.group(2)
        keep = (width - 1) // 2
        return f"{quote}{name[:keep]}…{name[-keep:]}{quote}"

    return pattern.sub(cut, text)


class BlobInfo(BaseModel):
    tag: str
    blob: str
    cached: bool | None = None
    score: float | None = None


class Observation(BaseModel):
    """The outcome of one action. `data` holds the bytes a retrieve returned."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    ok: bool
    action: str | None = None
    tier: str | None = None
    cache_hit: bool | None = None
    blobs: list[BlobInfo] = Field(default_factory=list)
    bytes: int = 0
    bypassed: list[str] = Field(default_factory=list)
    healed: bool = False
    error: str | None = None  # stable error code, e.g. blob_not_found
    message: str | None = None
    hint: str | None = None
    data: builtins.bytes | None = Field(default=None, repr=False)  # `bytes` is also a field name
    metadata: dict[str, Any] | None = Field(default=None, repr=False)

    def explain(self) -> str | None:
        """What a user should read about this step, in one line, or None.

        A failure: its message and hint ("what failed and what to do"). A step
        that worked but not as a user would assume: values too large for the
        cache, served from and stored in IOWarp only.
        """
        if not self.ok:
            text = self.message or self.error or "failed"
            text = f"{text} ({self.hint})" if self.hint else text
        elif self.bypassed:
            names = ", ".join(repr(n) for n in self.bypassed[:3])
            more = f" and {len(self.bypassed) - 3} more" if len(self.bypassed) > 3 else ""
            verb = "is" if len(self.bypassed) == 1 else "are"
            text = f"{names}{more} {verb} larger than the cache's item limit: kept in IOWarp only, never cached"
        else:
            return None
        return shorten_names(" ".join(text.split()))

    def value(self) -> Any:
        """The retrieved payload as the user stored it: an array for HDF5/array blobs, str for text, else bytes."""
        if self.data is None:
            return None
        if _value_decoder is None:
            raise RuntimeError(
                "no value decoder is registered: import agentfactory.sources "
                "(anything that retrieves data, such as a Session or an IOWarpEnv, does)"
            )
        return _value_decoder(self.data, self.metadata)
