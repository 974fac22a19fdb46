"""The ``zoo`` command: a thin click shell over the Python API.

User mistakes (a ``ZooError``) print one line on stderr and exit 1, with no traceback.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import PluginWarning, ZooError


class ZooGroup(click.Group):
    """A click group that turns ``ZooError`` into a one-line error and an exit code of 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZooError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoo")
def cli() -> None:
    """A plugin-based PyTorch model zoo: list, inspect, train, evaluate and export models."""


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def echo_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> None:
    """Print rows in aligned columns, under headers if given; columns in ``right`` align right."""
    cells = ([[str(h) for h in headers]] if headers else []) + [[str(c) for c in row] for row in rows]
    if not cells:
        return
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(parts).rstrip())


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"Warning: {message}\n"


def main() -> None:
    warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
    warnings.simplefilter("default", PluginWarning)
    cli()


# The command modules register themselves on ``cli``.
from . import catalogue, export, train  # noqa: E402,F401
