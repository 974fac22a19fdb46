"""The real images an export is checked on: calibration images from the training split and the
held-out split of the accuracy gate, preprocessed exactly as the weights were trained. They are
loaded only when an exporter asks, so a plain export never touches the data, and never
downloaded: an export runs where the data already are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..base.progress import batches_in, progress
from ..contract.recipe import Recipe
from ..contract.weights_info import WeightsInfo
from ..data.datasets import get_dataset
from ..data.device_data import Split
from ..data.splits import DataOptions, Splits, load_splits
from ..models.pretrained import WeightsRef
from ..training.evaluation import require_same_classes

ACCURACY_BATCH = 256


@dataclass
class DatasetImages:
    """:class:`~zoo_core.contract.interfaces.ExportData` from a registered dataset: where its images are
    (``data_dir`` None: where its plugin looks), and how they become the exported model's
    input: ``recipe`` (at the export's input size), ``info`` (channels, interpolation, the
    classes the weights predict)."""

    recipe: Recipe
    info: WeightsInfo
    weights: WeightsRef | None
    data_dir: Path | None = None
    _splits: Splits | None = field(default=None, init=False, repr=False)

    def describe(self) -> str:
        return self.recipe.dataset + (f" at {self.data_dir}" if self.data_dir else "")

    def splits(self) -> Splits:
        """The dataset's splits, loaded once; a ZooError saying how to get them when missing."""
        if self._splits is None:
            splits = load_splits(
                get_dataset(self.recipe.dataset),
                self.recipe,
                device=torch.device("cpu"),
                channels=self.info.in_channels,
                options=DataOptions(
                    data_dir=self.data_dir,
                    download=False,
                    interpolation=self.info.interpolation,
                    crop_pct=self.info.crop_pct,
                ),
            )
            require_same_classes(self.info, splits.dataset, self.weights or "a fresh model", self.data_dir)
            self._splits = splits
        return self._splits

    def calibration(self, count: int, *, seed: int = 0) -> torch.Tensor:
        train = self.splits().train
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:count]
        return torch.cat([x for x, _ in train.batches(ACCURACY_BATCH, order=order)])

    def _held_out(self) -> tuple[str, Split]:
        """The split the accuracy gate measures: the test split, else the validation split."""
        splits = self.splits()
        return ("test", splits.test) if splits.test is not None else ("val", splits.val)

    def compare(self, model: torch.nn.Module, run: Callable[[torch.Tensor], Any]) -> dict[str, Any]:
        name, split = self._held_out()
        correct_torch = correct_exported = agree = 0
        batches = progress(
            split.batches(ACCURACY_BATCH), total=batches_in(len(split), ACCURACY_BATCH), desc="accuracy check"
        )
        for x, y in batches:
            with torch.inference_mode():
                expected = model(x).argmax(1)
            found = torch.as_tensor(run(x)).argmax(1)
            correct_torch += int((expected == y).sum())
            correct_exported += int((found == y).sum())
            agree += int((found == expected).sum())
        n = len(split)
        torch_accuracy, exported_accuracy = correct_torch / n, correct_exported / n
        return {
            "data": f"{self.describe()}, {name} split",
            "images": n,
            "torch_accuracy": torch_accuracy,
            "exported_accuracy": exported_accuracy,
            "drop_points": 100 * (torch_accuracy - exported_accuracy),
            "agreement": agree / n,
        }
