"""Exporting: a model, fresh or with weights, handed to each requested format's exporter plugin,
which writes and checks its file; the file and its sidecars are kept only if the check passes.

The core knows no format: the built-in exporters (``zoo_plugins/exporters/``) are plugins like any
other, and each declares the options it takes (:class:`~zoo_core.contract.interfaces.ExporterOption`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..base.atomic import atomic_files
from ..base.checks import path_name
from ..base.errors import ExportError, PluginError, ZooError
from ..base.version import __version__
from ..contract.interfaces import ExporterOption, ExportJob
from ..contract.weights_info import WeightsInfo
from ..host.entries import ExporterSpec
from ..host.plugins import exporter_registry
from ..models.catalogue import get_model_spec
from ..models.factory import create_model
from ..models.pretrained import WeightsRef, registered_info
from ..store.weights import file_sha256


def exporter_names() -> list[str]:
    """Every registered export format, sorted."""
    return exporter_registry().names()


def get_exporter(name: str) -> ExporterSpec:
    return exporter_registry().get(name)


def exporter_options(formats: Iterable[str] | None = None) -> dict[str, tuple[ExporterOption, list[str]]]:
    """The options that the exporters of ``formats`` (default: all) declare, by name, each with
    the formats that take it. Exporters may share an option of one type (each gets its own
    default); an option name declared with two types, or equal to a format's name, is an error
    naming both plugins."""
    specs = [get_exporter(f) for f in formats] if formats is not None else list(exporter_registry())
    names = {spec.name: spec for spec in exporter_registry()}
    found: dict[str, tuple[ExporterOption, list[str]]] = {}
    for spec in specs:
        for option in spec.options:
            if option.name in names:
                other = names[option.name]
                raise PluginError(
                    f"exporter {spec.name!r} of plugin {spec.origin} has an option named like the format "
                    f"{other.name!r} of plugin {other.origin}; uninstall or disable one of them"
                )
            if option.name not in found:
                found[option.name] = (option, [spec.name])
                continue
            first, owners = found[option.name]
            if first.type is not option.type:
                other = get_exporter(owners[0])
                raise PluginError(
                    f"option {option.name!r} is a {first.type.__name__} for exporter {other.name!r} "
                    f"of plugin {other.origin} but a {option.type.__name__} for exporter {spec.name!r} "
                    f"of plugin {spec.origin}; uninstall or disable one of them"
                )
            owners.append(spec.name)
    return found


def export_model(
    name: str,
    formats: list[str] | None,
    out_dir: Path,
    *,
    weights: WeightsRef | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    input_size: tuple[int, int] | None = None,
    options: Mapping[str, Any] | None = None,
    force: bool = False,
    data_dir: Path | None = None,
    dataset: str | None = None,
    speed_only: bool = False,
) -> list[dict[str, Any]]:
    """Export model ``name`` (fresh, or with ``weights``) to each of ``formats`` (None: those
    registered as defaults) in ``out_dir``; return one report per file. ``options`` are the
    exporters' declared options (None: the default); one that no chosen format takes is an
    error. Each file is written atomically and kept, with its sidecars, only if its exporter's
    check passes; a format that fails does not stop the others, and the first failure is raised
    once all were tried (:class:`ExportError`, with the kept files' reports in ``written``).
    An existing file is replaced only with ``force``, and never the weights file read.
    Exporters that calibrate or check accuracy read the weights' dataset (``dataset`` instead,
    when given) from ``data_dir`` or where its plugin looks; nothing is downloaded.
    ``speed_only``: the files are made to be timed (``zoo bench``), not shipped."""
    import torch  # heavy: only when something is exported

    from .calibration import DatasetImages  # imports torch

    spec = get_model_spec(name)
    formats = formats or default_formats()
    if not formats:
        raise ZooError(
            f"no export format is a default here; name one: {', '.join(exporter_names()) or 'none'}"
        )
    exporters = [get_exporter(f) for f in dict.fromkeys(formats)]
    job_options = _job_options(exporters, options or {})
    if not out_dir.is_dir():
        raise ZooError(f"output folder {out_dir} does not exist; create it or choose another --out")
    stems = {e.name: file_stem(name, e, job_options[e.name]) for e in exporters}
    for exporter in exporters:
        _may_write(out_dir / f"{stems[exporter.name]}{exporter.suffix}", weights=weights, force=force)
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, in_channels=in_channels, weights=weights).eval()
    trained: WeightsInfo | None = model.zoo_weights
    channels, *size = input_shape(name, model, in_channels=in_channels, input_size=input_size)
    example = torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        try:
            classes = model(example).shape[1]
        except RuntimeError as exc:
            raise ZooError(
                f"{name} cannot take a {channels}x{size[0]}x{size[1]} input: {str(exc).splitlines()[0]}"
            ) from None
    info = _export_info(name, trained, classes, channels, size)
    metadata = {
        **info.to_metadata(),
        "plugin": str(spec.origin),
        "weights": str(weights) if weights else "none (freshly initialised)",
    }
    recipe = (trained.recipe if trained and trained.recipe else spec.recipe).replace(input_size=tuple(size))
    data = DatasetImages(
        recipe.replace(dataset=dataset) if dataset else recipe, info, weights, data_dir=data_dir
    )
    common = {
        "model_name": name,
        "model": model,
        "example": example,
        "weights": info,
        "metadata": metadata,
        "data": data,
        "speed_only": speed_only,
    }
    reports, failures = [], []
    for exporter in exporters:
        options = job_options[exporter.name]
        try:
            reports.append(_write(exporter, out_dir / stems[exporter.name], common, options, weights, force))
        except ExportError as exc:
            failures.append((exporter.name, exc))
    if failures:
        raise _first_failure(failures, reports)
    return reports


def file_stem(name: str, exporter: ExporterSpec, options: Mapping[str, Any]) -> str:
    """The name of an exported file without its suffix: the model's (``timm--resnet50`` for a
    namespaced one), then the value of each option that names files when it is not the default
    (``MODEL.int8``)."""
    parts = [options[o.name] for o in exporter.options if o.in_file_name and options[o.name] != o.default]
    return ".".join([path_name(name), *parts])


def _write(
    exporter: ExporterSpec,
    stem: Path,
    common: dict[str, Any],
    options: dict[str, Any],
    weights: WeightsRef | None,
    force: bool,
) -> dict[str, Any]:
    """Run one exporter on temporary files named ``stem`` + suffix; keep them only if it succeeds."""
    target = stem.with_name(stem.name + exporter.suffix)
    try:
        with atomic_files(replace=force) as temporary:

            def sidecar(suffix: str) -> Path:
                path = stem.with_name(stem.name + suffix)
                _may_write(path, weights=weights, force=force)
                return temporary(path)

            job = ExportJob(**common, sidecar=sidecar, options=options)
            written = temporary(target)
            report = exporter.load_exporter()(job, written)
            size, sha256 = written.stat().st_size, file_sha256(written)
    except FileExistsError as exc:
        raise ExportError(
            f"{exc.filename} appeared while this export ran (another export?); it was left as it is: "
            "replace it with --force or choose another --out"
        ) from None
    if file_sha256(target) != sha256:  # with --force: a concurrent export replaced it since
        raise ExportError(f"{target} was replaced by another process while this export ran; export again")
    return {
        "format": exporter.name,
        "path": str(target),
        "bytes": size,
        "sha256": sha256,
        "input_shape": list(job.input_shape),
        **report,
    }


def _may_write(target: Path, *, weights: WeightsRef | None, force: bool) -> None:
    """Refuse to replace the weights file being exported, a read-only file, or (without
    ``force``) any existing file."""
    if not target.exists():
        return
    source = Path(weights) if isinstance(weights, str | Path) else None
    if source is not None and source.is_file() and target.samefile(source):
        raise ExportError(f"{target} is the weights file being exported; choose another --out")
    if not force:
        raise ExportError(f"{target} already exists; replace it with --force or choose another --out")
    if not target.stat().st_mode & 0o222:  # the mode, not os.access: root may write anything
        raise ExportError(f"{target} is read-only; make it writable or choose another --out")


def default_formats() -> list[str]:
    """The formats ``export_model`` writes when none is named (registered with ``default=True``)."""
    return [spec.name for spec in exporter_registry() if spec.default]


def _first_failure(failures: list[tuple[str, ExportError]], written: list[dict[str, Any]]) -> ExportError:
    """The first format's error, naming the others that failed too, with the kept files' reports."""
    first = failures[0][1]
    others = [fmt for fmt, _ in failures[1:]]
    message = str(first) + (f" ({', '.join(others)} failed too)" if others else "")
    error = ExportError(message, first.report)
    error.written = written
    return error


def input_shape(
    name: str, model: Any, *, in_channels: int | None = None, input_size: tuple[int, int] | None = None
) -> tuple[int, int, int]:
    """The (channels, height, width) that model ``name``, built by ``create_model``, is exported
    and benchmarked at: what was asked for, else its weights' input, else its registered one."""
    known = model.zoo_weights or get_model_spec(name)
    shape = (in_channels or known.in_channels, *(input_size or known.input_size))
    if max(shape[1:]) > MAX_SIDE:
        raise ZooError(
            f"input size {shape[1]}x{shape[2]} is too large to export or time; "
            f"at most {MAX_SIDE} pixels a side"
        )
    return shape


MAX_SIDE = 4096  # an example batch of a larger image needs gigabytes before any model runs


def _job_options(exporters: list[ExporterSpec], given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each exporter's declared options: the value given, else its default."""
    declared = {o.name for e in exporters for o in e.options}
    unknown = sorted(k for k, v in given.items() if v is not None and k not in declared)
    if unknown:
        formats = " or ".join(e.name for e in exporters)
        takes = ", ".join(sorted(declared)) or "none"
        raise ZooError(f"option {unknown[0]!r} is not taken by {formats} (options taken: {takes})")
    chosen: dict[str, dict[str, Any]] = {}
    for exporter in exporters:
        values = {}
        for option in exporter.options:
            value = given.get(option.name)
            try:
                values[option.name] = option.default if value is None else option.check(value)
            except ValueError as exc:
                raise ZooError(str(exc)) from None
        chosen[exporter.name] = values
    return chosen


def _export_info(
    name: str, trained: WeightsInfo | None, classes: int, channels: int, size: tuple[int, int]
) -> WeightsInfo:
    """What the exported files say about the model's weights: the trained weights' facts, or for
    a fresh model the normalisation and labels of its recipe's dataset where its shape fits."""
    if trained is not None:
        return dataclasses.replace(trained, input_size=tuple(size), file=None, sha256=None)
    import torch  # loaded already: the model was built

    fresh = registered_info(get_model_spec(name), classes, channels, tuple(size))
    return dataclasses.replace(fresh, versions={"zoo-core": __version__, "torch": torch.__version__})
