"""Fixed-width text tables for terminals and `print()` in a notebook.

Every table we print is laid out here: numbers right-aligned, text
left-aligned, the last column unpadded so a long name does not push trailing
spaces onto every line. `text_row` serves tables printed a row at a time (the
demo shows each step as it runs); `text_table` lays out rows known up front.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def text_row(cells: Sequence[object], widths: Sequence[int], numeric: Collection[int] = ()) -> str:
    """One line of a table whose column widths are already known."""
    last = len(cells) - 1
    out = [str(c).rjust(widths[i]) if i in numeric else (str(c) if i == last else str(c).ljust(widths[i]))
           for i, c in enumerate(cells)]
    return "  ".join(out).rstrip()


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: Collection[int] = (),
               rule: bool = False) -> list[str]:
    """The table's lines: `header`, an optional rule of dashes, then `rows`.

    `numeric` holds the indices of right-aligned columns.
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(header))]
    lines = [text_row(cells[0], widths, numeric)]
    if rule:
        lines.append("  ".join("-" * w for w in widths))
    return lines + [text_row(row, widths, numeric) for row in cells[1:]]
