"""Shell completion (click's: ``eval "$(_ZOO_COMPLETE=bash_source zoo)"``): what a model name,
a weights tag, a dataset or a training part may be, from the registries."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click
from click.shell_completion import CompletionItem

from ..host.entries import PartSpec
from ..host.plugins import dataset_registry, model_registry, part_registry

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _matching(names: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching(model_registry().names(), incomplete)


def weights_tags(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The tags of the model the command names, when click has parsed it by then, else of every
    model (click parses a command's arguments after the option being completed)."""
    name = ctx.params.get("name")
    registry = model_registry()
    names = [name] if name in registry.names() else registry.names()
    tags = dict.fromkeys(w.tag for n in names for w in registry.get(n).weights if w.tag)
    return _matching(tags, incomplete)


def datasets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _matching(dataset_registry().names(), incomplete)


def parts(kind: type[PartSpec], *, listed: bool = False) -> Completer:
    """Names of ``kind``; ``listed``: the last of a comma-separated list (``--augment flip,sh``)."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        done, _, last = incomplete.rpartition(",") if listed else ("", "", incomplete)
        prefix = f"{done}," if done else ""
        return [CompletionItem(prefix + item.value) for item in _matching(part_registry(kind).names(), last)]

    return complete
