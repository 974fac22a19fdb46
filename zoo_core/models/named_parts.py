"""Models with named parts, as timm's are: a feature extractor and a classifier head, stage
feature maps for detection or segmentation, and a head that can be swapped for another task.

The contract a builder's module opts into (every built-in model does):

- ``forward_features(x)``: the last feature map, before any pooling;
- ``forward_head(x)``: the logits from that feature map, so that
  ``forward_head(forward_features(x)) == model(x)``;
- ``reset_classifier(num_classes)``: a freshly initialised last layer for ``num_classes``
  (0 removes it), every other weight untouched;
- ``first_conv`` and ``classifier_layer``: the names of the first convolution and of the last
  linear layer, which trained weights are adapted at for other input channels or classes;
- ``feature_info``: one dict per stage, ``{"module": NAME, "num_chs": C, "reduction": R}``,
  ``NAME`` a submodule (``model.get_submodule(NAME)``) run by ``forward_features`` whose output
  is that stage's feature map, ``R`` its stride from the input.

:class:`SequentialNet` implements it for networks written as one ``nn.Sequential`` (the lesson's
style): the module names, and so the state-dict keys and any trained weights, stay those of the
plain ``Sequential``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..base.errors import ZooError

PARTS = ("forward_features", "forward_head", "reset_classifier", "feature_info")


class SequentialNet(nn.Sequential):
    """A ``Sequential`` whose first ``head`` modules are the features and the rest the
    classifier head; ``stages`` name the modules whose outputs are the stage feature maps."""

    def __init__(self, *modules: nn.Module, head: int, stages: Sequence[tuple[str, int, int]]) -> None:
        super().__init__(*modules)
        if not 0 < head < len(self):
            raise ValueError(f"head must split the {len(self)} modules, got {head}")
        self.head_start = head
        self.feature_info: list[dict[str, Any]] = [
            {"module": name, "num_chs": channels, "reduction": reduction}
            for name, channels, reduction in stages
        ]
        for stage in self.feature_info:
            self.get_submodule(stage["module"])  # a typo fails when the model is built

    def _part(self, start: int, stop: int | None) -> nn.Sequential:
        return nn.Sequential(OrderedDict(list(self._modules.items())[start:stop]))  # keeps the names

    @property
    def features(self) -> nn.Sequential:
        """The feature extractor (shares its modules with this model)."""
        return self._part(0, self.head_start)

    @property
    def classifier(self) -> nn.Sequential:
        """The head: pooling and the fully connected layers (shares its modules with this model)."""
        return self._part(self.head_start, None)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for module in list(self._modules.values())[: self.head_start]:
            x = module(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        for module in list(self._modules.values())[self.head_start :]:
            x = module(x)
        return x

    @property
    def first_conv(self) -> str:
        """The name of the first convolution of the features, the layer adapted to other input
        channels (timm's ``pretrained_cfg["first_conv"]``)."""
        names = [n for n, m in self.features.named_modules() if isinstance(m, nn.Conv2d)]
        if not names:
            raise ZooError("this model's features have no convolution")
        return names[0]

    @property
    def classifier_layer(self) -> str:
        """The name of the head's last linear layer, the one a new task replaces (timm's
        ``pretrained_cfg["classifier"]``)."""
        names = [n for n, m in self.classifier.named_modules() if isinstance(m, nn.Linear)]
        if not names:
            raise ZooError("this model's head has no linear layer to reset")
        return names[-1]

    def reset_classifier(self, num_classes: int) -> None:
        """A new last linear layer for ``num_classes`` (default initialisation), or none for 0."""
        name = self.classifier_layer
        old = self.get_submodule(name)
        new: nn.Module = nn.Identity()
        if num_classes:
            new = nn.Linear(old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
        parent, _, leaf = name.rpartition(".")
        setattr(self.get_submodule(parent) if parent else self, leaf, new)


def has_parts(model: nn.Module) -> bool:
    """Whether ``model`` implements the named-parts contract."""
    return all(hasattr(model, part) for part in PARTS)


class FeatureMaps(nn.Module):
    """The stage feature maps of ``model`` at ``out_indices`` (indices into its
    ``feature_info``), as a list; timm's ``features_only=True``. The classifier head is
    dropped (a :class:`SequentialNet` keeps only its features); hooks on the stage modules
    collect their outputs while the features run."""

    def __init__(self, model: nn.Module, out_indices: Sequence[int] | None = None) -> None:
        super().__init__()
        if not has_parts(model):
            raise ZooError(
                f"{type(model).__name__} has no named parts ({', '.join(PARTS)}), so it cannot give "
                "feature maps; `zoo info NAME` says which models can"
            )
        stages = list(model.feature_info)
        count = len(stages)
        indices = list(range(count)) if out_indices is None else [int(i) for i in out_indices]
        bad = [i for i in indices if not -count <= i < count]
        if bad or not indices:
            raise ZooError(
                f"out_indices {tuple(out_indices or ())} do not name stages of this model; it has {count} "
                f"(0 to {count - 1})"
            )
        self.feature_info = [stages[i] for i in indices]
        self.sequential = isinstance(model, SequentialNet)
        if self.sequential:
            self.body: nn.Module = model.features  # the same module names, no head
        else:
            model.reset_classifier(0)
            self.body = model
        self._outputs: dict[str, torch.Tensor] = {}
        for name in dict.fromkeys(stage["module"] for stage in self.feature_info):
            self.body.get_submodule(name).register_forward_hook(self._keep(name))

    def _keep(self, name: str):
        def hook(_module: nn.Module, _args: Any, output: torch.Tensor) -> None:
            self._outputs[name] = output

        return hook

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        self._outputs = {}
        self.body(x) if self.sequential else self.body.forward_features(x)
        found, self._outputs = self._outputs, {}
        return [found[stage["module"]] for stage in self.feature_info]
