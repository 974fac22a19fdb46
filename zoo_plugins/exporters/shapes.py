"""The input shapes an exported file accepts, shared by the ONNX and ExportedProgram exporters:
any batch size always, and with ``--dynamic-size`` any height and width, for models that allow
it (those that pool adaptively). A model that does not is told apart before exporting, by
running it at the other sizes the parity gate will check: a dynamic axis that the model cannot
honour would otherwise be exported and fail only when a user feeds it another size."""

from __future__ import annotations

from typing import Any

from zoo_core import ExporterOption, ExportError, ExportJob

MAX_BATCH = 4096
MAX_SIDE = 4096
OTHER_BATCH_SIZES = (1, 2)  # the parity gate's batch sizes at the sizes besides the default

DYNAMIC_SIZE = ExporterOption(
    "dynamic_size",
    bool,
    False,
    "Export height and width as dynamic axes too (models that pool adaptively), checked at two more sizes.",
)


def dynamic_shapes(job: ExportJob) -> tuple[dict[int, Any], ...]:
    """``torch.export``'s ``dynamic_shapes`` for the model's one input."""
    import torch

    dim = torch.export.Dim
    axes = {0: dim("batch", min=1, max=MAX_BATCH)}
    if job.options["dynamic_size"]:
        # torch works out the sizes each model allows (a named Dim must state them up front)
        axes |= {2: dim.DYNAMIC, 3: dim.DYNAMIC}
    return (axes,)


def name_size_axes(proto: Any) -> None:
    """Call the ONNX graph's dynamic height and width axes so, as its batch axis is named,
    wherever torch's symbols for them appear."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    names = {
        dims[axis].dim_param: label for axis, label in ((2, "height"), (3, "width")) if dims[axis].dim_param
    }
    for value in [*proto.graph.input, *proto.graph.output, *proto.graph.value_info]:
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param in names:
                d.dim_param = names[d.dim_param]


def checked_shapes(
    job: ExportJob, batch_sizes: tuple[int, ...]
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The (input shape, batch sizes) pairs the parity gate checks: the default shape at
    ``batch_sizes``, and with ``dynamic_size`` two larger ones, refused in one line when the
    model cannot take them."""
    shapes = [(job.input_shape, batch_sizes)]
    if not job.options["dynamic_size"]:
        return shapes
    import torch

    channels, height, width = job.input_shape
    for h, w in ((height * 3 // 2, width * 3 // 2), (2 * height, 2 * width)):
        shape = (channels, min(h, MAX_SIDE), min(w, MAX_SIDE))
        try:
            with torch.inference_mode():
                job.model(torch.zeros(1, *shape))
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExportError(
                f"{job.model_name} takes only {height}x{width} inputs, not {shape[1]}x{shape[2]} ({reason}); "
                "export it without --dynamic-size"
            ) from None
        shapes.append((shape, OTHER_BATCH_SIZES))
    return shapes
