"""Fixed-width text tables for terminals and `print()` in a notebook.

Three places padded columns by hand; this is the one way: numbers right-aligned,
text left-aligned, the last column unpadded so a long name does not push
trailing spaces onto every line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: Collection[int] = (),
               rule: bool = False) -> list[str]:
    """The table's lines: `header`, an optional rule of dashes, then `rows`.

    `numeric` holds the indices of right-aligned columns.
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        last = len(row) - 1
        out = [c.rjust(widths[i]) if i in numeric else (c if i == last else c.ljust(widths[i]))
               for i, c in enumerate(row)]
        return "  ".join(out).rstrip()

    lines = [line(cells[0])]
    if rule:
        lines.append("  ".join("-" * w for w in widths))
    return lines + [line(row) for row in cells[1:]]
