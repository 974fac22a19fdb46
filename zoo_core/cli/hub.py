"""Commands that move weights between machines: publish, pull, and ``zoo weights list|verify``."""

from __future__ import annotations

from pathlib import Path

import click

from ..base.errors import ZooError
from ..base.tables import human_size
from ..models.pretrained import get_weights
from ..store.hub import locate
from ..store.manifest import metric_text, recipe_summary
from ..store.publish import index_hub, offers, publish, verify_local
from . import completion as complete
from .app import cli, echo_json, echo_table, hub_token_option

HUB_HELP = "A hub: an http(s):// or file:// URL, or a folder (default: $ZOO_HUB, else the manifest's)."


@cli.command("publish")
@click.argument("run", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tag", required=True, help="The weights tag to publish under, e.g. the dataset's name.")
@click.option("--to", "to", required=True, help="The hub folder.")
@click.option("--license", "license_", help="The weights' license, e.g. MIT or CC-BY-4.0.")
@click.option("--force", is_flag=True, help="Replace the hub's weights of the same model and tag.")
@click.option("--json", "as_json", is_flag=True, help="Print the published entry as JSON.")
def publish_command(run: Path, tag: str, to: str, license_: str | None, force: bool, as_json: bool) -> None:
    """Publish the best weights of the finished training RUN folder to a hub folder: a bundle
    TO/MODEL/TAG/ (model.safetensors + zoo.json) and its entry in TO/manifest.json."""
    entry = publish(run, tag=tag, to=to, license=license_, force=force)
    if as_json:
        echo_json(entry.to_dict())
        return
    accuracy = entry.metrics.get("test_accuracy")
    click.echo(
        f"published {entry.name} to {entry.file.parent if entry.file else to}"
        + (f" (test accuracy {accuracy:.4f})" if accuracy is not None else "")
    )


@cli.group("hub")
def hub_group() -> None:
    """A hub folder's own chores."""


@hub_group.command("index")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def hub_index(folder: Path) -> None:
    """Write FOLDER's browsable pages from its manifest: index.html (every model and tag, with
    its accuracy, license, size, sha256 and pull command) and MODEL/TAG/index.html per bundle.
    `zoo publish` writes them too; serve the folder with any static file host."""
    pages = index_hub(folder)
    click.echo(f"wrote {len(pages)} page(s): {pages[0]}")


@cli.command("pull")
@click.argument("name", shell_complete=complete.models)
@click.option(
    "--weights",
    "tag",
    shell_complete=complete.weights_tags,
    help="The weights tag (default: the model's first).",
)
@click.option("--hub", help=HUB_HELP)
@hub_token_option
@click.option("--progress/--no-progress", default=True, help="A progress bar on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the entry, with its local file, as JSON.")
def pull_command(name: str, tag: str | None, hub: str | None, progress: bool, as_json: bool) -> None:
    """Fetch model NAME's weights into the cache (sha256-checked) and print where they are."""
    found = locate(get_weights(name, tag or True, hub=hub), hub=hub, progress=progress)
    if as_json:
        echo_json({**found.to_dict(), "file": str(found.file)})
        return
    click.echo(f"{found.name}: {found.file}")


@cli.group("weights")
def weights_group() -> None:
    """What trained weights there are and where: list them, verify the local files."""


@weights_group.command("list")
@click.option("--hub", help="List what this hub offers instead of the installed plugins' weights.")
@hub_token_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def weights_list(hub: str | None, as_json: bool) -> None:
    """The weights the installed plugins (or a hub) offer: size, accuracy, license, and where
    this machine has them (checkout, cache, or - for not yet downloaded)."""
    found = offers(hub)
    if as_json:
        echo_json([{**o.info.to_dict(), "local": o.where} for o in found])
        return
    if not found:
        raise ZooError(f"{hub or 'the installed plugins'} offer no weights")
    rows = [
        (
            o.info.name,
            human_size(o.info.size),
            metric_text(o.info.metrics, "test_accuracy"),
            metric_text(o.info.metrics, "test_accuracy_tta"),
            o.info.license or "-",
            o.where,
            recipe_summary(o.info.recipe),
        )
        for o in found
    ]
    echo_table(
        ("weights", "size", "test acc", "flip TTA", "license", "local", "recipe"), rows, right=(1, 2, 3)
    )


@weights_group.command("verify")
@click.option(
    "--json", "as_json", is_flag=True, help="Print each file's check as JSON (exit 1 if one failed)."
)
def weights_verify(as_json: bool) -> None:
    """Re-hash every weights file in the checkout and the cache against its recorded sha256."""
    checks = verify_local()
    if as_json:
        echo_json(
            [
                {"name": c.name, "file": str(c.file), "ok": c.problem is None, "problem": c.problem}
                for c in checks
            ]
        )
        if any(c.problem is not None for c in checks):
            raise SystemExit(1)
        return
    for check in checks:
        click.echo(f"{'ok' if check.problem is None else 'FAILED'}  {check.name}  {check.file}")
    bad = [c for c in checks if c.problem is not None]
    for check in bad:
        click.echo(f"Error: {check.problem}", err=True)
    if bad:
        raise SystemExit(1)
    click.echo(f"{len(checks)} file(s) verified")
