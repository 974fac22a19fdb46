"""Recipes: the lesson's defaults, validation with clear messages, JSON round trips."""

from __future__ import annotations

import json
import warnings

import pytest

import zoo_core as zoo
from zoo_core import Recipe, get_model_spec, hookimpl
from zoo_core.contract.recipe import RecipeError
from zoo_core.host import plugins


def test_defaults_are_the_lessons_recipe() -> None:
    recipe = Recipe(dataset="fashion_mnist")
    assert (recipe.name, recipe.input_size, recipe.batch_size) == ("lesson", (28, 28), 256)
    assert (recipe.optimizer, recipe.lr, recipe.weight_decay) == (None, 1e-3, 1e-4)
    assert (recipe.epochs, recipe.patience, recipe.val_fraction) == (50, 10, 0.2)
    used = zoo.get_recipe("fashion_cnn", recipe)  # the parts the training plugin declares the defaults
    parts = (used.optimizer, used.schedule, used.loss, used.trainer)
    assert parts == ("adam", "constant", "cross_entropy", "default")
    assert get_model_spec("fashion_cnn").find_recipe("lesson") == Recipe(
        name="lesson", dataset="fashion_mnist"
    )


def test_json_round_trip(tmp_path) -> None:
    recipe = get_model_spec("resnet18_small").recipe
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe.to_dict()))
    assert Recipe.from_file(path) == recipe


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": -0.1}, "lr must be a positive number"),
        ({"optimizer": ""}, "optimizer must be the name of a registered optimizer"),
        ({"augment": ("flip", "flip")}, "augment must list registered augmentations, each once"),
        ({"options": {"ema_decay": [0.9]}}, "options must map option names to true/false, numbers"),
        ({"batch_size": 0}, "batch_size must be an integer of at least 2"),
        ({"batch_size": 1}, r"batch_size must be an integer of at least 2 \(batch norm needs two images\)"),
        ({"val_fraction": 1.5}, r"val_fraction must be a number in \[0, 1\)"),
        ({"input_size": (28,)}, "input_size must be two positive integers"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"epochs": True}, "epochs must be a positive integer"),
    ],
)
def test_invalid_values_are_refused_with_what_would_be_right(changes, message) -> None:
    with pytest.raises(RecipeError, match=message):
        Recipe(dataset="fashion_mnist").replace(**changes)


def test_options_are_data_kept_in_order_and_hashable() -> None:
    a = Recipe(dataset="fashion_mnist", options={"b": 1, "a": 0.5})
    b = Recipe(dataset="fashion_mnist", options={"a": 0.5, "b": 1})
    assert a == b and hash(a) == hash(b) and list(a.options) == ["a", "b"]
    assert a != a.replace(options={"a": 0.5}) and Recipe.from_dict(a.to_dict()) == a


def test_unknown_field_suggests_the_closest() -> None:
    with pytest.raises(RecipeError, match=r"unknown field 'learning_rate'.*Fields: name, dataset"):
        Recipe.from_dict({"dataset": "fashion_mnist", "learning_rate": 0.1})
    with pytest.raises(RecipeError, match="Did you mean 'epochs'"):
        Recipe(dataset="fashion_mnist").replace(epoch=3)


def test_unreadable_recipe_file(tmp_path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text("{not json")
    with pytest.raises(RecipeError, match="cannot read recipe file"):
        Recipe.from_file(path)


def test_zoo_0_1_recipe_fields_become_the_options_of_their_parts_with_a_warning(tmp_path) -> None:
    with pytest.warns(DeprecationWarning, match=r"write options=\{'momentum': 0.0\} instead"):
        old = Recipe(dataset="fashion_mnist", optimizer="sgd", momentum=0.0, nesterov=False)
    assert old.options == {"momentum": 0.0} and "momentum" not in old.to_dict()
    with pytest.warns(DeprecationWarning, match="nesterov are options"):
        assert old.replace(nesterov=True).options == {"momentum": 0.0, "nesterov": True}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({**old.to_dict(), "momentum": 0.9, "label_smoothing": 0.1}))
    with pytest.warns(DeprecationWarning, match="momentum, label_smoothing are options of the parts"):
        assert Recipe.from_file(path).options == {"momentum": 0.0, "label_smoothing": 0.1}
    # a weights file's record of its recipe is read without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Recipe.from_dict({**old.to_dict(), "nesterov": False}, warn=False) == old


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"options": {"nesterov": True}}, "no part of the recipe takes option 'nesterov'"),
        ({"optimizer": "sgd", "options": {"momentum": 1.0}}, "option 'momentum' must be below 1"),
        ({"options": {"label_smoothing": -0.1}}, "option 'label_smoothing' must be at least 0"),
    ],
)
def test_a_parts_settings_are_checked_as_its_options(changes, message) -> None:
    with pytest.raises(RecipeError, match=message):
        zoo.get_recipe("fashion_cnn", **changes)


def test_a_recipe_without_a_part_gets_the_default_its_plugin_declares(fresh_plugins) -> None:
    class Second:
        @hookimpl
        def zoo_register_optimizers(self, register):
            register("other", "torch.optim:SGD", description="Another default.", default=True)

    plugins.get_host().register(Second(), "second")
    with pytest.raises(RecipeError, match=r"2 optimizers are declared the default: adam .*, other"):
        zoo.get_recipe("fashion_cnn", "lesson")
    assert zoo.get_recipe("fashion_cnn", "lesson", optimizer="adam").optimizer == "adam"
    plugins.get_host().unregister("second")
    plugins.get_host().unregister("training")
    with pytest.raises(RecipeError, match="names no optimizer and no plugin declares a default one"):
        zoo.get_recipe("fashion_cnn", "lesson")


def test_get_recipe_by_name_by_file_and_with_overrides(tmp_path) -> None:
    spec = get_model_spec("fashion_cnn")
    assert zoo.get_recipe("fashion_cnn") == spec.recipe.replace(loss="cross_entropy", trainer="default")
    lesson = zoo.get_recipe("fashion_cnn", "lesson", epochs=3, patience=0, augment="flip, shift", lr=None)
    assert (lesson.name, lesson.epochs, lesson.patience, lesson.augment) == (
        "lesson",
        3,
        None,
        ("flip", "shift"),
    )
    assert lesson.lr == 1e-3  # None leaves a field alone, as an option not given on the command line
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(lesson.to_dict()))
    assert zoo.get_recipe("fashion_cnn", path) == lesson
    assert zoo.get_recipe("fashion_cnn", str(path), augment="none").augment == ()
    assert zoo.get_recipe("fashion_cnn", lesson, seed=4) == lesson.replace(seed=4)
