"""Seeded request streams for the policy lab: synthetic workloads and trace replay.

A workload is a pure function of its seed: the same name, seed and size give the
same `RequestStream`, array for array, on every machine (numpy `Generator` only).
"""

from .stream import RequestStream
from .synthetic import WORKLOADS, make_workload, workload_names
from .trace import read_trace

__all__ = ["RequestStream", "WORKLOADS", "make_workload", "workload_names", "read_trace"]
