"""Smaller ONNX files: int8 by onnxruntime's static quantization (QDQ format, per-channel int8
weights, uint8 activations, calibrated on the model's training images) and fp16 by onnxruntime's
float16 converter (``onnxruntime.transformers.float16``, the same code as onnxconverter-common's,
without another dependency; inputs and outputs stay float32).

A numerical gate means little once weights are rounded, so a quantized file is gated on what
users care about: top-1 accuracy over the held-out split, onnxruntime against torch, and the
rate at which their predictions agree. Both go into the parity report and the file's metadata.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from zoo_core import DatasetNotFoundError, ExporterOption, ExportError, ExportJob, ZooError

from .onnx_files import INPUT_NAME, add_metadata, checked, ort_session, quiet_logger

PRECISIONS = ("none", "int8", "fp16")
CALIBRATION_BATCH = 64

QUANTIZE_OPTIONS = (
    ExporterOption(
        "quantize",
        str,
        "none",
        "Write a quantized file instead, NAME.int8.onnx or NAME.fp16.onnx: int8 by onnxruntime's static "
        "quantization (QDQ, per-channel), fp16 by its float16 converter.",
        choices=PRECISIONS,
        in_file_name=True,
        bench=True,
    ),
    ExporterOption(
        "calibration_images",
        int,
        512,
        "int8: training images (seeded) that calibrate the activation ranges.",
        min=1,
    ),
    ExporterOption(
        "check_accuracy",
        bool,
        True,
        "Accuracy gate of a quantized file: onnxruntime's and torch's top-1 on the held-out split "
        "(skipped, and said so, when an fp16 export finds no dataset).",
    ),
    ExporterOption(
        "max_accuracy_drop",
        float,
        0.5,
        "Accuracy gate: the most top-1 points a quantized file may lose against torch.",
        min=0,
    ),
)


def quantized(job: ExportJob, path: Path) -> dict[str, Any]:
    """Replace the fp32 graph at ``path`` (checked already) by its ``job.options['quantize']``
    precision, gated on accuracy; return what was done and measured."""
    import onnx

    precision = job.options["quantize"]
    with tempfile.TemporaryDirectory(prefix="zoo-quantize-") as folder:
        work = Path(folder) / f"{precision}.onnx"
        with quiet_logger("root"):  # the quantizer logs through the root logger
            method = _int8(job, path, work) if precision == "int8" else _fp16(path, work)
        accuracy = _accuracy_gate(job, work, precision)
        proto = onnx.load(str(work))
    facts = {"precision": precision, "quantization": method}
    if accuracy.get("exported_accuracy") is not None:
        facts |= {
            "accuracy_data": accuracy["data"],
            "accuracy_torch": f"{accuracy['torch_accuracy']:.4f}",
            "accuracy_onnxruntime": f"{accuracy['exported_accuracy']:.4f}",
            "accuracy_agreement": f"{accuracy['agreement']:.4f}",
        }
    add_metadata(proto, facts)
    path.write_bytes(checked(proto, job.model_name).SerializeToString())
    return {
        "precision": precision,
        "method": method,
        "accuracy": accuracy,
        "summary": [f"{precision}: {method}", _accuracy_line(accuracy)],
    }


def _int8(job: ExportJob, source: Path, target: Path) -> str:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    count = job.options["calibration_images"]
    if job.data is None:
        raise ExportError(f"int8 needs calibration images, and no dataset was given for {job.model_name}")
    try:
        images = job.data.calibration(count).numpy()
    except ZooError as exc:
        raise ExportError(f"int8 needs calibration images, and {exc}") from None

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(
                images[i : i + CALIBRATION_BATCH] for i in range(0, len(images), CALIBRATION_BATCH)
            )

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    prepared = target.with_name("prepared.onnx")
    quant_pre_process(str(source), str(prepared))
    quantize_static(
        str(prepared),
        str(target),
        Batches(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        # 7-bit weights: CPUs without VNNI (AVX2, AVX-512 without VNNI) multiply int8 pairs with a
        # saturating 16-bit add, and full-range weights cost fashion_cnn 4.1 points of top-1 there
        # (0.8948 against 0.9358 on a 2-core AVX2 AMD EPYC); the file runs anywhere, so it is made
        # for the weakest of them (onnxruntime's advice for non-VNNI machines)
        reduce_range=True,
    )
    return (
        f"onnxruntime static quantization (QDQ, per-channel 7-bit int8 weights, uint8 activations), "
        f"calibrated on {len(images):,} training images of {job.data.describe()}"
    )


def _fp16(source: Path, target: Path) -> str:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    converted = OnnxModel(convert_float_to_float16(onnx.load(str(source)), keep_io_types=True))
    converted.topological_sort()  # the converter appends the input casts last; onnx.checker wants order
    onnx.save(converted.model, str(target))
    return "onnxruntime's float16 converter (weights and activations fp16, input and logits float32)"


def _accuracy_gate(job: ExportJob, path: Path, precision: str) -> dict[str, Any]:
    """Compare the file's top-1 with torch's; raise when it loses more than allowed."""
    if not job.options["check_accuracy"]:
        return {"passed": None, "reason": "not checked (--no-check-accuracy)"}
    if job.speed_only:
        return {"passed": None, "reason": "not checked: made to be timed (`zoo export` checks it)"}
    if job.data is None:
        return {"passed": None, "reason": "not checked: no dataset was given"}
    session = ort_session(path)
    name = session.get_inputs()[0].name
    try:
        result = job.data.compare(job.model, lambda x: session.run(None, {name: x.numpy()})[0])
    except DatasetNotFoundError as exc:  # any other fault of the data is the user's to mend
        return {"passed": None, "reason": f"not checked: {exc}"}
    allowed = job.options["max_accuracy_drop"]
    result |= {"max_drop_points": allowed, "passed": result["drop_points"] <= allowed}
    if not result["passed"]:
        raise ExportError(
            f"the {precision} {job.model_name} loses {result['drop_points']:.2f} points of top-1 on "
            f"{result['data']} ({result['exported_accuracy']:.4f}, torch {result['torch_accuracy']:.4f}), "
            f"more than --max-accuracy-drop {allowed:g}; calibrate on more images or keep fp32",
            {"accuracy": result, "summary": [_accuracy_line(result)]},
        )
    return result


def _accuracy_line(accuracy: dict[str, Any]) -> str:
    if accuracy["passed"] is None:
        return f"accuracy: {accuracy['reason']}"
    return (
        f"accuracy on {accuracy['data']} ({accuracy['images']:,} images): onnxruntime "
        f"{accuracy['exported_accuracy']:.4f}, torch {accuracy['torch_accuracy']:.4f} (drop "
        f"{accuracy['drop_points']:.2f} points, at most {accuracy['max_drop_points']:g}); "
        f"predictions agree on {100 * accuracy['agreement']:.2f}%: "
        + ("pass" if accuracy["passed"] else "FAIL")
    )
