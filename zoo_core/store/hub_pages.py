"""A hub you can browse: ``index.html`` beside the manifest, a table of every model and tag,
and ``MODEL/TAG/index.html`` per bundle with its card and the figures its run drew.

Plain static files that any host serves, written from the manifest by ``zoo publish`` and
``zoo hub index``. Every value is HTML-escaped (a hub's manifest is data, not markup); one line
of script fills in the pull command's hub address from the page's own, and without it the
command names the hub as ``HUB``.
"""

from __future__ import annotations

import shlex
from html import escape
from pathlib import Path
from urllib.parse import quote

from ..base.atomic import write_bytes
from ..base.tables import human_size
from ..contract.weights_info import WeightsInfo
from .bundle import INFO_FILE, WEIGHTS_FILE, bundle_place
from .manifest import metric_text, recipe_summary

INDEX = "index.html"
FIGURE_SUFFIX = ".png"

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 13px; }
img { max-width: 100%; border: 1px solid #eee; }
"""

# fills in the hub's address (this page's, without index.html and the bundle's folders)
HUB_SCRIPT = """
<script>
for (const el of document.querySelectorAll("[data-hub-levels]")) {
  el.textContent = new URL("../".repeat(Number(el.dataset.hubLevels)) || "./", location.href).href;
}
</script>
"""


def write_pages(hub: Path, entries: list[WeightsInfo]) -> list[Path]:
    """Write the hub's ``index.html`` and each bundle's page; returns the pages written."""
    written = [hub / INDEX]
    write_bytes(hub / INDEX, render_index(entries).encode())
    for entry in entries:
        folder = hub / bundle_place(entry.model, str(entry.tag))
        if folder.is_dir():
            figures = sorted(p.name for p in folder.glob(f"*{FIGURE_SUFFIX}") if p.is_file())
            write_bytes(folder / INDEX, render_bundle(entry, figures).encode())
            written.append(folder / INDEX)
    return written


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n{HUB_SCRIPT}</body>\n</html>\n"
    )


def _pull(entry: WeightsInfo, levels: int) -> str:
    """The command that pulls ``entry``, quoted for a shell; the page ``levels`` folders below
    the hub fills in the hub's address."""
    command = f"zoo pull {shlex.quote(entry.model)} --weights {shlex.quote(str(entry.tag))} --hub "
    hub = f'<span class="hub" data-hub-levels="{levels}">HUB</span>'
    return f'<code class="pull">{escape(command)}{hub}</code>'


def render_index(entries: list[WeightsInfo]) -> str:
    rows = []
    for e in entries:
        sha256 = e.sha256 or ""
        link = escape(f"{quote(bundle_place(e.model, str(e.tag)))}/{INDEX}", quote=True)
        rows.append(
            "<tr>"
            f'<td><a href="{link}">{escape(e.name)}</a></td>'
            f'<td class="n">{metric_text(e.metrics, "test_accuracy")}</td>'
            f'<td class="n">{metric_text(e.metrics, "test_accuracy_tta")}</td>'
            f"<td>{escape(e.license or '-')}</td>"
            f'<td class="n">{human_size(e.size)}</td>'
            f'<td><code title="{escape(sha256, quote=True)}">{escape(sha256[:12] or "-")}</code></td>'
            f"<td>{_pull(e, 0)}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("weights", "test acc", "flip TTA", "license", "size", "sha256", "pull")
    )
    body = (
        "<h1>Trained weights</h1>\n"
        f'<p>{len(entries)} bundle(s), listed in <a href="manifest.json">manifest.json</a>; each file\'s '
        "sha256 is checked before it is loaded. The headline accuracy is a single pass on the test split "
        "of the run's dataset; flip TTA averages each image with its mirror image.</p>\n"
        f'<table id="weights">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )
    return _page("Trained weights", body)


def render_bundle(entry: WeightsInfo, figures: list[str]) -> str:
    facts = {
        "model": entry.model,
        "tag": str(entry.tag),
        "input": f"{entry.in_channels}x{entry.input_size[0]}x{entry.input_size[1]}",
        "normalisation": f"mean {list(entry.mean or ())}, std {list(entry.std or ())}",
        f"classes ({entry.num_classes})": ", ".join(entry.labels) or "-",
        "dataset": entry.dataset or "-",
        "test accuracy": metric_text(entry.metrics, "test_accuracy"),
        "flip TTA": metric_text(entry.metrics, "test_accuracy_tta"),
        "test loss": metric_text(entry.metrics, "test_loss"),
        "recipe": recipe_summary(entry.recipe),
        "license": entry.license or "-",
        "source": entry.source or "-",
        "created": entry.created or "-",
        "sha256": entry.sha256 or "-",
        "size": human_size(entry.size),
    }
    card = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts.items())
    images = "\n".join(
        f'<figure><img src="{escape(name, quote=True)}" alt="{escape(name, quote=True)}">'
        f"<figcaption>{escape(name)}</figcaption></figure>"
        for name in figures
    )
    body = (
        f'<p><a href="../../{INDEX}">All weights</a></p>\n<h1>{escape(entry.name)}</h1>\n'
        f"<p>{_pull(entry, 2)}</p>\n"
        f'<p>Files: <a href="{WEIGHTS_FILE}">{WEIGHTS_FILE}</a>, <a href="{INFO_FILE}">{INFO_FILE}</a></p>\n'
        f'<table id="card">\n{card}\n</table>\n{images}'
    )
    return _page(entry.name, body)
