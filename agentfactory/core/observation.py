"""What a step returns to the agent and the user: a pydantic model at the boundary."""

from __future__ import annotations

import builtins
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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

    def value(self) -> Any:
        """The retrieved payload as the user stored it: an array for HDF5/array blobs, str for text, else bytes."""
        from ..values import decode_value  # values -> uri -> h5py: import only when asked

        return decode_value(self.data, self.metadata)
