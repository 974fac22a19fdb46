"""Exceptions for mistakes a user can fix; each message says what was wrong and what would be right."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ZooError(Exception):
    """A user-facing error: the CLI prints its one-line message without a traceback."""


class UnknownModelError(ZooError, KeyError):
    """A model (or dataset, or exporter) name that no plugin registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BuilderArgumentError(ZooError, TypeError):
    """A keyword argument that a model's builder does not accept, or a bad value for one."""


class PluginError(ZooError):
    """A plugin that failed to load or register, or two plugins claiming one name."""


class PluginWarning(UserWarning):
    """A plugin was skipped; the rest of the zoo still works."""


class WeightsError(ZooError):
    """A weights tag that does not exist, a file or header that fails its checks, or weights
    that do not fit the model."""


class HubError(WeightsError):
    """Weights could not be fetched from a hub: unreachable, missing, offline or tampered."""


class DatasetNotFoundError(ZooError):
    """No copy of a dataset anywhere its loader looked, and no download."""


class ExportError(ZooError):
    """An export that failed or did not pass its check; its file was not kept. ``report`` holds
    what the exporter measured before it gave up (a parity table, say); ``written`` the reports
    of the other formats' files, which were kept."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report or {}
        self.written: list[dict[str, Any]] = []


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix naming the closest choices, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
