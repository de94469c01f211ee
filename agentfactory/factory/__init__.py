"""Blueprints (YAML agent definitions), their registry, and what they may name (agent types, routers)."""

from ..core.vocabulary import BUILTIN_TYPES
from .blueprint import Blueprint, CacheConfig, StoreConfig, default_actions
from .blueprint_yaml import dump_blueprint, load_blueprint, parse_blueprint, write_blueprint
from .validation import validate_blueprint
from .discovery import (
    ENTRY_POINT_GROUP,
    agent_types,
    buildable,
    get_agent_type,
    register_agent_type,
    register_router,
    router_names,
    unregister_agent_type,
    unregister_router,
)
from .registry import ENV_VAR, BlueprintRegistry, builtin_blueprint_dir, check_type, default_user_dir

__all__ = [
    "BUILTIN_TYPES",
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
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
    "register_router",
    "router_names",
    "unregister_agent_type",
    "unregister_router",
    "validate_blueprint",
    "write_blueprint",
]
