"""Plain-text tables, shared by the CLI and by plugins that describe their results (the ONNX
exporter's parity table), so every table the zoo prints is laid out one way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def format_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> list[str]:
    """Rows in aligned columns, under headers if given; columns in ``right`` align right."""
    cells = ([[str(h) for h in headers]] if headers else []) + [[str(c) for c in row] for row in rows]
    if not cells:
        return []
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def human_size(size: int | None) -> str:
    """A byte count for people: '7.3 kB', '44.7 MB' (decimal units); '-' when unknown."""
    if size is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
