"""Value checks shared by every schema the zoo validates (recipes, weights, registrations):
JSON numbers are ints or floats, but a bool is neither, and NaN or infinity is no number."""

from __future__ import annotations

import math
from typing import Any


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def is_number(value: Any) -> bool:
    """An int or a finite float."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))
