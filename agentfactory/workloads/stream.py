"""`RequestStream`: a request sequence held as numpy columns.

Columns rather than request objects because a million requests must cost a few
megabytes and replay at simulator speed; keys are dense integers (trace keys are
factorised on load) so policies can hash them cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RequestStream:
    """One request per row: `keys[i]` was asked for, by tag `tags[i]`, `sizes[i]` bytes.

    `tag_names[t]` names tag code `t`; a stream without tags has one tag, `""`.
    `seed` is the seed that generated it (None for a replayed trace).
    """

    name: str
    keys: np.ndarray
    tags: np.ndarray
    sizes: np.ndarray
    tag_names: tuple[str, ...] = ("",)
    seed: int | None = None
    times: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.keys)
        if len(self.tags) != n or len(self.sizes) != n or (self.times is not None and len(self.times) != n):
            raise ValueError("keys, tags, sizes (and times) must have the same length")

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_objects(self) -> int:
        """Distinct keys: cache sizes are fractions of this number."""
        return int(len(np.unique(self.keys)))

    @property
    def total_bytes(self) -> int:
        return int(self.sizes.sum())

    def capacity(self, fraction: float) -> int:
        """Cache capacity in objects for `fraction` of the distinct objects (at least 1)."""
        if not 0 < fraction <= 1:
            raise ValueError(f"cache size fraction must be in (0, 1], got {fraction}")
        return max(1, int(round(fraction * self.n_objects)))

    def byte_capacity(self, fraction: float) -> int:
        """Cache capacity in bytes for `fraction` of the distinct objects' bytes."""
        if not 0 < fraction <= 1:
            raise ValueError(f"cache size fraction must be in (0, 1], got {fraction}")
        _, first = np.unique(self.keys, return_index=True)
        return max(1, int(round(fraction * int(self.sizes[first].sum()))))

    def head(self, n: int) -> "RequestStream":
        """The first `n` requests, as a stream of its own."""
        return RequestStream(
            name=self.name, keys=self.keys[:n], tags=self.tags[:n], sizes=self.sizes[:n],
            tag_names=self.tag_names, seed=self.seed,
            times=None if self.times is None else self.times[:n], meta=dict(self.meta),
        )

    def to_frame(self) -> pd.DataFrame:
        """The stream as a DataFrame (`key`, `tag`, `size`, and `time` when known)."""
        frame = pd.DataFrame({
            "key": self.keys,
            "tag": pd.Categorical.from_codes(self.tags, categories=list(self.tag_names)),
            "size": self.sizes,
        })
        if self.times is not None:
            frame["time"] = self.times
        return frame
