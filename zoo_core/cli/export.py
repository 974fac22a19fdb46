"""Commands that export and benchmark: export, bench.

``zoo export`` knows no format: a ``--FORMAT`` shortcut for every registered exporter and a
flag for every option the exporters declare are added when the command is parsed or its help
is shown, so a third-party exporter's options appear beside the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ..base.errors import ExportError, ZooError
from ..base.tables import human_size
from ..contract.interfaces import ExporterOption
from ..export.driver import default_formats, export_model, exporter_names, exporter_options, get_exporter
from . import completion as complete
from .app import (
    WEIGHTS_HELP,
    PluginCommand,
    cli,
    data_source,
    echo_json,
    echo_table,
    hub_options,
    option_param,
    parse_shape,
)


class FormatOption(click.Option):
    """``--format``, whose help lists the formats registered right now, third-party ones too."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = (
            f"Export format, repeatable: {', '.join(exporter_names())}. "
            f"Default: {', '.join(default_formats()) or 'none'}."
        )
        return super().get_help_record(ctx)


FORMAT_PREFIX = "format_"
OPTION_PREFIX = "option_"


def plugin_params() -> list[click.Option]:
    """``--NAME`` for every registered format, and a flag for every exporter option."""
    formats = [
        click.Option(
            [f"--{spec.name.replace('_', '-')}", f"{FORMAT_PREFIX}{spec.name}"],
            is_flag=True,
            help=f"Write NAME{spec.suffix}: {spec.description}",
        )
        for spec in map(get_exporter, exporter_names())
    ]
    return formats + [_option_flag(option, owners) for option, owners in exporter_options().values()]


def _option_flag(option: ExporterOption, owners: list[str]) -> click.Option:
    """The flag of an exporter option, its help naming each format's default."""
    defaults = {fmt: o.default for fmt in owners for o in get_exporter(fmt).options if o.name == option.name}
    help_text = f"{option.help} ({'; '.join(f'{fmt} default: {d}' for fmt, d in defaults.items())})"
    return option_param(option, option.name.replace("_", "-"), f"{OPTION_PREFIX}{option.name}", help_text)


def model_shape_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--weights",
                shell_complete=complete.weights_tags,
                help=f"{WEIGHTS_HELP} Default: freshly initialised.",
            ),
            click.option("--num-classes", type=click.IntRange(min=1), help="Classes of the head."),
            click.option("--in-channels", type=click.IntRange(min=1), help="Input channels."),
            click.option("--input-size", help="Input height and width as H,W (default: the model's)."),
            hub_options,
        ]
    ):
        command = option(command)
    return command


@cli.command(cls=PluginCommand, plugin_params=plugin_params)
@click.argument("name", shell_complete=complete.models)
@click.option("--format", "formats", multiple=True, cls=FormatOption, help="Export format, repeatable.")
@model_shape_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Existing folder to write into.",
)
@click.option("--force", is_flag=True, help="Replace files of the same names in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Calibrate and check accuracy on an image folder (as `zoo train --data` reads it).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the weights' dataset is (default: where its plugin looks; never downloaded).",
)
@click.pass_context
def export(
    ctx: click.Context,
    name: str,
    formats: tuple[str, ...],
    weights: str | None,
    num_classes: int | None,
    in_channels: int | None,
    input_size: str | None,
    out: Path,
    force: bool,
    as_json: bool,
    data: Path | None,
    data_dir: Path | None,
    **plugin_values: Any,
) -> None:
    """Export model NAME to each format asked for (with none, to the default formats).

    Every file is written to a temporary name, checked by its exporter, then renamed into
    place; a file that fails its check is not kept, and the command exits 1. An existing file
    is replaced only with --force, and the weights file exported from never. Exporters that
    calibrate or check accuracy (--quantize) read the weights' dataset, or --data.
    """
    data_dir, dataset = data_source(data, data_dir)
    chosen = [
        key.removeprefix(FORMAT_PREFIX)
        for key, on in plugin_values.items()
        if key.startswith(FORMAT_PREFIX) and on
    ]
    options = {
        key.removeprefix(OPTION_PREFIX): value
        for key, value in plugin_values.items()
        if key.startswith(OPTION_PREFIX) and ctx.get_parameter_source(key) is not ParameterSource.DEFAULT
    }
    size = parse_shape(input_size, length=2, what="--input-size") if input_size else None
    try:
        reports = export_model(
            name,
            [*chosen, *formats] or None,
            out,
            weights=weights,
            num_classes=num_classes,
            in_channels=in_channels,
            input_size=size,
            options=options,
            force=force,
            data_dir=data_dir,
            dataset=dataset,
        )
    except ExportError as exc:
        if not as_json:
            echo_reports(exc.written)
            for line in exc.report.get("summary", []):
                click.echo(f"  {line}")
        raise
    if as_json:
        echo_json(reports)
    else:
        echo_reports(reports)


def echo_reports(reports: list[dict[str, Any]]) -> None:
    """Each file's format, path, size and sha256, and under it the exporter's summary lines."""
    for report in reports:
        click.echo(
            f"{report['format']}: {report['path']} ({human_size(report['bytes'])}, sha256 {report['sha256']})"
        )
        for line in report.get("summary", []):
            click.echo(f"  {line}")


def bench_params() -> list[click.Option]:
    """``--NAME V1,V2`` for every exporter option that declares ``bench=True``."""
    params = []
    for option, owners in exporter_options().values():
        if not option.bench:
            continue
        values = [c for c in option.choices if c != option.default]
        params.append(
            click.Option(
                [f"--{option.name.replace('_', '-')}", f"{OPTION_PREFIX}{option.name}"],
                help=f"Also time the files of {', '.join(owners)} made with these {option.name} values, "
                f"comma-separated: {', '.join(values)}. {option.help}",
            )
        )
    return params


def bench_variants(values: dict[str, str | None]) -> dict[str, tuple[str, ...]]:
    """The values of each ``bench_params`` flag given, checked against the option's choices."""
    options = exporter_options()
    variants = {}
    for key, text in values.items():
        if not text:
            continue
        name = key.removeprefix(OPTION_PREFIX)
        option = options[name][0]
        offered = [c for c in option.choices if c != option.default]
        chosen = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
        unknown = [v for v in chosen if v not in offered]
        if unknown:
            flag = name.replace("_", "-")
            raise ZooError(f"--{flag} takes {' or '.join(offered)}, comma-separated; got {unknown[0]!r}")
        variants[name] = chosen
    return variants


@cli.command(cls=PluginCommand, plugin_params=bench_params)
@click.argument("name", shell_complete=complete.models)
@click.option("--batch-sizes", default="1,8", show_default=True, help="Comma-separated batch sizes.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="Threads for torch and the exported runtimes (default: torch's).",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@model_shape_options
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Least time spent timing each row.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def bench(
    name: str,
    batch_sizes: str,
    threads: int | None,
    device: str,
    weights: str | None,
    num_classes: int | None,
    in_channels: int | None,
    input_size: str | None,
    seconds: float,
    as_json: bool,
    **plugin_values: str | None,
) -> None:
    """Latency (p50/p90) and throughput of torch eager, torch channels_last and every export
    format's runtime, timed alike by torch.utils.benchmark, with each row's speed-up over
    torch eager."""
    from ..export.bench import benchmark  # imports torch

    try:
        sizes = [int(b) for b in batch_sizes.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ZooError(f"--batch-sizes must be positive integers separated by commas, got {batch_sizes!r}")
    variants = bench_variants(plugin_values)
    size = parse_shape(input_size, length=2, what="--input-size") if input_size else None
    result = benchmark(
        name,
        batch_sizes=sizes,
        threads=threads,
        device=device,
        num_classes=num_classes,
        in_channels=in_channels,
        input_size=size,
        weights=weights,
        min_seconds=seconds,
        variants=variants,
    )
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"{name}, input {'x'.join(map(str, result['input']))}, {result['threads']} threads on "
        f"{result['machine']}"
    )
    echo_table(
        ("runtime", "batch", "p50 ms", "p90 ms", "p90/p50", "images/s", "x eager"),
        [
            (
                r["runtime"],
                r["batch"],
                *(
                    ("n/a",) * 5
                    if r["p50_ms"] is None
                    else (
                        f"{r['p50_ms']:.3f}",
                        f"{r['p90_ms']:.3f}",
                        f"{r['spread']:.2f}",
                        f"{r['images_per_s']:,.0f}",
                        f"{r['vs_eager']:.2f}",
                    )
                ),
            )
            for r in result["rows"]
        ],
        right=(1, 2, 3, 4, 5, 6),
    )
    for r in result["rows"]:
        if r.get("note") and r["batch"] == sizes[0]:
            click.echo(f"{r['runtime']}: n/a, {r['note']}")
