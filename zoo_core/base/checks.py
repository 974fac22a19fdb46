"""Value checks shared by every schema the zoo validates (recipes, weights, registrations):
JSON numbers are ints or floats, but a bool is neither, and NaN or infinity is no number; a
registered name and a weights tag each follow one rule, wherever they come in from (a plugin, a
command line, a hub's manifest, a bundle), since both end up in file and folder names."""

from __future__ import annotations

import math
import re
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_RULE = "lowercase letters, digits and underscores, starting with a letter"
MODEL_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)?$")
MODEL_RULE = f"{NAME_RULE}, optionally after a plugin's namespace and a slash (timm/resnet50)"
NAMESPACE = "/"  # timm/resnet50: the model resnet50 of the namespace timm
PATH_NAMESPACE = "--"  # the same model in a file or folder name: timm--resnet50
TAG_RULE = (
    "1 to 64 printable characters, not starting with a dot or a dash, with no slash, backslash, "
    "colon or space at either end (e.g. v1.2, mine-2026, or the name of the dataset)"
)
TAG_FORBIDDEN = re.compile(r"[/\\:]")


def is_name(value: Any) -> bool:
    """A registered name: a model, a dataset, a format, a part (lowercase, digits, underscores)."""
    return isinstance(value, str) and NAME_PATTERN.match(value) is not None


def is_model_name(value: Any) -> bool:
    """A model's name: a registered name, or ``NAMESPACE/name`` for a model of a plugin that
    owns that namespace (``timm/resnet50``)."""
    return isinstance(value, str) and MODEL_PATTERN.match(value) is not None


def path_name(model: str) -> str:
    """``model`` as one file or folder name segment: the namespace's slash becomes ``--``, which
    no name contains, so the segment maps back to one model (Hugging Face's cache does the same)."""
    return model.replace(NAMESPACE, PATH_NAMESPACE)


def is_tag(value: Any) -> bool:
    """A weights tag: one folder and file-name segment that cannot leave the folder it is put in
    (no separator, no leading dot, so never ``.`` or ``..``), no control character or newline,
    and short; letters of any script are fine."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and value.isprintable()
        and value == value.strip()
        and not value.startswith((".", "-"))
        and TAG_FORBIDDEN.search(value) is None
    )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def is_number(value: Any) -> bool:
    """An int or a finite float."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))
