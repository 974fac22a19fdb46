"""Commands that export and benchmark: export, bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ZooError
from . import cli, echo_json, echo_table
from .catalogue import parse_shape


class FormatOption(click.Option):
    """``--format``, whose help lists the formats registered right now, third-party ones too."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from ..exporters import exporter_names

        self.help = f"Export format, repeatable: {', '.join(exporter_names())}."
        return super().get_help_record(ctx)


def model_shape_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--weights", help="A weights tag (see `zoo info NAME`) or .safetensors file (default: fresh)."
            ),
            click.option("--num-classes", type=click.IntRange(min=1), help="Classes of the head."),
            click.option("--in-channels", type=click.IntRange(min=1), help="Input channels."),
            click.option("--input-size", help="Input height and width as H,W (default: the model's)."),
        ]
    ):
        command = option(command)
    return command


@cli.command()
@click.argument("name")
@click.option(
    "--onnx", "want_onnx", is_flag=True, help="Write NAME.onnx (parity-checked against onnxruntime)."
)
@click.option("--safetensors", "want_safetensors", is_flag=True, help="Write NAME.safetensors.")
@click.option("--format", "formats", multiple=True, cls=FormatOption, help="Export format, repeatable.")
@model_shape_options
@click.option("--opset", type=click.IntRange(min=7), help="ONNX opset (default 18).")
@click.option("--atol", type=float, help="Parity gate: absolute tolerance (default 1e-4).")
@click.option("--rtol", type=float, help="Parity gate: relative tolerance (default 1e-3).")
@click.option("--no-check", is_flag=True, help="Skip the ONNX parity gate (the report says so).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Existing folder to write into.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def export(
    name: str,
    want_onnx: bool,
    want_safetensors: bool,
    formats: tuple[str, ...],
    weights: str | None,
    num_classes: int | None,
    in_channels: int | None,
    input_size: str | None,
    opset: int | None,
    atol: float | None,
    rtol: float | None,
    no_check: bool,
    out: Path,
    as_json: bool,
) -> None:
    """Export model NAME; with no format flag, to both safetensors and ONNX.

    Every file is written to a temporary name, checked (safetensors: strict reload; ONNX:
    onnx.checker and parity with onnxruntime at batch sizes 1, 3 and 8), then renamed into place.
    """
    from ..exporters import ExportError, export_model

    chosen = [f for f, wanted in (("safetensors", want_safetensors), ("onnx", want_onnx)) if wanted] + list(
        formats
    )
    size = parse_shape(input_size, length=2, what="--input-size") if input_size else None
    options = {"opset": opset, "atol": atol, "rtol": rtol, "check": not no_check}
    try:
        reports = export_model(
            name,
            chosen or ["safetensors", "onnx"],
            out,
            weights=weights,
            num_classes=num_classes,
            in_channels=in_channels,
            input_size=size,
            options=options,
        )
    except ExportError as exc:
        if "parity" in exc.report and not as_json:
            echo_parity(exc.report["parity"])
        raise
    if as_json:
        echo_json(reports)
        return
    for report in reports:
        click.echo(
            f"{report['format']}: {report['path']} ({report['bytes'] / 1e6:.1f} MB, "
            f"sha256 {report['sha256']})"
        )
        if "parity" in report:
            echo_parity(report["parity"])


def echo_parity(parity: dict[str, Any]) -> None:
    if parity["passed"] is None:
        click.echo(f"  parity: {parity['reason']}")
        return
    click.echo(
        f"  parity with onnxruntime ({parity['provider']}, atol {parity['atol']:g}, rtol {parity['rtol']:g}):"
    )
    echo_table(
        ("  batch", "max |diff|", "max rel diff", "top-1", "result"),
        [
            (
                f"  {r['batch_size']}",
                f"{r['max_abs_diff']:.2e}",
                f"{r['max_rel_diff']:.2e}",
                "same" if r["top1_agree"] else "differs",
                "pass" if r["passed"] else "FAIL",
            )
            for r in parity["batches"]
        ],
    )


@cli.command()
@click.argument("name")
@click.option("--batch-sizes", default="1,8,64", show_default=True, help="Comma-separated batch sizes.")
@click.option(
    "--threads", type=click.IntRange(min=1), help="Threads for torch and onnxruntime (default: torch's)."
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@model_shape_options
@click.option(
    "--seconds", type=float, default=0.5, show_default=True, help="Least time spent timing each row."
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
) -> None:
    """Latency (p50/p90) and throughput of torch eager, torch channels_last and onnxruntime."""
    from ..benchmark import benchmark

    try:
        sizes = [int(b) for b in batch_sizes.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ZooError(f"--batch-sizes must be positive integers separated by commas, got {batch_sizes!r}")
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
    )
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"{name}, input {'x'.join(map(str, result['input']))}, {result['device']}, "
        f"{result['threads']} threads"
    )
    echo_table(
        ("runtime", "batch", "p50 ms", "p90 ms", "images/s"),
        [
            (
                r["runtime"],
                r["batch"],
                *(
                    ("n/a",) * 3
                    if r["p50_ms"] is None
                    else (f"{r['p50_ms']:.3f}", f"{r['p90_ms']:.3f}", f"{r['images_per_s']:,.0f}")
                ),
            )
            for r in result["rows"]
        ],
        right=(1, 2, 3, 4),
    )
