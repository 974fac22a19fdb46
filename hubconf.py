"""torch.hub entry points for every model the zoo's plugins register, third-party ones included.

torch.hub.list("<owner>/zoo")
model = torch.hub.load("<owner>/zoo", "resnet18_small", weights="fashion_mnist")
model = torch.hub.load("/path/to/zoo", "resnet18", source="local", num_classes=10)
"""

import importlib.util

dependencies = ["torch", "pluggy", "safetensors", "platformdirs"]

# torch.hub checks `dependencies` only after this file has run; check them first, so that a
# missing one gives torch's own message rather than an ImportError from inside zoo_core.
_missing = [name for name in dependencies if importlib.util.find_spec(name) is None]
if _missing:
    raise RuntimeError(f"Missing dependencies: {', '.join(_missing)}")

from zoo_core.torch_hub import hub_entrypoints as _hub_entrypoints  # noqa: E402 - after the check

globals().update(_hub_entrypoints())
