"""Weights from a hub served by a real HTTP server on 127.0.0.1: pull, cache, resume, refuse."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core import WeightsError, write_manifest
from zoo_core.base.errors import HubError
from zoo_core.store import download
from zoo_core.store.hub import hub_entries, hub_weights, locate
from zoo_core.store.weights import file_sha256

from .helpers import run_python, shipped_entries
from .hub_server import HubServer

LENET = next(e for e in shipped_entries() if e.model == "lenet5")
FILE = "/lenet5/mirror/model.safetensors"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def hub(tmp_path) -> Iterator[HubServer]:
    """A hub offering lenet5's shipped weights under the tag 'mirror', which no plugin registers."""
    folder = tmp_path / "hub"
    (folder / "lenet5" / "mirror").mkdir(parents=True)
    shutil.copyfile(LENET.file, folder / FILE.lstrip("/"))
    entry = dataclasses.replace(LENET, tag="mirror", file=None, url=FILE.lstrip("/"))
    write_manifest(folder / "manifest.json", [entry])
    with HubServer(folder) as server:
        yield server


def cached(home: Path) -> Path:
    return home / "weights" / f"lenet5-mirror-{LENET.sha256[:12]}.safetensors"


def leftovers(home: Path) -> list[str]:
    folder = home / "weights"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_pull_fills_the_cache_and_a_cached_load_asks_the_hub_nothing(hub, home, zoo_cli, monkeypatch) -> None:
    result = zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress")
    assert result.exit_code == 0, result.output
    assert result.output == f"lenet5.mirror: {cached(home)}\n"
    assert [r.path for r in hub.requests] == ["/manifest.json", FILE]

    monkeypatch.setenv("ZOO_HUB", hub.url)
    model = zoo.create_model("lenet5", weights="mirror")
    assert len(hub.requests) == 2  # the kept manifest and the cached, already checked file
    assert model.zoo_weights.file == cached(home) and model.zoo_weights.tag == "mirror"
    shipped = zoo.create_model("lenet5", weights="fashion_mnist").state_dict()
    assert all(torch.equal(v, shipped[k]) for k, v in model.state_dict().items())

    listed = zoo_cli("weights", "list", "--hub", hub.url)
    assert listed.exit_code == 0 and "lenet5.mirror" in listed.output and " cache " in listed.output


@pytest.mark.parametrize("over", ["http", "a folder"])
def test_a_full_disk_during_a_pull_is_one_line_and_leaves_no_part(over, hub, home) -> None:
    source = hub.url if over == "http" else str(hub.folder)
    half = LENET.file.stat().st_size // 2
    result = run_python(
        *("-m", "zoo_core", "pull", "lenet5", "--weights", "mirror", "--hub", source, "--no-progress"),
        env={"ZOO_HOME": str(home)},
        disk=half,
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"cannot write {cached(home)}: File too large" in result.stderr
    assert leftovers(home) == []


def test_a_cut_transfer_resumes_with_a_range_request(hub, home) -> None:
    hub.cut.add(FILE)
    found = locate(hub_weights("lenet5", "mirror", hub.url), progress=False)
    first, second = [r for r in hub.requests if r.path == FILE]
    size = LENET.file.stat().st_size
    assert first.range is None and 0 < first.sent < size
    assert second.range == f"bytes={first.sent}-" and first.sent + second.sent == size
    assert found.file == cached(home) and leftovers(home) == [cached(home).name]


def test_a_tampered_file_is_refused_and_nothing_is_cached(hub, home, zoo_cli) -> None:
    served = hub.folder / FILE.lstrip("/")
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    result = zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: lenet5.mirror: ") and f"{hub.url}{FILE[1:]} fails its sha256 check" in line
    assert leftovers(home) == []


def test_a_missing_file_is_one_line_naming_the_url(hub, home, zoo_cli) -> None:
    (hub.folder / FILE.lstrip("/")).unlink()
    result = zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress")
    assert result.exit_code == 1
    assert result.output == f"Error: lenet5.mirror: {hub.url}{FILE[1:]} answered HTTP 404 Not Found\n"
    assert leftovers(home) == []


def test_a_refused_connection_is_one_line(home, zoo_cli) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", f"http://127.0.0.1:{port}/")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"cannot reach http://127.0.0.1:{port}/manifest.json" in line


def test_offline_refuses_to_download_and_says_how_to_place_the_file(hub, home, monkeypatch) -> None:
    entry = hub_weights("lenet5", "mirror", hub.url)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(HubError) as caught:
        locate(entry, progress=False)
    assert str(caught.value) == (
        f"lenet5.mirror is not cached and ZOO_OFFLINE forbids downloading {hub.url}{FILE[1:]}; "
        f"to place it by hand, download {hub.url}{FILE[1:]} to {cached(home)}"
    )
    assert [r.path for r in hub.requests] == ["/manifest.json"]
    shutil.copyfile(LENET.file, cached(home))  # placed by hand, as the message says
    monkeypatch.setenv("ZOO_HUB", hub.url)
    assert zoo.create_model("lenet5", weights="mirror").zoo_weights.file == cached(home)
    assert [r.path for r in hub.requests] == ["/manifest.json"]


def test_a_damaged_cached_file_is_caught_and_fetched_again(hub, home, zoo_cli) -> None:
    entry = hub_weights("lenet5", "mirror", hub.url)
    path = locate(entry, progress=False).file
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime: only a re-hash sees it
    result = zoo_cli("weights", "verify")
    assert result.exit_code == 1 and f"FAILED  lenet5.mirror  {path}" in result.output
    path.touch()  # a changed mtime: the next load re-hashes, refuses the copy and fetches a good one
    assert locate(entry, progress=False).file == path
    assert [r.path for r in hub.requests].count(FILE) == 2
    assert zoo_cli("weights", "verify").exit_code == 0


def test_a_tag_no_hub_has_names_the_registered_tags(hub, home, monkeypatch) -> None:
    monkeypatch.setenv("ZOO_HUB", hub.url)
    with pytest.raises(
        WeightsError, match="lenet5 has no weights 'imagenet'; its weights tags: fashion_mnist"
    ):
        zoo.create_model("lenet5", weights="imagenet")


def test_a_cached_file_damaged_in_place_is_fetched_again_by_pull_and_by_a_load(
    hub, home, zoo_cli, monkeypatch
) -> None:
    monkeypatch.setenv("ZOO_HUB", hub.url)
    pull = ("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress")
    assert zoo_cli(*pull).exit_code == 0
    for again in ("pull", "load"):
        path = cached(home)
        before = path.stat()
        data = bytearray(path.read_bytes())
        data[-100] ^= 0x01  # one bit, in the tensors
        path.write_bytes(bytes(data))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if nothing had changed
        if again == "pull":  # the sequence; a load is given no hint
            verified = zoo_cli("weights", "verify")
            assert verified.exit_code == 1 and "fails its sha256 check" in verified.output
        fetched = len([r for r in hub.requests if r.path == FILE])
        if again == "pull":
            assert zoo_cli(*pull).exit_code == 0
        else:
            zoo.create_model("lenet5", weights="mirror")
        assert len([r for r in hub.requests if r.path == FILE]) == fetched + 1
        assert file_sha256(cached(home)) == LENET.sha256


def test_eight_pulls_at_once_fetch_the_file_once(hub, home) -> None:
    script = "import sys; from zoo_core.cli import main; sys.argv = ['zoo', *sys.argv[1:]]; main()"
    pull = ["pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress"]
    env = {**os.environ, "ZOO_HOME": str(home)}
    processes = [
        subprocess.Popen([sys.executable, "-c", script, *pull], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    assert all(p.wait(timeout=300) == 0 for p in processes), [p.stderr.read() for p in processes]
    assert len([r for r in hub.requests if r.path == FILE]) == 1
    assert leftovers(home) == [cached(home).name] and file_sha256(cached(home)) == LENET.sha256


def test_verify_names_a_damaged_kept_manifest_and_a_cached_file_no_entry_names(hub, home, zoo_cli) -> None:
    assert zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress").exit_code == 0
    (kept,) = (home / "hubs").glob("*.json")
    kept.write_text("{damaged")
    result = zoo_cli("weights", "verify")
    assert result.exit_code == 1
    assert f"{kept} is not a weights manifest" in result.output
    assert "pull again from that hub" in result.output
    assert f"{cached(home)} is in the cache but no registered or pulled entry names it" in result.output


def test_a_hub_that_sends_more_than_its_manifest_says_fills_nothing(tmp_path, home, monkeypatch) -> None:
    folder = tmp_path / "liar"
    (folder / "lenet5" / "mirror").mkdir(parents=True)
    shutil.copyfile(LENET.file, folder / FILE.lstrip("/"))
    small = dataclasses.replace(LENET, tag="mirror", file=None, url=FILE.lstrip("/"), size=1000)
    write_manifest(folder / "manifest.json", [small])
    with HubServer(folder) as server:
        with pytest.raises(HubError, match="sent more than the 1,000 bytes its manifest gives; nothing"):
            locate(hub_weights("lenet5", "mirror", server.url), progress=False)
        assert leftovers(home) == []
        monkeypatch.setattr(download, "MAX_MANIFEST", 100)  # an endless manifest meets the same wall
        with pytest.raises(HubError, match="is larger than 0 MiB, more than any manifest needs"):
            hub_entries(server.url, refresh=True)


def test_a_private_hubs_token_goes_to_its_own_host_only(hub, home, tmp_path, zoo_cli, monkeypatch) -> None:
    hub.token = "s3cret-token"
    pull = ("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress")
    refused = zoo_cli(*pull)
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert "answered HTTP 401 Unauthorized: this hub needs a token; set ZOO_HUB_TOKEN" in refused.output
    (tmp_path / "token").write_text("wrong\n")
    wrong = zoo_cli(*pull, "--hub-token-file", str(tmp_path / "token"))
    assert "answered HTTP 403 Forbidden: the token in ZOO_HUB_TOKEN was refused" in wrong.output
    monkeypatch.setenv("ZOO_HUB_TOKEN", "s3cret-token")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "lenet5" / "mirror").mkdir(parents=True)
    shutil.copyfile(LENET.file, elsewhere / FILE.lstrip("/"))
    with HubServer(elsewhere) as other:
        hub.redirects[FILE] = other.url.rstrip("/") + FILE  # the file itself lives on another host
        pulled = zoo_cli(*pull)
        assert pulled.exit_code == 0, pulled.output
        assert [r.authorization for r in other.requests] == [None]  # never handed on
    assert all(r.authorization == "Bearer s3cret-token" for r in hub.requests[-2:])
    kept = [p for folder in (home, tmp_path / "hub") for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in kept if "s3cret" in p.name or b"s3cret" in p.read_bytes()]  # no file holds it
    assert "s3cret" not in refused.output + wrong.output + pulled.output


def test_offline_the_kept_copy_of_a_hubs_manifest_is_what_weights_list_shows(hub, home, zoo_cli) -> None:
    assert zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress").exit_code == 0
    asked = len(hub.requests)
    os.environ["ZOO_OFFLINE"] = "1"
    try:
        listed = zoo_cli("weights", "list", "--hub", hub.url)
    finally:
        del os.environ["ZOO_OFFLINE"]
    assert listed.exit_code == 0, listed.output
    assert "lenet5.mirror" in listed.output and " cache " in listed.output
    assert len(hub.requests) == asked


def test_a_redirect_to_a_dead_host_names_where_it_led(hub, home) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/elsewhere.safetensors"
    hub.redirects[FILE] = dead
    with pytest.raises(HubError, match=rf"cannot reach {dead} \(redirected from {hub.url}{FILE[1:]}\)"):
        locate(hub_weights("lenet5", "mirror", hub.url), progress=False)


def test_a_kept_manifest_damaged_here_is_blamed_on_this_machine_not_the_hub(hub, home, monkeypatch) -> None:
    hub_entries(hub.url)
    (kept,) = (home / "hubs").glob("*.json")
    kept.write_text("{damaged")
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(HubError, match=rf"^{kept} is not a weights manifest.*unset ZOO_OFFLINE to read"):
        hub_entries(hub.url)
    assert not kept.exists()

    monkeypatch.delenv("ZOO_OFFLINE")
    hub_entries(hub.url)
    kept.write_text("{damaged")
    with pytest.warns(UserWarning, match=rf"{kept} is not a weights manifest.*reading hub {hub.url} again"):
        assert [e.tag for e in hub_entries(hub.url)] == ["mirror"]
    assert json.loads(kept.read_text())["weights"]


def test_a_pulled_tag_is_found_again_with_no_hub_set_even_offline(
    hub, home, zoo_cli, monkeypatch, tmp_path
) -> None:
    assert zoo_cli("pull", "lenet5", "--weights", "mirror", "--hub", hub.url, "--no-progress").exit_code == 0
    monkeypatch.delenv("ZOO_HUB", raising=False)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    asked = len(hub.requests)
    model = zoo.create_model("lenet5", weights="mirror")  # the cache remembers which hub it came from
    assert model.zoo_weights.file == cached(home) and len(hub.requests) == asked
    image = tmp_path / "shirt.png"
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8)).save(image)
    predicted = zoo_cli("predict", "lenet5", str(image), "--weights", "mirror", "--json")
    assert predicted.exit_code == 0, predicted.output


def test_every_command_that_takes_weights_takes_a_hub(hub, home, zoo_cli, tmp_path) -> None:
    image = tmp_path / "shirt.png"
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8)).save(image)
    predicted = zoo_cli("predict", "lenet5", str(image), "--weights", "mirror", "--hub", hub.url, "--json")
    assert predicted.exit_code == 0, predicted.output
    assert FILE in [r.path for r in hub.requests]
    for command in ("eval", "predict", "export", "bench", "train"):
        assert "--hub" in zoo_cli(command, "--help").output, command


def test_a_hub_given_as_its_manifests_address_is_the_folder_that_holds_it(hub, home, zoo_cli) -> None:
    for given in (hub.url + "manifest.json", str(hub.folder / "manifest.json")):
        assert [e.tag for e in hub_entries(given)] == ["mirror"]
        listed = zoo_cli("weights", "list", "--hub", given)
        assert listed.exit_code == 0 and "lenet5.mirror" in listed.output, listed.output
    pulled = zoo_cli(
        "pull", "lenet5", "--weights", "mirror", "--hub", hub.url + "manifest.json", "--no-progress"
    )
    assert pulled.exit_code == 0 and pulled.output == f"lenet5.mirror: {cached(home)}\n"
