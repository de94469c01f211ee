"""Analysis of trajectories: numbers, matplotlib views and a live ipywidgets dashboard.

Installed as ``agentfactory.analysis`` (the folder sits at the repository root).
It reads what ``agentfactory`` produces and ``agentfactory`` never imports it.
matplotlib and ipywidgets are imported only when a plot or dashboard is made,
so importing this package for its numbers stays cheap::

    from agentfactory.analysis import hit_rate, plot_hit_rate, dashboard
    hit_rate(df).tail()           # DataFrame indexed by step
    plot_hit_rate(df)             # returns the Axes
    dashboard(session)            # live view; .save_png("run.png") for a file
"""

from .dashboard import Dashboard, dashboard
from .metrics import compare_runs, hit_rate, retrieves, reward_by, run_summary, tier_contents
from .plots import plot_compare_hit_rate, plot_hit_rate, plot_latency
from .policy_plots import plot_learning_curve, plot_miss_ratio_curve
from .reward_plots import plot_reward_distribution
from .summary_plots import plot_compare_runs, plot_summary_numbers, summary_figure
from .tier_plots import plot_tier_contents

__all__ = [
    "Dashboard",
    "compare_runs",
    "dashboard",
    "hit_rate",
    "plot_compare_hit_rate",
    "plot_compare_runs",
    "plot_hit_rate",
    "plot_latency",
    "plot_learning_curve",
    "plot_miss_ratio_curve",
    "plot_reward_distribution",
    "plot_summary_numbers",
    "plot_tier_contents",
    "retrieves",
    "reward_by",
    "run_summary",
    "summary_figure",
    "tier_contents",
]
