"""Publishing a real (short) run as a bundle on a folder hub, and loading it back every way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo_core as zoo
from zoo_core import read_manifest
from zoo_core.store.publish import publish
from zoo_core.store.weights import file_sha256

from .helpers import ROOT, run_python
from .hub_server import HubServer


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """One epoch of lenet5 on 3,000 real training images: exactly ten steps of its one-cycle schedule."""
    cwd = tmp_path_factory.mktemp("publish")
    args = ["train", "lenet5", "--epochs", "1", "--subset", "3000", "--no-progress", "--out", "run"]
    result = run_python("-m", "zoo_core", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd / "run"


def test_a_published_bundle_loads_bit_for_bit_the_same_everywhere(run, tmp_path, zoo_cli) -> None:
    hub = tmp_path / "hub"
    result = zoo_cli("publish", str(run), "--tag", "mine", "--to", str(hub), "--license", "CC-BY-4.0")
    assert result.exit_code == 0, result.output
    bundle = hub / "lenet5" / "mine"
    assert result.output.startswith(f"published lenet5.mine to {bundle} (test accuracy ")
    # the weights, their card, the page and the figures the run drew (its curves and confusion
    # matrix; not its worst mistakes, which show the data's own images)
    assert sorted(p.name for p in bundle.iterdir()) == [
        "confusion-test.png",
        "curves.png",
        "index.html",
        "model.safetensors",
        "zoo.json",
    ]

    card = json.loads((bundle / "zoo.json").read_text())
    report = json.loads((run / "report.json").read_text())
    assert card["sha256"] == file_sha256(bundle / "model.safetensors")
    assert card["metrics"]["test_accuracy"] == report["test_accuracy"]
    assert card["license"] == "CC-BY-4.0" and card["recipe"]["name"] == "flip" and len(card["labels"]) == 10
    assert card["versions"]["zoo-core"] == zoo.__version__
    (entry,) = read_manifest(hub / "manifest.json")
    assert entry.url == "lenet5/mine/model.safetensors" and entry.sha256 == card["sha256"]

    direct = zoo.create_model(weights=bundle).eval()  # no name: the bundle says which model
    assert (direct.zoo_weights.model, direct.zoo_weights.tag) == ("lenet5", "mine")
    hub_model = torch.hub.load(str(ROOT), "lenet5", source="local", trust_repo=True, weights=str(bundle))
    from_run = zoo.create_model("lenet5", weights=run / "best.safetensors").eval()
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(direct(x), hub_model.eval()(x)) and torch.equal(direct(x), from_run(x))

    evaluated = [
        json.loads(zoo_cli("eval", "lenet5", "--weights", str(w), "--json").output)
        for w in (bundle, run / "best.safetensors")
    ]
    assert (
        evaluated[0]["accuracy"] == evaluated[1]["accuracy"] and evaluated[0]["loss"] == evaluated[1]["loss"]
    )


def test_publishing_a_tag_again_needs_force_and_keeps_the_first_until_then(run, tmp_path, zoo_cli) -> None:
    hub = tmp_path / "hub"
    assert zoo_cli("publish", str(run), "--tag", "mine", "--to", str(hub)).exit_code == 0
    before = {p: p.read_bytes() for p in sorted(hub.rglob("*")) if p.is_file()}
    again = zoo_cli("publish", str(run), "--tag", "mine", "--to", str(hub), "--license", "MIT")
    assert again.exit_code == 1
    assert again.output == (
        f"Error: {hub / 'manifest.json'} already has lenet5.mine; choose another tag or use --force\n"
    )
    assert {p: p.read_bytes() for p in sorted(hub.rglob("*")) if p.is_file()} == before
    forced = zoo_cli("publish", str(run), "--tag", "mine", "--to", str(hub), "--license", "MIT", "--force")
    assert forced.exit_code == 0, forced.output
    (entry,) = read_manifest(hub / "manifest.json")
    assert entry.license == "MIT"
    assert "| lenet5.mine |" in (hub / "cards.md").read_text()
    assert sorted(str(p.relative_to(hub)) for p in hub.rglob("*")) == [
        ".publish.lock",  # filelock's file, kept: removing a lock file races with its next taker
        "cards.md",
        "index.html",
        "lenet5",
        "lenet5/mine",
        "lenet5/mine/confusion-test.png",
        "lenet5/mine/curves.png",
        "lenet5/mine/index.html",
        "lenet5/mine/model.safetensors",
        "lenet5/mine/zoo.json",
        "manifest.json",
    ]  # the replaced bundle and every temporary folder are gone


def test_the_logged_learning_rate_is_the_one_the_last_step_used(run) -> None:
    """One-cycle read after its last step gives a rate past the schedule's end (negative, once)."""
    (epoch,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert 0 < epoch["lr"] < 0.003  # the recipe's peak; the single epoch ends near the floor


@pytest.mark.parametrize("tag", ["../../escaped", ".", "a/b", "line\nbreak", ".hidden", "x" * 65])
def test_a_tag_that_could_leave_its_folder_is_refused_before_anything_is_written(run, tmp_path, tag):
    hub = tmp_path / "deep" / "hub"
    with pytest.raises(zoo.WeightsError, match="weights field 'tag' must be 1 to 64 printable characters"):
        publish(run, tag=tag, to=hub)
    assert not (tmp_path / "deep").exists() and not (tmp_path / "escaped").exists()


def test_the_readme_round_trip_works_with_any_tag_over_http(run, tmp_path, zoo_cli, monkeypatch) -> None:
    hub, tag = tmp_path / "my hub", "café v1#beta"
    assert zoo_cli("publish", str(run), "--tag", tag, "--to", str(hub)).exit_code == 0
    with HubServer(tmp_path) as server:
        pulled = zoo_cli("pull", "lenet5", "--weights", tag, "--hub", server.url + "my hub/")
        assert pulled.exit_code == 0, pulled.output
        assert any("caf%C3%A9%20v1%23beta" in r.path for r in server.requests)
        monkeypatch.setenv("ZOO_HUB", server.url + "my hub/")
        fetched = len(server.requests)
        model = zoo.create_model("lenet5", weights=tag)  # from the cache: the server sees no new file
        assert not [r for r in server.requests[fetched:] if r.path.endswith(".safetensors")]
    bundle = hub / "lenet5" / tag
    assert model.zoo_weights.tag == tag
    assert model.zoo_weights.sha256 == file_sha256(bundle / "model.safetensors")


def test_eight_publishes_at_once_keep_eight_entries_and_leave_nothing_behind(run, tmp_path) -> None:
    hub = tmp_path / "hub"
    script = (
        "import sys; from zoo_core.store.publish import publish; "
        "from pathlib import Path; publish(Path(sys.argv[1]), tag=sys.argv[2], to=Path(sys.argv[3]))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(run), f"t{i}", str(hub)], stderr=subprocess.PIPE)
        for i in range(8)
    ]
    assert all(p.wait(timeout=300) == 0 for p in processes), [p.stderr.read() for p in processes]
    entries = read_manifest(hub / "manifest.json")
    assert sorted(e.tag for e in entries) == [f"t{i}" for i in range(8)]
    for entry in entries:
        assert file_sha256(hub / entry.url) == entry.sha256
    left = sorted(p.name for p in (hub / "lenet5").iterdir())
    assert left == [f"t{i}" for i in range(8)]  # no staging folder
    assert sorted(p.name for p in hub.iterdir()) == [
        ".publish.lock",
        "cards.md",
        "index.html",
        "lenet5",
        "manifest.json",
    ]


PULL_WHEN_PUBLISHED = """
import sys, time
from zoo_core.base.errors import HubError
from zoo_core.store.hub import hub_weights, locate
hub, tag = sys.argv[1], sys.argv[2]


def published():
    try:
        return hub_weights("lenet5", tag, hub)
    except HubError:  # the hub has no manifest until the first publish
        return None


deadline = time.monotonic() + 240
while (entry := published()) is None:  # as a CI job waits for a publish
    assert time.monotonic() < deadline, f"{tag} never appeared"
    time.sleep(0.1)
print(locate(entry, progress=False).file)
"""


def test_eight_publishes_and_eight_pulls_at_once_end_with_eight_of_everything(run, tmp_path) -> None:
    """Eight publishes to one hub and, at the same time, eight pulls of what they publish over
    HTTP into one cache: every entry, bundle and cached file arrives whole, every check is
    recorded, and no lock holder, staging folder, ``.part`` or temporary file is left behind."""
    hub, home = tmp_path / "hub", tmp_path / "home"
    env = {**os.environ, "ZOO_HOME": str(home)}
    publisher = (
        "import sys; from zoo_core.store.publish import publish; "
        "from pathlib import Path; publish(Path(sys.argv[1]), tag=sys.argv[2], to=Path(sys.argv[3]))"
    )
    tags = [f"t{i}" for i in range(8)]
    hub.mkdir()
    with HubServer(hub) as server:
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", script, *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for tag in tags
            for script, args in (
                (publisher, (str(run), tag, str(hub))),
                (PULL_WHEN_PUBLISHED, (server.url, tag)),
            )
        ]
        results = [(*p.communicate(timeout=300), p.returncode) for p in processes]
    assert all(code == 0 for _, _, code in results), [err[-2000:] for _, err, code in results if code]
    entries = read_manifest(hub / "manifest.json")
    assert sorted(e.tag for e in entries) == tags
    assert sorted(p.name for p in (hub / "lenet5").iterdir()) == tags
    pulled = sorted(Path(out.strip()) for out, _, _ in results if out.strip())
    assert sorted(p for p in (home / "weights").iterdir()) == pulled and len(pulled) == 8
    by_sha = {e.sha256: e for e in entries}
    for path in pulled:
        assert file_sha256(path) in by_sha
    verified = json.loads((home / "verified.json").read_text())
    assert sorted(Path(k) for k in verified) == [p.resolve() for p in pulled]
    leftovers = [
        p
        for p in [*hub.rglob(".*"), *home.rglob("*.part"), *home.rglob(".*tmp*")]
        if p.name != ".publish.lock"
    ]
    assert leftovers == []


def test_a_publish_sweeps_what_a_killed_one_left_in_the_hub(run, tmp_path) -> None:
    hub = tmp_path / "hub"
    publish(run, tag="first", to=hub)
    stale = hub / "lenet5" / ".second.k1ll3d.tmp"  # as a SIGKILLed publish leaves its staging folder
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half a file")
    publish(run, tag="third", to=hub)
    assert sorted(p.name for p in (hub / "lenet5").iterdir()) == ["first", "third"]


def test_train_publish_pull_and_verify_print_json_for_scripts(tmp_path) -> None:
    env = {"ZOO_HOME": str(tmp_path / "home")}
    args = ["train", "lenet5", "--epochs", "1", "--subset", "600", "--no-progress", "--out", "run", "--json"]
    trained = run_python("-m", "zoo_core", *args, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)  # stdout holds the report alone; the epoch lines are on stderr
    assert report["epochs"] == 1 and "epoch   1/1" in trained.stderr

    def zoo_json(*args: str) -> object:
        result = run_python("-m", "zoo_core", *args, "--json", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    published = zoo_json("publish", "run", "--tag", "mine", "--to", "hub")
    assert (published["model"], published["tag"]) == ("lenet5", "mine")
    assert published["metrics"]["test_accuracy"] == report["test_accuracy"]
    pulled = zoo_json("pull", "lenet5", "--weights", "mine", "--hub", "hub", "--no-progress")
    assert file_sha256(pulled["file"]) == published["sha256"]
    checks = zoo_json("weights", "verify")
    assert {"name": "lenet5.mine", "file": pulled["file"], "ok": True, "problem": None} in checks
