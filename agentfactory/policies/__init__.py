"""Cache policies for the policy lab and the real store: heuristics, Belady, learned.

One interface (`Policy.access`) serves the simulator, the Gymnasium/PettingZoo
environments and the real `TwoTierStore`.
"""

from .base import Policy
from .registry import DEFAULT_POLICIES, PEERS, make_policy, policy_class, policy_names
from .simulator import SimResult, simulate

__all__ = ["Policy", "DEFAULT_POLICIES", "PEERS", "make_policy", "policy_class", "policy_names",
           "SimResult", "simulate"]
