"""The trajectory: every step an agent takes, as one row of a pandas DataFrame.

- :mod:`.schema`: the standard columns and their dtypes (the table users read);
- :mod:`.recorder`: :class:`Trajectory`, the columnar recorder;
- :mod:`.params`: the ``params`` column as JSON text, and back;
- :mod:`.extras`: the typed columns callers add per step;
- :mod:`.frame`, :mod:`.columns`: frames into buffers and back;
- :mod:`.io`: save and load, Parquet and CSV;
- :mod:`.summary`: the headline numbers of a run (``analysis`` re-exports them).
"""

from __future__ import annotations

from .params import decode_params, encode_params
from .recorder import Trajectory
from .schema import COLUMNS, DTYPES, MANUAL_AGENT, TIERS
from .summary import SUMMARY_FIELDS, retrieves, run_summary

__all__ = [
    "COLUMNS",
    "DTYPES",
    "MANUAL_AGENT",
    "SUMMARY_FIELDS",
    "TIERS",
    "Trajectory",
    "decode_params",
    "encode_params",
    "retrieves",
    "run_summary",
]
