"""torch.hub entry points for every model the zoo's plugins register, third-party ones included.

torch.hub.list("<owner>/zoo")
model = torch.hub.load("<owner>/zoo", "resnet18_small", weights="fashion_mnist")
model = torch.hub.load("/path/to/zoo", "resnet18", source="local", num_classes=10)
"""

from zoo_core.hub import hub_entrypoints as _hub_entrypoints

dependencies = ["torch", "pluggy", "safetensors"]

globals().update(_hub_entrypoints())
