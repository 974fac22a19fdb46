"""Fault injection: each bad input, one row, one clear line naming what was wrong and what would
be right, and nothing written. New rows go here as new bad inputs are handled."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo_core as zoo
from zoo_core import ExporterOption, PluginError, PluginWarning, Run, WeightsError, ZooError, hookimpl
from zoo_core.host import plugins
from zoo_core.host.plugins import PluginHost
from zoo_core.store.hub import hub_entries
from zoo_core.store.publish import publish

from .helpers import ROOT, model_plugin

SHIPPED = ROOT / "weights" / "lenet5" / "fashion_mnist" / "model.safetensors"


def header_with(tmp_path: Path, **fields: str) -> Path:
    """A copy of lenet5's shipped weights whose header has ``fields`` replaced."""
    state, header = zoo.load_weights(SHIPPED)
    path = tmp_path / "bad.safetensors"
    zoo.save_weights(state, path, {**header, **fields})
    return path


def manifest(tmp_path: Path, text: str) -> Path:
    (tmp_path / "manifest.json").write_text(text)
    return tmp_path / "manifest.json"


BUNDLE = {"model": "lenet5", "num_classes": 10, "in_channels": 1, "input_size": [28, 28]}


def bundle(tmp_path: Path, card: dict | str) -> Path:
    """A bundle folder holding a copy of lenet5's shipped weights and ``card`` as its zoo.json
    (a dict gains the file's name and sha256; a string is written as it is)."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    shutil.copyfile(SHIPPED, folder / "model.safetensors")
    if isinstance(card, dict):
        card = json.dumps({**card, "file": "model.safetensors", "sha256": zoo.get_weights("lenet5").sha256})
    (folder / "zoo.json").write_text(card)
    return folder


def recipe_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(data))
    return path


# (what is wrong, the call, the one line it must fail with)
API_FAULTS: list[tuple[str, Callable[[Path, Path], object], str]] = [
    (
        "an option no chosen format takes",
        lambda d, out: zoo.export_model("lenet5", ["safetensors"], out, options={"opset": 13}),
        "option 'opset' is not taken by safetensors (options taken: none)",
    ),
    (
        "an infinite tolerance",
        lambda d, out: zoo.export_model("lenet5", ["onnx"], out, options={"atol": float("inf")}),
        "option 'atol' must be a finite number, got inf",
    ),
    (
        "a negative tolerance",
        lambda d, out: zoo.export_model("lenet5", ["onnx"], out, options={"atol": -1.0}),
        "option 'atol' must be at least 0, got -1.0",
    ),
    (
        "an option of the wrong type",
        lambda d, out: zoo.export_model("lenet5", ["onnx"], out, options={"opset": "18"}),
        "option 'opset' must be int, got '18'",
    ),
    (
        "a NaN tolerance",
        lambda d, out: zoo.export_model("lenet5", ["onnx"], out, options={"rtol": float("nan")}),
        "option 'rtol' must be a finite number, got nan",
    ),
    (
        "a weights header with a malformed field",
        lambda d, out: zoo.create_model("lenet5", weights=header_with(d, input_size="[28]")),
        "bad.safetensors: weights field 'input_size' must be (height, width) in pixels, each at most 16384, "
        "got (28,)",
    ),
    (
        "a weights header of an unknown format",
        lambda d, out: zoo.get_weights("lenet5", header_with(d, format="zoo-weights-7")),
        "bad.safetensors: format 'zoo-weights-7' is not 'zoo-weights-1', the one this zoo reads",
    ),
    (
        "a weights header whose labels do not match its classes",
        lambda d, out: zoo.get_weights("lenet5", header_with(d, labels='["a", "b"]')),
        "bad.safetensors: weights field 'labels' must be 10 class names (or none)",
    ),
    (
        "a manifest that is not JSON",
        lambda d, out: zoo.read_manifest(manifest(d, "{not json")),
        "manifest.json is not a weights manifest: JSONDecodeError",
    ),
    (
        "a manifest entry with an unknown field",
        lambda d, out: zoo.read_manifest(manifest(d, '{"weights": [{"model": "x", "date": "today"}]}')),
        "manifest.json, entry x: unknown weights field 'date'; fields: created, crop_pct, dataset",
    ),
    (
        "a manifest entry whose file leaves the manifest's folder",
        lambda d, out: zoo.read_manifest(
            manifest(d, '{"weights": [{"model": "x", "file": "../x.safetensors"}]}')
        ),
        "manifest.json, entry x: weights field 'file' must be a relative path inside the manifest's folder",
    ),
    (
        "a manifest entry whose url is an absolute path",
        lambda d, out: zoo.read_manifest(manifest(d, '{"weights": [{"model": "x", "url": "/etc/passwd"}]}')),
        "weights field 'url' must be a relative path inside the manifest's folder (no '..', not absolute) "
        "or a URL, got '/etc/passwd'",
    ),
    (
        "a hub entry whose tag climbs out of the cache",
        lambda d, out: hub_entries(
            str(manifest(d, json.dumps({"weights": [{**BUNDLE, "tag": "../../../evil"}]})).parent)
        ),
        "entry lenet5.../../../evil: weights field 'tag' must be 1 to 64 printable characters",
    ),
    (
        "a hub entry whose model name is a path",
        lambda d, out: hub_entries(
            str(manifest(d, json.dumps({"weights": [{**BUNDLE, "model": "../x"}]})).parent)
        ),
        "weights field 'model' must be a registered model's name: lowercase letters",
    ),
    (
        "a bundle declaring an input no memory holds",
        lambda d, out: zoo.create_model("lenet5", weights=bundle(d, {**BUNDLE, "input_size": [10**5] * 2})),
        "weights field 'input_size' must be (height, width) in pixels, each at most 16384",
    ),
    (
        "a manifest holding one model and tag twice",
        lambda d, out: zoo.read_manifest(
            manifest(d, json.dumps({"weights": [{**BUNDLE, "tag": "a"}, {**BUNDLE, "tag": "a", "size": 2}]}))
        ),
        "lists lenet5.a more than once; a manifest holds one entry per model and tag",
    ),
    (
        "a hub whose manifest is not JSON",
        lambda d, out: hub_entries(str(manifest(d, "{").parent)),
        "manifest.json is not a weights manifest",
    ),
    (
        "a folder given as weights that is no bundle",
        lambda d, out: zoo.create_model("lenet5", weights=d),
        "is a folder but not a weights bundle: it has no zoo.json (a bundle holds model.safetensors",
    ),
    (
        "a bundle whose zoo.json is not JSON",
        lambda d, out: zoo.create_model("lenet5", weights=bundle(d, "{")),
        "zoo.json is not readable JSON",
    ),
    (
        "a bundle of another model",
        lambda d, out: zoo.create_model("lenet5", weights=bundle(d, {**BUNDLE, "model": "vgg11"})),
        "zoo.json: model is 'vgg11' but the weights file's own header says 'lenet5'",
    ),
    (
        "an empty weights name",
        lambda d, out: zoo.create_model("lenet5", weights=""),
        "weights must be a tag, a .safetensors file or a bundle folder, got ''",
    ),
    (
        "no model name and weights that are no bundle",
        lambda d, out: zoo.create_model(weights="fashion_mnist"),
        "create_model needs a model name, unless weights= is a weights bundle folder",
    ),
    (
        "publishing a folder that is no finished run",
        lambda d, out: publish(d, tag="mine", to=out),
        "is not a finished `zoo train` run: it needs best.safetensors and report.json",
    ),
    (
        "publishing to a URL",
        lambda d, out: publish(d, tag="mine", to="https://example.org/hub"),
        "zoo publish writes to a folder, not to https://example.org/hub; publish to a folder, then serve it",
    ),
    (
        "a recipe file without a dataset",
        lambda d, out: zoo.get_recipe("fashion_cnn", recipe_file(d, {"name": "mine", "epochs": 3})),
        "recipe 'mine': no dataset; name a registered dataset",
    ),
    (
        "a recipe override that is no recipe field",
        lambda d, out: zoo.get_recipe("fashion_cnn", epoch=3),
        "recipe 'augmented': unknown field 'epoch'. Did you mean 'epochs'?",
    ),
    (
        "a logger asking its run for a file outside the run folder",
        lambda d, out: Run(out, "lenet5", zoo.get_recipe("lenet5"), {}).file("../metrics.jsonl"),
        "a run's plugin file must be a plain file name other than run.json",
    ),
    (
        "a logger asking its run for one of the run's own files",
        lambda d, out: Run(out, "lenet5", zoo.get_recipe("lenet5"), {}).file("best.safetensors"),
        "a run's plugin file must be a plain file name other than run.json",
    ),
]


@pytest.mark.parametrize(("what", "call", "message"), API_FAULTS, ids=[f[0] for f in API_FAULTS])
def test_a_bad_input_is_one_clear_error_and_leaves_nothing(what, call, message, tmp_path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    with pytest.raises(ZooError) as caught:
        call(inputs, out)
    text = str(caught.value)
    assert message in text and "\n" not in text, text
    assert list(out.iterdir()) == []


def test_a_bad_weights_header_fails_zoo_eval_in_one_line(tmp_path, zoo_cli) -> None:
    result = zoo_cli("eval", "lenet5", "--weights", str(header_with(tmp_path, mean="[0.5, 0.5]")))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'bad.safetensors'}: weights field 'mean' must be 1 number(s), one per input "
        "channel, got (0.5, 0.5)"
    ]


def test_an_option_for_another_format_fails_zoo_export(tmp_path, zoo_cli) -> None:
    result = zoo_cli("export", "lenet5", "--safetensors", "--opset", "13", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == "Error: option 'opset' is not taken by safetensors (options taken: none)\n"
    assert list(tmp_path.iterdir()) == []


def exporter_plugin(name: str, *options: ExporterOption):
    class Plugin:
        @hookimpl
        def zoo_register_exporters(self, register):
            register(name, lambda job, path: {}, suffix=".x", description="A test format.", options=options)

    return Plugin()


class ReservedOption:
    @hookimpl
    def zoo_register_exporters(self, register):
        register(
            "mine",
            lambda job, path: {},
            suffix=".x",
            description="-",
            options=[ExporterOption("out", str, "", "?")],
        )


# (what is wrong, the plugin, the reason its registration is refused with)
PLUGIN_FAULTS = [
    (
        "an option named like a flag of zoo export",
        ReservedOption(),
        "option name 'out' is a flag of `zoo export` itself",
    ),
    (
        "a format named like a flag of zoo export",
        exporter_plugin("json"),
        "'json' is a flag of `zoo export` itself",
    ),
    (
        "two options of one name",
        exporter_plugin("mine", ExporterOption("level", int, 1, "A."), ExporterOption("level", int, 2, "B.")),
        "option names must differ, got level, level",
    ),
]


@pytest.mark.parametrize(("what", "plugin", "message"), PLUGIN_FAULTS, ids=[f[0] for f in PLUGIN_FAULTS])
def test_a_bad_exporter_registration_is_refused_and_isolated(what, plugin, message) -> None:
    host = PluginHost(strict=False)
    host.register(plugin, "bad")
    with pytest.warns(PluginWarning, match="zoo plugin bad failed while registering exporters") as caught:
        assert host.exporters.names() == []
    assert message in str(caught[0].message)


def test_one_option_declared_with_two_types_is_an_error_naming_both(fresh_plugins, zoo_cli, tmp_path) -> None:
    host = plugins.get_host()
    host.register(exporter_plugin("first", ExporterOption("level", int, 1, "An int.")), "firsts")
    host.register(exporter_plugin("second", ExporterOption("level", str, "1", "A string.")), "seconds")
    result = zoo_cli("export", "lenet5", "--format", "first", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: option 'level' is a int for exporter 'first' of plugin firsts but a str for exporter "
        "'second' of plugin seconds; uninstall or disable one of them\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_weights_of_another_model_are_refused_before_building(tmp_path) -> None:
    wrong = header_with(tmp_path, model="fashion_cnn")
    with pytest.raises(WeightsError, match="holds weights for 'fashion_cnn', not 'lenet5'"):
        zoo.get_weights("lenet5", wrong)


def test_a_broken_plugin_manifest_costs_only_its_weights(tmp_path) -> None:
    broken = manifest(tmp_path, '{"weights": [{"model": "lenet5", "tag": "x", "input_size": [28]}]}')
    with pytest.warns(PluginWarning, match=r"manifest.json, entry lenet5.x: weights field 'num_classes'"):
        assert zoo.manifest_weights("lenet5", broken) == ()


def test_list_pretrained_with_no_match_says_what_has_no_weights(zoo_cli) -> None:
    result = zoo_cli("list", "alex*", "--pretrained")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no model matching 'alex*' has trained weights; "
        "see a hub's with `zoo weights list --hub URL`\n"
    )


def raising_builder(**kwargs):
    raise ValueError("width must be even")


def not_a_module(**kwargs):
    return "a string"


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (
            "tests.test_faults:raising_builder",
            "the builder of toy (plugin toys) failed: ValueError: width must",
        ),
        ("tests.test_faults:not_a_module", "the builder of toy (plugin toys) returned a str, not a torch.nn"),
    ],
    ids=["raises", "returns no module"],
)
def test_a_broken_builder_is_one_error_naming_its_plugin(builder, message, fresh_plugins, zoo_cli) -> None:
    plugins.get_host().register(model_plugin("toy", builder), "toys")
    with pytest.raises(PluginError, match=re.escape(message)):
        zoo.create_model("toy")
    result = zoo_cli("summary", "toy")
    assert result.exit_code == 1 and result.output.count("\n") == 1 and message in result.output


def test_a_wrong_declared_parameter_count_is_warned_and_checked(fresh_plugins, zoo_cli) -> None:
    builder = "zoo_plugins.architectures.lenet.nets:lenet5"
    plugins.get_host().register(model_plugin("toy", builder, params=5), "toys")
    with pytest.warns(PluginWarning, match="toy .plugin toys. declares 5 parameters but has 61,706"):
        zoo.create_model("toy")
    result = zoo_cli("plugins", "--check")
    assert result.exit_code == 1
    assert "WRONG   toy (plugin toys): declares 5, has 61,706" in result.output
    assert "ok      lenet5: 61,706 parameters" in result.output


class RaisingLogger:
    @hookimpl
    def zoo_train_epoch_end(self, run, metrics):
        raise RuntimeError("the dashboard is down")


def test_a_logger_that_raises_costs_a_warning_not_the_run(fresh_plugins, tmp_path) -> None:
    from zoo_core.training import Settings, train

    plugins.get_host().register(RaisingLogger(), "dashboard")
    recipe = zoo.get_recipe("lenet5", epochs=2)
    with pytest.warns(PluginWarning, match="zoo plugin dashboard failed in zoo_train_epoch_end") as caught:
        report = train("lenet5", recipe, Settings(subset=500), out=tmp_path / "run", progress=False)
    assert len([w for w in caught if "dashboard" in str(w.message)]) == 1  # once, not every epoch
    assert report["epochs"] == 2 and (tmp_path / "run" / "best.safetensors").is_file()


class RaisingRegisteredLogger:
    def __init__(self, run) -> None:
        self.run = run

    def epoch_end(self, metrics) -> None:
        raise RuntimeError("the dashboard is down")


class RegistersARaisingLogger:
    @hookimpl
    def zoo_register_loggers(self, register):
        register("dashboard", RaisingRegisteredLogger, description="A logger whose service is down.")


def test_a_registered_logger_that_raises_costs_a_warning_not_the_run(fresh_plugins, tmp_path) -> None:
    from zoo_core.training import Settings, train

    plugins.get_host().register(RegistersARaisingLogger(), "dashboard")
    recipe = zoo.get_recipe("lenet5", epochs=2)
    settings = Settings(subset=500, loggers=("dashboard",))
    with pytest.warns(PluginWarning, match="logger RaisingRegisteredLogger failed in epoch_end") as caught:
        report = train("lenet5", recipe, settings, out=tmp_path / "run", progress=False)
    assert len([w for w in caught if "dashboard is down" in str(w.message)]) == 1  # once, not every epoch
    assert report["epochs"] == 2 and (tmp_path / "run" / "best.safetensors").is_file()


class BuggyExporter:
    @hookimpl
    def zoo_register_exporters(self, register):
        register("buggy", lambda job, path: 1 / 0, suffix=".bug", description="Has a bug.")


def test_an_unexpected_error_is_one_line_with_its_traceback_saved(fresh_plugins, zoo_cli, tmp_path) -> None:
    plugins.get_host().register(BuggyExporter(), "buggy")
    result = zoo_cli("export", "lenet5", "--buggy", "--out", str(tmp_path))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: unexpected ZeroDivisionError: division by zero (the traceback is in ")
    saved = Path(line.split("the traceback is in ")[1].split(";")[0])
    assert "ZeroDivisionError" in saved.read_text() and "Traceback" in saved.read_text()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ZeroDivisionError):
        zoo_cli("--debug", "export", "lenet5", "--buggy", "--out", str(tmp_path))


def test_stale_temporary_files_are_swept_at_the_next_write(tmp_path) -> None:
    stale, fresh = tmp_path / ".lenet5.abcd1234.tmp.onnx", tmp_path / ".lenet5.efgh5678.tmp.onnx"
    for path in (stale, fresh):
        path.write_bytes(b"left by a killed export")
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    zoo.write_bytes(tmp_path / "new.txt", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "new.txt"]


def test_a_bare_state_dict_and_a_16_bit_image_predict_like_the_shipped_weights(tmp_path) -> None:
    from safetensors.torch import save_file

    from zoo_core.models.predict import predict

    save_file(zoo.create_model("lenet5", weights=True).state_dict(), tmp_path / "bare.safetensors")
    eight = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    Image.fromarray(eight).save(tmp_path / "eight.png")
    Image.fromarray(eight.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")  # the same picture
    bare = predict("lenet5", [tmp_path / "eight.png"], weights=tmp_path / "bare.safetensors")
    shipped = predict("lenet5", [tmp_path / "eight.png", tmp_path / "sixteen.png"])
    labels = [[p["label"] for p in r["predictions"]] for r in (*bare, *shipped)]
    assert labels[0][0] == labels[1][0]  # the bare file knows no recipe, so no flip TTA: top-1 only
    assert labels[1] == labels[2]  # the 16-bit picture is the 8-bit one, not clipped to white
    sure = [r["predictions"][0]["probability"] for r in shipped]
    assert sure[0] == pytest.approx(sure[1], abs=1e-4)


class Noise:
    """Twelve 8x8 grey images of noise, as a dataset plugin's :class:`Samples` would give them."""

    key = "noise-for-the-decoded-cache"

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.images = [Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8), "L") for _ in range(12)]
        self.labels = [i % 2 for i in range(12)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        return self.images[index], self.labels[index]


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


def object_array(path: Path) -> None:
    np.save(path, np.array([{"not": "pixels"}] * 12, dtype=object), allow_pickle=True)


def other_pixels(path: Path) -> None:
    np.save(path, np.zeros((12, 1, 8, 8), dtype=np.uint8))


def lost_record(path: Path) -> None:
    path.with_name(path.name + ".sha256").unlink()


@pytest.mark.parametrize("damage", [truncated, object_array, other_pixels, lost_record])
def test_a_damaged_decoded_cache_is_noticed_and_rebuilt(damage, tmp_path, monkeypatch) -> None:
    from zoo_core.data.samples import resident

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    decoding = {"channels": 1, "size": (8, 8), "interpolation": "bilinear", "workers": 0}
    right = resident(Noise(), **decoding).clone()
    (kept,) = (tmp_path / "home").rglob("*.npy")
    damage(kept)
    with pytest.warns(UserWarning, match=r"the decoded images in .*\.npy fail their check \(.+\); decoding"):
        assert torch.equal(resident(Noise(), **decoding), right)
    assert torch.equal(resident(Noise(), **decoding), right)  # rebuilt: read back without a warning


def test_a_read_only_cache_decodes_without_it(tmp_path, monkeypatch) -> None:
    from zoo_core.data.samples import resident

    home = tmp_path / "home"
    monkeypatch.setenv("ZOO_HOME", str(home))
    (home / "data").mkdir(parents=True)
    (home / "data" / "decoded").write_text("a file where the cache's folder would go")
    decoding = {"channels": 1, "size": (8, 8), "interpolation": "bilinear", "workers": 0}
    with pytest.warns(UserWarning, match=r"cannot keep decoded images in .*decoded \(.+\); not cached"):
        pixels = resident(Noise(), **decoding)
    assert pixels.shape == (12, 1, 8, 8) and int(pixels.sum()) > 0
