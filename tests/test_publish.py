"""Publishing a real (short) run as a bundle on a folder hub, and loading it back every way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import zoo_core as zoo
from zoo_core import read_manifest
from zoo_core.store.weights import file_sha256

from .helpers import ROOT, run_python


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
    assert sorted(p.name for p in bundle.iterdir()) == ["model.safetensors", "zoo.json"]

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
        "cards.md",
        "lenet5",
        "lenet5/mine",
        "lenet5/mine/model.safetensors",
        "lenet5/mine/zoo.json",
        "manifest.json",
    ]  # the replaced bundle and every temporary folder are gone


def test_the_logged_learning_rate_is_the_one_the_last_step_used(run) -> None:
    """One-cycle read after its last step gives a rate past the schedule's end (negative, once)."""
    (epoch,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert 0 < epoch["lr"] < 0.003  # the recipe's peak; the single epoch ends near the floor
