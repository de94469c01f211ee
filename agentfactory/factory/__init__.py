"""Blueprints (YAML agent definitions), their registry, and agent-type discovery."""

from .blueprint import (
    BACKENDS,
    BUILTIN_TYPES,
    REWARD_KEYS,
    Blueprint,
    CacheConfig,
    StoreConfig,
    default_actions,
    dump_blueprint,
    load_blueprint,
    parse_blueprint,
    validate_blueprint,
    write_blueprint,
)
from .discovery import ENTRY_POINT_GROUP, agent_types, buildable, get_agent_type, register_agent_type, unregister_agent_type
from .registry import ENV_VAR, BlueprintRegistry, builtin_blueprint_dir, check_type, default_user_dir

__all__ = [
    "BACKENDS",
    "BUILTIN_TYPES",
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "REWARD_KEYS",
    "Blueprint",
    "BlueprintRegistry",
    "CacheConfig",
    "StoreConfig",
    "agent_types",
    "buildable",
    "builtin_blueprint_dir",
    "check_type",
    "default_actions",
    "default_user_dir",
    "dump_blueprint",
    "get_agent_type",
    "load_blueprint",
    "parse_blueprint",
    "register_agent_type",
    "unregister_agent_type",
    "validate_blueprint",
    "write_blueprint",
]
