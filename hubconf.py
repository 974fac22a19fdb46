"""torch.hub entry points for every model the zoo's plugins register.

torch.hub.list("<owner>/zoo")
model = torch.hub.load("/path/to/zoo", "resnet18", source="local", num_classes=10)
"""

from zoo_core.hub import hub_entrypoints as _hub_entrypoints

dependencies = ["torch", "pluggy"]

globals().update(_hub_entrypoints())
