"""The example plugin's exporter: the weights as a NumPy ``.npz`` archive (one array per tensor,
plus the model's metadata as a JSON string), for tools that read NumPy but not torch. The file is
read back without pickle and compared with the model before the zoo keeps it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo_core import ExportError, ExportJob

METADATA = "__zoo__"  # the array holding the metadata JSON


def export_npz(job: ExportJob, path: Path) -> dict[str, Any]:
    import numpy as np  # comes with torch, which built the model

    arrays = {name: tensor.detach().cpu().numpy() for name, tensor in job.model.state_dict().items()}
    save = np.savez_compressed if job.options["compress"] else np.savez
    with path.open("wb") as file:  # a file object: numpy would append ".npz" to a bare name
        save(file, **arrays, **{METADATA: np.array(json.dumps(job.metadata))})
    with np.load(path, allow_pickle=False) as loaded:
        same = set(loaded.files) == {*arrays, METADATA} and all(
            np.array_equal(loaded[name], array) for name, array in arrays.items()
        )
        same = same and json.loads(str(loaded[METADATA])) == job.metadata
    if not same:
        raise ExportError(
            f"npz reload check failed for {job.model_name}: the archive does not hold the weights"
        )
    return {"check": "read back without pickle, every array equal", "arrays": len(arrays)}
