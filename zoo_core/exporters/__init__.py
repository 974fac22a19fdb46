"""Exporters: file formats registered through the ``zoo_register_exporters`` hook.

The built-in safetensors and ONNX exporters are plugins like any other. An exporter writes one
file to a temporary path and checks it; the core then renames it into place, so a failed
export, a failed check or an interrupt leaves nothing behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PluginError, ZooError

if TYPE_CHECKING:
    import torch

    from ..registry import PluginOrigin


class ExportError(ZooError):
    """An export that failed or did not pass its check; no file was kept. ``report`` holds what
    the exporter measured before it gave up (the parity table, say)."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report or {}


@dataclass
class ExportJob:
    """What an exporter gets: the model in eval mode, an example batch, and the facts that go
    into the file's metadata (all strings)."""

    model_name: str
    model: torch.nn.Module
    example: torch.Tensor
    metadata: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.example.shape[1:])


# exporter(job, path) writes the file at ``path``, checks it, and returns a JSON-able report.
Exporter = Callable[[ExportJob, Path], dict[str, Any]]


@dataclass(frozen=True)
class ExporterSpec:
    name: str
    exporter: Exporter | str
    suffix: str
    description: str
    origin: PluginOrigin

    def load(self) -> Exporter:
        if callable(self.exporter):
            return self.exporter
        from ..registry import import_object

        return import_object(self.exporter, f"exporter {self.name!r} from plugin {self.origin}")


def exporter_registrar(origin: PluginOrigin, staged: list[ExporterSpec]) -> Callable[..., None]:
    """The ``register`` callback handed to one plugin's ``zoo_register_exporters``."""

    def register(name: str, exporter: Exporter | str, *, suffix: str, description: str) -> None:
        def fail(what: str) -> None:
            raise PluginError(f"plugin {origin} registered exporter {name!r}: {what}")

        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]*$", name):
            fail("a format name must be lowercase letters, digits and underscores")
        if not callable(exporter) and not (isinstance(exporter, str) and ":" in exporter):
            fail("exporter must be a callable or a 'module:function' string")
        if not isinstance(suffix, str) or not suffix.startswith("."):
            fail(f"suffix must start with a dot, got {suffix!r}")
        staged.append(ExporterSpec(name, exporter, suffix, description, origin))

    return register


def exporter_names() -> list[str]:
    from ..plugins import get_host

    return get_host().exporters.names()


def get_exporter(name: str) -> ExporterSpec:
    from ..plugins import get_host

    return get_host().exporters.get(name)


def export_model(
    name: str,
    formats: list[str],
    out_dir: Path,
    *,
    weights: str | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    input_size: tuple[int, int] | None = None,
    options: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Export model ``name`` (fresh, or with ``weights``) to each format in ``out_dir``; return one
    report per file. Each file is written atomically and kept only if its check passes."""
    import torch

    from .. import __version__
    from ..atomic import atomic_path, write_bytes
    from ..registry import create_model, get_model_spec
    from ..weights import file_sha256

    spec = get_model_spec(name)
    specs = [get_exporter(f) for f in dict.fromkeys(formats)]
    if not out_dir.is_dir():
        raise ZooError(f"output folder {out_dir} does not exist; create it or choose another --out")
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, in_channels=in_channels, weights=weights).eval()
    meta: dict[str, str] = getattr(model, "zoo_weights_metadata", {})
    channels = in_channels or int(meta.get("in_channels", spec.in_channels))
    size = input_size or tuple(json.loads(meta["input_size"]) if "input_size" in meta else spec.input_size)
    example = torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        try:
            classes = model(example).shape[1]
        except RuntimeError as exc:
            raise ZooError(
                f"{name} cannot take a {channels}x{size[0]}x{size[1]} input: {str(exc).splitlines()[0]}"
            ) from None
    metadata = {
        **{k: v for k, v in meta.items() if k in ("mean", "std", "labels", "dataset", "weights_tag")},
        **dataset_facts(spec.recipe.dataset, classes, channels, meta),
        "model": name,
        "zoo_version": __version__,
        "plugin": str(spec.origin),
        "num_classes": str(classes),
        "in_channels": str(channels),
        "input_size": json.dumps(list(size)),
        "weights": str(weights) if weights else "none (freshly initialised)",
    }
    job = ExportJob(name, model, example, metadata, dict(options or {}))
    reports = []
    for exporter in specs:
        target = out_dir / f"{name}{exporter.suffix}"
        with atomic_path(target) as tmp:
            report = exporter.load()(job, tmp)
        report = {
            "format": exporter.name,
            "path": str(target),
            "bytes": target.stat().st_size,
            "sha256": file_sha256(target),
            **report,
        }
        if "parity" in report:
            write_bytes(out_dir / f"{name}.parity.json", (json.dumps(report, indent=2) + "\n").encode())
        reports.append(report)
    return reports


def dataset_facts(
    dataset_name: str, num_classes: int, in_channels: int, meta: dict[str, str]
) -> dict[str, str]:
    """Normalisation and labels from the model's training dataset, when the model's shape fits it
    and the weights did not already say."""
    if "mean" in meta:
        return {}
    from ..data import get_dataset

    try:
        dataset = get_dataset(dataset_name)
    except ZooError:
        return {}
    facts: dict[str, str] = {}
    if dataset.in_channels == in_channels:
        facts.update(mean=json.dumps(list(dataset.mean)), std=json.dumps(list(dataset.std)))
    if dataset.num_classes == num_classes:
        facts["labels"] = json.dumps(list(dataset.classes))
    return facts
