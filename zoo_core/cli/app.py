"""The ``zoo`` command group and what its commands share: one-line errors, JSON and table
output, and shape arguments.

User mistakes (a ``ZooError``) print one line on stderr and exit 1, with no traceback.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import click

from ..errors import PluginWarning, ZooError
from ..tables import format_table
from ..version import __version__


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


WEIGHTS_HELP = "A weights tag (see `zoo info NAME`), a .safetensors file, or a bundle folder (`zoo publish`)."


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def echo_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> None:
    """Print rows in aligned columns, under headers if given; columns in ``right`` align right."""
    for line in format_table(headers, rows, right=right):
        click.echo(line)


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def parse_shape(text: str, *, length: int, what: str) -> tuple[int, ...]:
    """'1,28,28' -> (1, 28, 28), or a one-line error saying what form was expected."""
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != length or any(v < 1 for v in values):
        raise ZooError(f"{what} must be {length} positive integers separated by commas, got {text!r}")
    return values


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"Warning: {message}\n"


def main() -> None:
    warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
    warnings.simplefilter("default", PluginWarning)
    cli()
