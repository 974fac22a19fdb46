"""A hub you can browse, checked in a real headless browser (Debian's ``chromium``, which
``install.sh`` installs): the index's table and links, a bundle's card and figures, the pull
command the page's script completes, and a screenshot kept in ``artifacts/`` for CI."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
from PIL import Image

from zoo_core import read_manifest
from zoo_core.store.publish import index_hub, publish

from .helpers import ROOT
from .hub_server import HubServer

SHIPPED = ROOT / "weights" / "lenet5" / "fashion_mnist" / "model.safetensors"
ARTIFACTS = ROOT / "artifacts"
TAGS = ("café v1", "t2")


class Page(HTMLParser):
    """What a test reads from a page: its links, images, table rows and pull commands."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.rows: list[list[str]] = []
        self.pulls: list[str] = []
        self._cell: list[str] | None = None
        self._pull: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        elif tag == "img":
            self.images.append(found.get("src") or "")
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "code" and found.get("class") == "pull":
            self._pull = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "code" and self._pull is not None:
            self.pulls.append("".join(self._pull))
            self._pull = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._pull):
            if part is not None:
                part.append(data)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("the hub pages are tested in chromium: install it (install.sh does, with apt)")
    return found


def browse(url: str, *extra: str) -> subprocess.CompletedProcess:
    """``url`` in headless chromium, after its scripts ran (``--dump-dom``, or ``extra`` flags)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *(extra or ("--dump-dom",))]
    return subprocess.run([chromium(), *flags, url], capture_output=True, text=True, timeout=120)


def fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status


@pytest.fixture
def hub(tmp_path) -> Path:
    """A hub of two bundles published from a run that drew a figure, one tag not ASCII."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.safetensors").write_bytes(SHIPPED.read_bytes())
    (run / "report.json").write_text('{"test_accuracy": 0.9, "test_loss": 0.3}')
    Image.fromarray(np.full((60, 80, 3), 120, dtype=np.uint8)).save(run / "curves.png")
    for tag in TAGS:
        publish(run, tag=tag, to=tmp_path / "hub", license="MIT")
    return tmp_path / "hub"


def test_the_hub_index_lists_every_bundle_with_working_links_in_a_browser(hub) -> None:
    entries = read_manifest(hub / "manifest.json")
    with HubServer(hub) as server:
        shown = browse(server.url + "index.html")
        assert shown.returncode == 0, shown.stderr[-2000:]
        page = Page(shown.stdout)
        header, *rows = page.rows
        assert header == ["weights", "test acc", "flip TTA", "license", "size", "sha256", "pull"]
        assert sorted(row[0] for row in rows) == sorted(f"lenet5.{tag}" for tag in TAGS)
        for row, entry in zip(sorted(rows), sorted(entries, key=lambda e: e.name), strict=True):
            assert row[1] == "0.9000" and row[3] == "MIT" and entry.sha256.startswith(row[5])
        # the page's script put the hub's own address into each pull command
        assert sorted(page.pulls) == sorted(
            [
                f"zoo pull lenet5 --weights 'café v1' --hub {server.url}",
                f"zoo pull lenet5 --weights t2 --hub {server.url}",
            ]
        )
        for link in page.links:
            assert fetch(urljoin(server.url, link)) == 200, link

        bundle_url = urljoin(server.url, next(link for link in page.links if "caf" in link))
        bundle = Page(browse(bundle_url).stdout)
        card = {row[0]: row[1] for row in bundle.rows}
        assert card["tag"] == "café v1" and card["sha256"] in {e.sha256 for e in entries}
        assert bundle.images == ["curves.png"]
        for link in [*bundle.links, *bundle.images]:
            assert fetch(urljoin(bundle_url, link)) == 200, link
        assert bundle.pulls == [f"zoo pull lenet5 --weights 'café v1' --hub {server.url}"]

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "hub-index.png"
        shot.unlink(missing_ok=True)
        taken = browse(server.url + "index.html", f"--screenshot={shot}", "--window-size=1280,600")
        assert taken.returncode == 0 and shot.stat().st_size > 5_000, taken.stderr[-2000:]


def test_zoo_hub_index_rewrites_the_pages_from_the_manifest(hub, zoo_cli) -> None:
    (hub / "index.html").unlink()
    (hub / "lenet5" / "t2" / "index.html").write_text("stale")
    result = zoo_cli("hub", "index", str(hub))
    assert result.exit_code == 0, result.output
    assert "lenet5.t2" in (hub / "index.html").read_text()
    assert "lenet5.t2" in (hub / "lenet5" / "t2" / "index.html").read_text()
    assert len(index_hub(hub)) == 1 + len(TAGS)


def test_values_from_a_manifest_are_escaped_not_markup(hub) -> None:
    from zoo_core.store.hub_pages import render_bundle

    (entry,) = [e for e in read_manifest(hub / "manifest.json") if e.tag == "t2"]
    page = render_bundle(dataclasses.replace(entry, license="<script>alert(1)</script>"), [])
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_zoo_hub_index_of_a_folder_without_a_manifest_is_one_line(tmp_path, zoo_cli) -> None:
    result = zoo_cli("hub", "index", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path} is not a hub folder: it has no manifest.json" in result.output
