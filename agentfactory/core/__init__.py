"""What every layer shares: the vocabulary, action models, observations, typed errors, plug-in registries."""

from .actions import ACTION_NAMES, Action, PARAMS_MODELS, action_schema, parse_action
from .errors import *  # noqa: F401,F403 - the error hierarchy is part of the public surface

__all__ = ["ACTION_NAMES", "Action", "PARAMS_MODELS", "action_schema", "parse_action"]
