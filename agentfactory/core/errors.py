"""Typed errors: every failure a user can meet says what failed and what to do.

The hierarchy mirrors pymemcache's: one base class to catch everything, then
one branch per layer, so a notebook can `except StorageUnavailable` without
string matching. `code` is a stable, snake_case name that lands in the
trajectory's `error` column, so experiments can group failures by kind.
"""

from __future__ import annotations

from collections.abc import Sequence


class AgentFactoryError(Exception):
    """Base of every error AgentFactory raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


# -- configuration and usage --------------------------------------------------
class ConfigError(AgentFactoryError):
    code = "config_error"


class InvalidAction(AgentFactoryError):
    """An action or its parameters do not fit the action table."""

    code = "invalid_action"


class InvalidName(InvalidAction):
    """A tag or blob name the tiers cannot hold faithfully (NUL, invalid UTF-8).

    The runtime keeps names as C strings: `b1\x00x` would silently alias `b1`.
    """

    code = "invalid_name"


class ParseError(AgentFactoryError):
    """A command could not be mapped to an action; carries the closest form."""

    code = "parse_error"

    def __init__(self, message: str, *, hint: str | None = None, suggestion: str | None = None) -> None:
        super().__init__(message, hint=hint or (f"try: {suggestion}" if suggestion else None))
        self.suggestion = suggestion


# -- storage ------------------------------------------------------------------
class StorageError(AgentFactoryError):
    code = "storage_error"


class StorageUnavailable(StorageError):
    """The persistent tier (bridge or IOWarp runtime) did not answer in time."""

    code = "storage_unavailable"


class CacheInvalidationFailed(StorageError):
    """The cache could not be told to drop entries that must no longer be served.

    Raised instead of reporting success: a step that says ok while another
    reader keeps getting the old bytes is worse than a failed step.
    """

    code = "cache_invalidation_failed"


class NotFound(StorageError):
    code = "not_found"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class TagNotFound(NotFound):
    code = "tag_not_found"


class IntegrityError(StorageError):
    """Bytes in the persistent tier fail their checksum: never served."""

    code = "integrity_error"


class NothingStored(StorageError):
    """An assimilate whose source yielded no blob at all."""

    code = "nothing_stored"


# -- sources ------------------------------------------------------------------
class SourceError(AgentFactoryError):
    code = "source_error"


class UnsafePath(SourceError):
    """A path resolves outside the allowed data roots (`..`, absolute, symlink)."""

    code = "unsafe_path"


class SourceNotFound(SourceError):
    code = "source_not_found"


class UnsupportedSource(SourceError):
    """Unknown URI scheme, unreadable file, or a file that is not what the scheme says."""

    code = "unsupported_source"


# -- trajectories ---------------------------------------------------------------
class NotATrajectory(AgentFactoryError, ValueError):
    """A frame the analysis cannot read as a trajectory: columns missing, or values of the wrong kind.

    ``columns`` names the offending columns, so a caller can add or fix them.
    """

    code = "not_a_trajectory"

    def __init__(self, message: str, *, columns: Sequence[str] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.columns = tuple(columns)


# -- services -----------------------------------------------------------------
class ServiceError(AgentFactoryError):
    code = "service_error"


class InternalError(AgentFactoryError):
    """A bug surfaced as a step: the trajectory records it instead of the cell crashing."""

    code = "internal_error"


# -- agents and blueprints ----------------------------------------------------
class BlueprintError(AgentFactoryError):
    code = "blueprint_error"


class RoutingError(AgentFactoryError):
    """An agent was asked for an action it does not own, or no agent owns it."""

    code = "routing_error"


class BackendError(AgentFactoryError):
    """An LLM backend failed (network, rate limit, malformed answer, no cassette entry)."""

    code = "backend_error"
