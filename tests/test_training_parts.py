"""The trainer as a plugin interface: optimizers, schedules, losses, augmentations, weight
averagers and whole trainers found through their hooks, checked by name and option, and a
third-party trainer whose run is evaluated and exported like any other."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import torch
from safetensors.torch import load_file, save
from torch import nn

import zoo_core as zoo
from zoo_core import Option, RecipeError, ZooError, hookimpl, load_weights
from zoo_core.cli.train import apply_shorthands
from zoo_core.host import plugins
from zoo_core.host.entries import PART_KINDS
from zoo_core.host.training_parts import resolve_parts
from zoo_plugins.training.ema.average import WeightEMA

BUILT_IN = {
    "optimizers": ["adam", "adamw", "sgd"],
    "schedules": ["constant", "onecycle", "cosine"],
    "losses": ["cross_entropy"],
    "augmentations": ["flip", "shift", "erase", "random_resized_crop", "color_jitter", "trivial_augment"],
    "averagers": ["ema"],
    "trainers": ["default", "distill"],
}
BUILT_IN_PLUGINS = {"training", "ema", "distill"}


def built_in(spec) -> bool:
    return spec.origin.plugin in BUILT_IN_PLUGINS


def test_every_built_in_part_comes_through_its_hook() -> None:
    found = {
        kind.plural: sorted(s.name for s in plugins.part_registry(kind) if built_in(s)) for kind in PART_KINDS
    }  # whatever else is installed
    assert found == {plural: sorted(names) for plural, names in BUILT_IN.items()}
    infos = {info.name: info.to_dict() for info in plugins.plugin_infos()}
    assert infos["training"]["optimizers"] == BUILT_IN["optimizers"]
    assert infos["training"]["trainers"] == ["default"] and infos["distill"]["trainers"] == ["distill"]
    assert infos["ema"]["averagers"] == ["ema"]


@pytest.mark.parametrize(
    ("plugin", "changes", "message"),
    [
        ("training", {}, "unknown optimizer 'adamw'. Registered optimizers: none."),
        ("ema", {"averager": "ema"}, "unknown averager 'ema'. Registered averagers: none."),
        (
            "distill",
            {"trainer": "distill", "options": {"distill_teacher": "resnet18_small:fashion_mnist"}},
            "unknown trainer 'distill'. Registered trainers: default.",
        ),
    ],
)
def test_without_the_built_in_plugin_its_names_are_gone_with_a_clear_error(
    fresh_plugins, plugin, changes, message
) -> None:
    recipe = zoo.get_recipe("fashion_cnn", **changes)
    plugins.get_host().unregister(plugin)
    with pytest.raises(RecipeError, match=re.escape(message)):
        resolve_parts(recipe)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"optimizer": "adan"},
            "unknown optimizer 'adan'. Did you mean 'adam', 'adamw'? Registered optimizers: adam, adamw",
        ),
        ({"schedule": "cosin"}, "unknown schedule 'cosin'. Did you mean 'cosine'?"),
        ({"loss": "ce"}, "unknown loss 'ce'. Registered losses: cross_entropy."),
        ({"augment": "flip,flips"}, "unknown augmentation 'flips'. Did you mean 'flip'?"),
        ({"averager": "emma"}, "unknown averager 'emma'. Did you mean 'ema'?"),
        ({"trainer": "distil"}, "unknown trainer 'distil'. Did you mean 'distill'?"),
        (
            {"averager": "ema", "options": {"ema_dcay": 0.9}},
            "takes option 'ema_dcay'. Did you mean 'ema_decay', 'ema_warmup'?",
        ),
        ({"options": {"ema_decay": 0.9}}, "no part of the recipe takes option 'ema_decay'"),
        (
            {"averager": "ema", "options": {"ema_decay": "high"}},
            "option 'ema_decay' must be float, got 'high'",
        ),
        ({"options": {"onecycle_warmup": 1.5}}, "option 'onecycle_warmup' must be at most 0.99, got 1.5"),
        ({"options": {"erase_p": 0.5}}, "no part of the recipe takes option 'erase_p'"),
    ],
)
def test_an_unknown_part_or_a_bad_option_is_one_line_naming_what_would_be_right(changes, message) -> None:
    with pytest.raises(RecipeError) as error:
        zoo.get_recipe("fashion_cnn", **changes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_options_fill_in_their_defaults_and_merge_with_the_recipes() -> None:
    recipe = zoo.get_recipe("fashion_cnn", averager="ema", options={"ema_decay": 0.99})
    parts = resolve_parts(recipe)
    assert parts.averager.options == {"ema_decay": 0.99, "ema_warmup": True}
    assert parts.schedule.options == {"onecycle_warmup": 0.25}
    again = zoo.get_recipe("fashion_cnn", recipe, options={"ema_warmup": False})
    assert again.options == {"ema_decay": 0.99, "ema_warmup": False}
    assert zoo.Recipe.from_dict(again.to_dict()) == again


class Collide:
    @hookimpl
    def zoo_register_augmentations(self, register) -> None:
        register(
            "blur",
            lambda **_: None,
            description="Takes the EMA's option name.",
            options=(Option("ema_decay", float, 0.5, "Clashes."),),
        )


def test_two_parts_that_take_one_option_name_cannot_be_used_together(fresh_plugins) -> None:
    plugins.get_host().register(Collide(), "collide")
    zoo.get_recipe("fashion_cnn", augment="blur")  # apart, each is fine
    with pytest.raises(RecipeError, match="option 'ema_decay' is taken by both augmentation 'blur'"):
        zoo.get_recipe("fashion_cnn", augment="blur", averager="ema")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": " "}, "description must be a non-empty string"),
        ({"options": ("lr",)}, "options must be zoo_core.Option objects"),
        ({"options": (zoo.ExporterOption("x", int, 1, "An exporter's."),)}, "must be zoo_core.Option"),
        ({"keeps_labels": "yes"}, "keeps_labels must be True or False"),
        ({"colour": "red"}, "got an unexpected keyword argument 'colour'"),
    ],
)
def test_a_bad_part_registration_is_refused_naming_the_plugin(fresh_plugins, kwargs, message) -> None:
    class Bad:
        @hookimpl
        def zoo_register_augmentations(self, register) -> None:
            register("blur", lambda **_: None, **{"description": "Blurs.", **kwargs})

    host = plugins.get_host()
    host.register(Bad(), "bad")
    with pytest.warns(
        zoo.PluginWarning, match=f"zoo plugin bad failed while registering augmentations: .*{message}"
    ):
        names = host.entries("augmentations").names()
    assert "blur" not in names and {"erase", "flip", "shift"} <= set(names)


def test_weight_ema_averages_floats_and_copies_counters() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = WeightEMA(model, decay=0.5, warmup=False)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model[1].num_batches_tracked.fill_(7)
    ema.update_parameters(model)
    torch.testing.assert_close(ema.module[0].weight, start + 0.5)
    assert ema.module[1].num_batches_tracked.item() == 7 and ema.updates == 1
    copy = WeightEMA(model, decay=0.5, warmup=False)
    copy.load_state_dict(ema.state_dict())
    assert torch.equal(copy.module[0].weight, ema.module[0].weight) and copy.updates == 1
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ema_warms_up_as_timm_does() -> None:
    ema = WeightEMA(nn.Linear(1, 1), decay=0.999, warmup=True)
    assert ema.rate() == pytest.approx(1 / 10)
    ema.updates = 10_000
    assert ema.rate() == 0.999


def test_an_ema_run_validates_saves_and_tests_the_averaged_weights(tmp_path) -> None:
    from zoo_core.training import Settings, train

    recipe = zoo.get_recipe("fashion_cnn", "lesson", epochs=2, averager="ema", options={"ema_decay": 0.9})
    report = train("fashion_cnn", recipe, Settings(device="cpu", subset=600), out=tmp_path, progress=False)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    last, _ = load_weights(tmp_path / "last.safetensors")
    averaged, raw = checkpoint["averager"]["module"], checkpoint["model"]
    assert all(torch.equal(last[k], averaged[k]) for k in last)
    assert not all(torch.equal(last[k], raw[k]) for k in last)  # the raw weights are not what is kept
    assert checkpoint["averager"]["updates"] == report["steps"] and report["averager"] == "ema"
    assert [m["epoch"] for m in checkpoint["history"]] == [1, 2]


def test_a_teachers_logits_are_computed_once_and_read_back_by_later_runs(tmp_path, monkeypatch) -> None:
    from zoo_core.training import Settings, train

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    teacher = {"distill_teacher": "resnet18_small:fashion_mnist"}

    def run(name: str, seed: int = 0) -> dict:
        recipe = zoo.get_recipe("lenet5", epochs=1, seed=seed, trainer="distill", options=teacher)
        return train(
            "lenet5", recipe, Settings(device="cpu", subset=300), out=tmp_path / name, progress=False
        )

    def same_weights(a: str, b: str) -> bool:
        first, second = (load_weights(tmp_path / run / "best.safetensors")[0] for run in (a, b))
        return all(torch.equal(first[k], second[k]) for k in first)

    assert run("first")["teacher_logits"] == "computed once"
    kept = list((tmp_path / "home" / "data" / "teacher-logits").glob("*.safetensors"))
    assert len(kept) == 1
    assert run("second")["teacher_logits"] == "read from the cache"
    assert same_weights("first", "second")

    shape = load_file(kept[0])["logits"].shape
    record = kept[0].with_name(kept[0].name + ".sha256")
    damages = {  # (what replaced the logits, whether its sha256 was kept beside it too)
        "not a safetensors file": (b"not a safetensors file", False),
        "NaN of the right shape": (save({"logits": torch.full(shape, float("nan"))}), False),
        "int64 zeros, rehashed": (save({"logits": torch.zeros(shape, dtype=torch.int64)}), True),
        "NaN, rehashed": (save({"logits": torch.full(shape, float("nan"))}), True),
    }
    for what, (data, rehashed) in damages.items():  # each one noticed, the teacher asked again
        kept[0].write_bytes(data)
        if rehashed:
            record.write_text(f"{hashlib.sha256(data).hexdigest()}  {kept[0].name}\n")
        with pytest.warns(UserWarning, match="the teacher's logits in .* fail their check"):
            assert run(what)["teacher_logits"] == "computed once", what
        assert same_weights("first", what)
    assert run("fourth")["teacher_logits"] == "read from the cache"

    run("other images", seed=1)  # another seed draws another validation split: other training images
    assert len(list(kept[0].parent.glob("*.safetensors"))) == 2


def test_a_teacher_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on(
    tmp_path, monkeypatch
) -> None:
    from zoo_core.training import Settings, train

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    blocked = tmp_path / "home" / "data" / "teacher-logits"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the cache's folder would go")
    recipe = zoo.get_recipe(
        "lenet5", epochs=1, trainer="distill", options={"distill_teacher": "resnet18_small:fashion_mnist"}
    )
    with pytest.warns(UserWarning, match="the teacher's logits could not be kept in"):
        report = train(
            "lenet5", recipe, Settings(device="cpu", subset=300), out=tmp_path / "run", progress=False
        )
    assert report["teacher_logits"] == "computed once" and (tmp_path / "run" / "best.safetensors").exists()
    assert blocked.read_text() == "a file where the cache's folder would go"


class Counter:
    """A trainer's own state: how many batches it saw."""

    def __init__(self) -> None:
        self.batches = 0

    def state_dict(self) -> dict:
        return {"batches": self.batches}

    def load_state_dict(self, state: dict) -> None:
        self.batches = state["batches"]


class HalfSteps:
    """A third-party trainer: the default loop on a scaled loss, counting its batches itself
    (kept in checkpoints through ``session.keep``)."""

    def __init__(self) -> None:
        self.seen = []
        self.counter = Counter()

    @hookimpl
    def zoo_register_trainers(self, register) -> None:
        register(
            "halfsteps",
            self.train,
            description="Halves the loss.",
            options=(Option("halfsteps_scale", float, 0.5, "What the loss is multiplied by.", min=0),),
        )

    def train(self, session) -> dict:
        self.seen.append(session.options)
        self.counter = Counter()
        session.keep("halfsteps", self.counter)
        for epoch in session.epochs():
            for x, y in epoch.batches():
                self.counter.batches += 1
                with session.autocast():
                    logits = session.net(x)
                    loss = session.loss(logits.float(), y) * session.options["halfsteps_scale"]
                session.step(loss)
                epoch.record(loss, logits, y)
        return session.finish()


def test_a_third_party_trainer_gets_the_cores_run_contract(tmp_path, fresh_plugins, zoo_cli) -> None:
    from zoo_core.training import Settings, resume, train

    trainer = HalfSteps()
    plugins.get_host().register(trainer, "halfsteps")
    recipe = zoo.get_recipe(
        "lenet5", "lesson", epochs=2, trainer="halfsteps", options={"halfsteps_scale": 0.25}
    )
    report = train("lenet5", recipe, Settings(device="cpu", subset=500), out=tmp_path / "run", progress=False)
    assert trainer.seen == [{"halfsteps_scale": 0.25}]
    run = tmp_path / "run"
    assert torch.load(run / "checkpoint.pt", weights_only=True)["kept"] == {"halfsteps": {"batches": 4}}
    resume(run, progress=False)  # nothing left to train: the trainer gets its state back, and finishes
    assert trainer.counter.batches == 4 and len(trainer.seen) == 2
    assert {p.name for p in run.iterdir()} >= {
        "best.safetensors",
        "last.safetensors",
        "checkpoint.pt",
        "report.json",
        "metrics.jsonl",
    }
    assert json.loads((run / "report.json").read_text())["trainer"] == "halfsteps"
    assert report["epochs"] == 2 and len((run / "metrics.jsonl").read_text().splitlines()) == 2
    _, meta = load_weights(run / "best.safetensors")
    assert json.loads(meta["recipe"])["trainer"] == "halfsteps"
    evaluated = zoo_cli("eval", "lenet5", "--weights", str(run / "best.safetensors"), "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["images"] == 10_000
    exported = zoo_cli("export", "lenet5", "--weights", str(run / "best.safetensors"), "--out", str(tmp_path))
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "lenet5.safetensors").is_file()
    published = zoo_cli("publish", str(run), "--tag", "halved", "--to", str(tmp_path / "hub"))
    assert published.exit_code == 0, published.output
    bundle = zoo.create_model(weights=str(tmp_path / "hub" / "lenet5" / "halved"))
    assert bundle.zoo_weights.recipe.trainer == "halfsteps"


class Wrong:
    @hookimpl
    def zoo_register_trainers(self, register) -> None:
        register("wrong", lambda session: None, description="Returns nothing.")


def test_a_trainer_that_returns_no_report_is_named(tmp_path, fresh_plugins) -> None:
    from zoo_core.training import Settings, train

    plugins.get_host().register(Wrong(), "wrong")
    recipe = zoo.get_recipe("lenet5", "lesson", epochs=1, trainer="wrong")
    with pytest.raises(zoo.ZooError, match=r"trainer 'wrong' .* returned NoneType, not the report"):
        train("lenet5", recipe, Settings(device="cpu", subset=100), out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


class Shorthands:
    """A trainer whose option claims `zoo train --teacher`, which the distill trainer has."""

    @hookimpl
    def zoo_register_trainers(self, register):
        option = Option("mine_teacher", str, "", "Another teacher.", flag="teacher")
        register("mine", "zoo_plugins.training.default:train", description="Mine.", options=(option,))


def test_a_plugins_shorthand_picks_its_part_and_two_claims_are_one_error(fresh_plugins, zoo_cli) -> None:
    teacher = "resnet18_small:fashion_mnist"
    overrides, options = {"trainer": None}, {}
    lesson = zoo.get_recipe("lenet5", "lesson")  # its trainer is the default one
    apply_shorthands({"shorthand_distill_teacher": teacher}, overrides, options, lesson)
    assert overrides == {"trainer": "distill"} and options == {"distill_teacher": teacher}
    own = lesson.replace(name="own", trainer="halfsteps")  # a recipe's own trainer is not replaced
    with pytest.raises(ZooError, match="recipe 'own' trains with the trainer halfsteps; add --trainer"):
        apply_shorthands({"shorthand_distill_teacher": teacher}, {"trainer": None}, {}, own)
    plugins.get_host().register(Shorthands(), "shorthands")
    result = zoo_cli("train", "--help")
    assert result.exit_code == 1
    assert "zoo train --teacher is claimed by trainer distill (plugin distill" in result.output
    assert "and trainer mine (plugin shorthands" in result.output


@pytest.mark.parametrize(
    ("augment", "metrics", "helps"),
    [
        ((), {}, False),  # never trained on mirrored images
        (("flip",), {}, True),  # weights from before the decision was recorded
        (("flip",), {"val_accuracy": 0.90, "val_accuracy_tta": 0.91}, True),
        (("flip",), {"val_accuracy": 0.90, "val_accuracy_tta": 0.90}, False),
        (("flip",), {"val_accuracy": 0.90, "val_accuracy_tta": 0.89, "test_accuracy_tta": 0.99}, False),
    ],
)
def test_the_mirrored_pass_is_used_when_trained_for_and_better_on_validation(augment, metrics, helps) -> None:
    from zoo_core.host.training_parts import mirrors_help

    recipe = zoo.get_recipe("lenet5", tta=True, augment=augment)
    assert mirrors_help(recipe, metrics) is helps


@pytest.mark.parametrize("name", ["random_resized_crop", "color_jitter", "trivial_augment"])
def test_a_photo_augmentation_draws_per_image_from_the_runs_generator_only(name) -> None:
    from zoo_core.host.entries import AugmentationSpec

    spec = plugins.part_registry(AugmentationSpec).get(name)
    augment = spec.load()(recipe=None, options={o.name: o.default for o in spec.options}, dataset=None)
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 255
    batch, labels = photo.round().repeat(8, 1, 1, 1), torch.arange(8)
    global_state = torch.random.get_rng_state()
    first, kept = augment(batch, labels, torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), global_state)  # dropout's stream is untouched
    again, _ = augment(batch, labels, torch.Generator().manual_seed(7))
    assert torch.equal(first, again) and torch.equal(kept, labels)
    assert first.shape == batch.shape and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 255
    assert len({image.sum().item() for image in first}) > 1  # each image drew its own change
