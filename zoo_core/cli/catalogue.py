"""Commands that describe the zoo: list, info, summary, plugins, graph."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ..base.errors import PluginWarning, ZooError
from ..contract.weights_info import WeightsInfo
from ..host import plugins
from ..host.entries import PART_KINDS, AugmentationSpec, PartSpec
from ..models.build import count_params
from ..models.catalogue import get_model_spec, list_models
from ..models.factory import create_model, skeleton
from ..models.facts import model_facts
from ..models.pretrained import is_fetched
from ..store.download import shown
from ..store.manifest import CARD_HEADERS, CARD_RIGHT, card_rows
from ..store.paths import hub_override
from ..store.publish import where
from . import completion as complete
from .app import cli, echo_json, echo_table, parse_shape, shape_text


def _whereabouts(info: WeightsInfo) -> str:
    """Where weights are, or would come from: on this machine, a hub, or nowhere yet."""
    if is_fetched(info):
        return f"{info.source or 'its plugin'}'s cache"
    local = where(info)
    if local != "-":
        return local
    hub = hub_override() or info.hub
    return f"hub {shown(hub)}" if hub else "nowhere yet"


@cli.command("list")
@click.argument("pattern", required=False)
@click.option("--pretrained", is_flag=True, help="Only models with trained weights, one row per weights tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(pattern: str | None, pretrained: bool, as_json: bool) -> None:
    """List registered models, optionally filtered by a shell PATTERN such as 'res*'."""
    specs = [get_model_spec(name) for name in list_models(pattern)]
    if pretrained:
        specs = [s for s in specs if s.weights]
    if as_json:
        echo_json([spec.to_dict() for spec in specs])
        return
    if not specs:
        matching = f" matching {pattern!r}" if pattern else ""
        if pretrained:
            raise ZooError(
                f"no model{matching} has trained weights; see a hub's with `zoo weights list --hub URL`"
            )
        raise ZooError(f"no model matches {pattern!r}; run `zoo list` to see them all")
    if pretrained:
        entries = [w for s in specs for w in s.weights]
        rows = [
            (*row[:-1], _whereabouts(e), row[-1]) for e, row in zip(entries, card_rows(entries), strict=True)
        ]
        echo_table((*CARD_HEADERS[:-1], "where", CARD_HEADERS[-1]), rows, right=CARD_RIGHT)
        return
    echo_table(
        ("name", "params", "input", "classes", "plugin"),
        [(s.name, f"{s.params:,}", shape_text(s.input_shape), s.num_classes, s.origin.plugin) for s in specs],
        right=(1, 3),
    )


@cli.command()
@click.argument("name", shell_complete=complete.models)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(name: str, as_json: bool) -> None:
    """Describe model NAME: parameters, FLOPs at its default input, recipe and plugin."""
    spec = get_model_spec(name)
    facts = model_facts(spec)
    flops, stages = facts["flops"], facts["feature_info"]
    if as_json:
        echo_json({**spec.to_dict(), "flops": flops, "feature_info": stages})
        return
    click.echo(f"{spec.name}: {spec.description}")
    echo_table(
        None,
        [
            ("params", f"{spec.params:,}"),
            ("input", shape_text(spec.input_shape)),
            ("classes", spec.num_classes),
            ("FLOPs", f"{flops / 1e9:.3f} G (forward, batch 1)"),
            ("tags", ", ".join(spec.tags) or "-"),
            ("features", _stages_text(stages)),
            ("plugin", str(spec.origin)),
        ],
    )
    if spec.weights:
        click.echo("trained weights:")
        echo_table(CARD_HEADERS, card_rows(list(spec.weights)), right=CARD_RIGHT)
    others = ", ".join(r.name for r in spec.recipes)
    click.echo(f"default recipe {spec.recipe.name!r}" + (f" (also: {others})" if others else "") + ":")
    echo_table(
        None,
        [(f"  {k}", _recipe_value(k, v)) for k, v in spec.recipe.to_dict().items() if k != "name"],
    )


def _stages_text(stages: list[dict] | None) -> str:
    """The stage feature maps ``features_only`` gives, or why there are none."""
    if stages is None:
        return "no named parts (no features_only, reset_classifier or fine-tuning of the head alone)"
    maps = ", ".join(f"{s['num_chs']}@/{s['reduction']}" for s in stages)
    return f"{len(stages)} stages ({maps}: channels@stride); forward_features, reset_classifier"


# recipe fields that name training parts, and the kind of part each names
PART_FIELDS = {kind.kind: kind for kind in PART_KINDS} | {"augment": AugmentationSpec}


def _recipe_value(key: str, value: object) -> str:
    """A recipe field as `zoo info` shows it: a part's name with the plugin that registered it."""
    if key in PART_FIELDS and value:
        names = value if isinstance(value, list) else [value]
        return ", ".join(f"{name} ({_part_plugin(PART_FIELDS[key], str(name))})" for name in names)
    if key == "options":
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"  # type: ignore[attr-defined]
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def _part_plugin(kind: type[PartSpec], name: str) -> str:
    registry = plugins.part_registry(kind)
    return registry.get(name).origin.plugin if name in registry.names() else "not registered"


@cli.command()
@click.argument("name", shell_complete=complete.models)
@click.option("--input-size", help="Input as C,H,W (default: the model's); C sets in_channels.")
@click.option("--num-classes", type=click.IntRange(min=1), help="Classes of the head.")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many module levels down to report.",
)
def summary(name: str, input_size: str | None, num_classes: int | None, depth: int) -> None:
    """Per-layer output shapes and parameter counts of model NAME for one input."""
    from ..models.summary import layer_summary  # imports torch

    spec = get_model_spec(name)
    shape = parse_shape(input_size, length=3, what="--input-size") if input_size else spec.input_shape
    model = create_model(name, in_channels=shape[0], num_classes=num_classes)
    try:
        rows = layer_summary(model, shape, depth=depth)
    except RuntimeError as exc:
        raise ZooError(
            f"{name} cannot take a {shape_text(shape)} input: {str(exc).splitlines()[0]}"
        ) from None
    echo_table(
        ("layer", "type", "output shape", "params"),
        [
            (r.name, r.kind, shape_text(r.output_shape) if r.output_shape else "-", f"{r.params:,}")
            for r in rows
        ],
        right=(3,),
    )
    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    click.echo(f"input {shape_text(shape)}; {total:,} parameters ({trainable:,} trainable)")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--check",
    is_flag=True,
    help="Build every model on the meta device and compare its parameters with the declared count.",
)
def plugins_command(as_json: bool, check: bool) -> None:
    """List plugins: distribution, version, hooks, models, and why any failed."""
    if check:
        _check_models()
        return
    infos = plugins.plugin_infos()
    if as_json:
        echo_json([info.to_dict() for info in infos])
        return
    echo_table(
        ("plugin", "distribution", "status", "hooks", "registers"),
        [
            (
                i.name,
                f"{i.origin.distribution or '-'} {i.origin.version or ''}".strip(),
                i.status if i.error is None else f"failed: {i.error}",
                ", ".join(h.removeprefix("zoo_") for h in i.hooks) or "-",
                "; ".join(f"{kind}: {', '.join(names)}" for kind, names in i.registered.items() if names)
                or "-",
            )
            for i in infos
        ],
    )


def _check_models() -> None:
    """One line per model: its declared and counted parameters, or why it cannot be built."""
    problems = 0
    for name in list_models():
        spec = get_model_spec(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PluginWarning)  # the line below says it
                counted = count_params(skeleton(name))
        except ZooError as exc:
            problems += 1
            click.echo(f"FAILED  {name}: {exc}")
            continue
        if counted == spec.params:
            click.echo(f"ok      {name}: {counted:,} parameters")
        else:
            problems += 1
            click.echo(f"WRONG   {name} (plugin {spec.origin}): declares {spec.params:,}, has {counted:,}")
    if problems:
        raise ZooError(f"{problems} model(s) failed the check")


@cli.command()
@click.argument("name", shell_complete=complete.models)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Picture to write: .svg, .png or .pdf.",
)
@click.option("--input-size", help="Input as C,H,W (default: the model's).")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="How many module levels to expand.",
)
def graph(name: str, output: Path, input_size: str | None, depth: int) -> None:
    """Draw model NAME's layer graph to a picture (needs Graphviz's `dot`)."""
    from ..models.graph import draw_graph  # imports torch

    spec = get_model_spec(name)
    shape = parse_shape(input_size, length=3, what="--input-size") if input_size else spec.input_shape
    draw_graph(create_model(name, in_channels=shape[0]), shape, output, depth=depth)
    click.echo(f"wrote {output}")
