"""torchvision's ImageNet weights in the zoo's own lesson networks: ``vgg16``, ``vgg19``,
``resnet18`` and ``resnet34`` have torchvision's layouts, up to two differences that change
no output. The lesson's convolutions before batch norm carry biases (set to zero here), and its
ResNet shortcut is one biased 1x1 convolution where torchvision's is a convolution and a batch
norm (folded here into that convolution, as inference folds them). The result is checked by
comparing the two networks' outputs before anything is written.

    python -m zoo_torchvision.lesson resnet18 --weights IMAGENET1K_V1 --out resnet18-imagenet.safetensors
    zoo eval resnet18 --weights resnet18-imagenet.safetensors --data my-photos   # or fine-tune from it
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from zoo_core import WeightsInfo, ZooError, create_model, get_model_spec, save_weights

from .catalogue import NAMESPACE

LESSON = {"vgg16": "vgg16", "vgg19": "vgg19", "resnet18": "resnet18", "resnet34": "resnet34"}
TOLERANCE = 1e-4  # of the largest logit: float32 rounding of a folded batch norm, no more


def lesson_state(model: str, theirs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's ``model`` tensors ``theirs`` under the lesson network's names."""
    ours = create_model(model, num_classes=1000).state_dict()
    state = _resnet(theirs, ours) if model.startswith("resnet") else _vgg(theirs, ours)
    if state.keys() != ours.keys() or any(state[k].shape != ours[k].shape for k in ours):
        raise ZooError(f"torchvision's {model} does not fit the lesson's {model}")
    return state


def import_weights(model: str, tag: str, out: Path) -> WeightsInfo:
    """Write torchvision's ``tag`` weights of ``model`` as the lesson network's ``out`` file
    (safetensors, with their preprocessing and labels), after checking that both networks
    give the same logits."""
    if model not in LESSON:
        raise ZooError(f"{model} has no torchvision layout; choose one of {', '.join(LESSON)}")
    theirs_info = next((w for w in get_model_spec(f"{NAMESPACE}/{model}").weights if w.tag == tag), None)
    if theirs_info is None:
        raise ZooError(f"torchvision has no weights {tag!r} for {model}")
    reference = create_model(f"{NAMESPACE}/{model}", weights=tag).eval()
    state = lesson_state(model, reference.state_dict())
    lesson = create_model(model, num_classes=1000).eval()
    lesson.load_state_dict(state)
    with torch.no_grad():
        x = torch.randn(2, 3, *theirs_info.input_size, generator=torch.Generator().manual_seed(0))
        expected, found = reference(x), lesson(x)
    gap = float((expected - found).abs().max() / expected.abs().max().clamp_min(1e-12))
    if gap > TOLERANCE:
        raise ZooError(
            f"the lesson's {model} with torchvision's {tag} differs from torchvision's by {gap:.2e}"
        )
    info = dataclasses.replace(
        theirs_info,
        model=model,
        tag=None,
        source=f"{theirs_info.source} {model}.{tag}, imported into the lesson network "
        f"(logits within {gap:.1e})",
        params=sum(t.numel() for k, t in state.items() if not k.endswith("num_batches_tracked")),
    )
    save_weights(state, out, info.to_metadata())
    return info


def _conv(state: dict, ours: str, theirs: dict, name: str) -> None:
    weight = theirs[f"{name}.weight"]
    state[f"{ours}.weight"], state[f"{ours}.bias"] = weight, torch.zeros(weight.shape[0])


def _norm(state: dict, ours: str, theirs: dict, name: str) -> None:
    for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        state[f"{ours}.{key}"] = theirs[f"{name}.{key}"]


def _folded(state: dict, ours: str, theirs: dict, conv: str, norm: str, eps: float = 1e-5) -> None:
    """Convolution ``conv`` followed by batch norm ``norm`` (in eval mode) as one biased
    convolution: w * g / sqrt(v + eps), and b - m * g / sqrt(v + eps)."""
    scale = theirs[f"{norm}.weight"] / torch.sqrt(theirs[f"{norm}.running_var"] + eps)
    state[f"{ours}.weight"] = theirs[f"{conv}.weight"] * scale.view(-1, 1, 1, 1)
    state[f"{ours}.bias"] = theirs[f"{norm}.bias"] - theirs[f"{norm}.running_mean"] * scale


def _resnet(theirs: dict, ours: dict) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    _conv(state, "0.0", theirs, "conv1")
    _norm(state, "0.1", theirs, "bn1")
    for stage in range(1, 5):
        block = 0
        while f"layer{stage}.{block}.conv1.weight" in theirs:
            mine, theirs_block = f"{stage}.{block}", f"layer{stage}.{block}"
            for part in ("1", "2"):
                _conv(state, f"{mine}.conv{part}", theirs, f"{theirs_block}.conv{part}")
                _norm(state, f"{mine}.bn{part}", theirs, f"{theirs_block}.bn{part}")
            if f"{theirs_block}.downsample.0.weight" in theirs:
                _folded(
                    state,
                    f"{mine}.conv3",
                    theirs,
                    f"{theirs_block}.downsample.0",
                    f"{theirs_block}.downsample.1",
                )
            block += 1
    head = [k for k in ours if k.endswith(".weight")][-1].removesuffix(".weight")
    state[f"{head}.weight"], state[f"{head}.bias"] = theirs["fc.weight"], theirs["fc.bias"]
    return state


def _vgg(theirs: dict, ours: dict) -> dict[str, torch.Tensor]:
    """Convolutions, then the three linear layers, each a weight and a bias in the same order."""
    if len(theirs) != len(ours):
        raise ZooError(f"torchvision's network has {len(theirs)} tensors, the lesson's {len(ours)}")
    return dict(zip(ours, theirs.values(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(LESSON))
    parser.add_argument("--weights", default="IMAGENET1K_V1", help="torchvision's weights tag")
    parser.add_argument("--out", type=Path, required=True, help="the .safetensors file to write")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; choose another --out")
    info = import_weights(args.model, args.weights, args.out)
    print(f"{args.out}: {info.source}")


if __name__ == "__main__":
    main()
