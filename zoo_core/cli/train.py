"""Commands that train and evaluate: train, eval."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import typing
from pathlib import Path

import click

from ..base.errors import PluginError, ZooError
from ..contract.interfaces import Option
from ..contract.recipe import Recipe
from ..contract.run import RUN_FILE, Run
from ..host.entries import PART_KINDS, AugmentationSpec, LoggerSpec, PartSpec
from ..host.plugins import part_registry
from ..host.training_parts import default_part
from ..models.catalogue import base_recipe, fine_tune_recipe, get_recipe
from ..models.pretrained import get_weights
from . import completion as complete
from .app import (
    DEBUG_KEY,
    WEIGHTS_HELP,
    PluginCommand,
    cli,
    data_source,
    echo_json,
    echo_table,
    hub_options,
    option_param,
    parse_shape,
)
from .launch import Launch


def data_options(command):
    command = click.option("--no-download", is_flag=True, help="Never download the dataset.")(command)
    command = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the dataset is (default: $ZOO_DATA_DIR, the user cache, system packages).",
    )(command)
    command = click.option(
        "--device", help="auto, cpu, cuda or cuda:N (default: auto; a resumed run keeps its own)."
    )(command)
    return command


# what each recipe field's flag says; every field of Recipe gets a flag (a test holds them
# together), typed from its annotation, whether or not it is described here
FIELD_HELP = {
    "dataset": "A registered dataset to train on (`zoo plugins` lists them); --data reads a folder.",
    "input_size": "Train at this input size, H,W (or one number for both); images are resized.",
    "epochs": "Most epochs to train.",
    "batch_size": "Images per optimizer step (over all processes).",
    "lr": "Learning rate (the peak rate for one-cycle).",
    "weight_decay": "Weight decay of the optimizer.",
    "optimizer": "A registered optimizer (`zoo plugins` lists them).",
    "schedule": "A registered learning-rate schedule.",
    "loss": "A registered loss.",
    "averager": "A registered weight averager: validate, save and test averaged weights.",
    "trainer": "A registered trainer (default: the recipe's, else the declared default).",
    "patience": "Stop after this many epochs without a better validation loss; 0: never.",
    "val_fraction": "The share of the training images held out for validation (no val/ split).",
    "augment": "Comma-separated registered augmentations, or none.",
    "tta": "Test-time augmentation: also report the test split averaged over mirrored images.",
    "seed": "Seed of the initialisation, the split and the augmentations.",
    "freeze_features": "Train the classifier head only (needs named parts).",
    "lr_features": "The feature extractor's learning rate as a factor of --lr.",
}
# recipe fields set otherwise: the recipe by name, the parts' options with --set
FIELDS_SET_OTHERWISE = {"name": "--recipe", "options": "--set"}


def recipe_field_options(command):
    """A ``--FIELD`` option for every field of :class:`Recipe`, so the flags never fall behind
    the recipe: ints, floats and names as values, booleans as ``--x/--no-x``, the input size as
    H,W and the augmentations comma-separated. Each lands in the command's overrides."""
    hints = typing.get_type_hints(Recipe)
    for field in reversed(dataclasses.fields(Recipe)):
        if field.name in FIELDS_SET_OTHERWISE:
            continue
        flag, kind = "--" + field.name.replace("_", "-"), hints[field.name]
        help_text = FIELD_HELP.get(field.name, f"The recipe's {field.name}.")
        if kind is bool:
            option = click.option(f"{flag}/--no-{flag[2:]}", field.name, default=None, help=help_text)
        elif kind in (int, int | None):
            option = click.option(flag, field.name, type=int, help=help_text)
        elif kind is float:
            option = click.option(flag, field.name, type=float, help=help_text)
        elif field.name == "input_size":
            option = click.option(flag, field.name, callback=_size_value, metavar="H,W", help=help_text)
        else:  # names, and the comma-separated augmentations
            option = click.option(flag, field.name, shell_complete=_completer(field.name), help=help_text)
        command = option(command)
    return command


def _completer(field: str) -> complete.Completer | None:
    """What a recipe field's value may be: a registered dataset, part, or list of augmentations."""
    if field == "dataset":
        return complete.datasets
    kinds = {kind.kind: kind for kind in PART_KINDS} | {"augment": AugmentationSpec}
    return complete.parts(kinds[field], listed=field == "augment") if field in kinds else None


def _size_value(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    text = value if "," in value or "x" in value else f"{value},{value}"
    return parse_shape(text, length=2, what="--input-size")  # type: ignore[return-value]


SHORTHAND_PREFIX = "shorthand_"
OPTION_PREFIX = "option_"


def shorthand_params() -> list[click.Option]:
    """``--FLAG`` for every training-part option that declares a ``flag`` (a plugin's
    shorthand, such as a distillation trainer's teacher): it sets the option and picks the part.
    Then ``--NAME`` for every other part option whose name no flag has taken (``--momentum``):
    it only sets the option, as ``--set NAME=VALUE`` does."""
    params = _shorthands()
    taken = {opt for param in (*train.params, *params) for opt in (*param.opts, *param.secondary_opts)}
    seen: set[str] = set()
    for kind in PART_KINDS:
        for spec in part_registry(kind):
            for option in spec.options:
                flag = option.name.replace("_", "-")
                if option.flag or option.name in seen or f"--{flag}" in taken:
                    continue
                seen.add(option.name)
                help_text = (
                    f"{option.help} An option of the {kind.kind} {spec.name} (as --set {option.name}=...)."
                )
                params.append(option_param(option, flag, f"{OPTION_PREFIX}{option.name}", help_text))
    return params


def _shorthands() -> list[click.Option]:
    params, owners = [], {}
    for kind, spec, option in _flagged_options():
        other = owners.setdefault(option.flag, (kind, spec))
        if other != (kind, spec):
            raise PluginError(
                f"zoo train --{option.flag} is claimed by {other[0].kind} {other[1].name} (plugin "
                f"{other[1].origin}) and {kind.kind} {spec.name} (plugin {spec.origin}); uninstall one"
            )
        help_text = f"{option.help} Picks the {kind.kind} {spec.name} (option {option.name})."
        params.append(option_param(option, option.flag, f"{SHORTHAND_PREFIX}{option.name}", help_text))
    return params


def _flagged_options() -> list[tuple[type[PartSpec], PartSpec, Option]]:
    return [
        (kind, spec, option)
        for kind in PART_KINDS
        for spec in part_registry(kind)
        for option in spec.options
        if option.flag
    ]


def apply_shorthands(
    values: dict[str, object], overrides: dict[str, object], options: dict[str, object], base: Recipe
) -> None:
    """The shorthand flags given, as the options they set and the parts they pick. A shorthand
    replaces the recipe's part of its kind only where that is the kind's default: beside another
    part, given as a flag or named by the recipe ``base``, it is an error saying what to drop."""
    for kind, spec, option in _flagged_options():
        value = values.get(f"{SHORTHAND_PREFIX}{option.name}")
        if value is None:
            continue
        field, default = kind.kind, default_part(kind)
        chosen = overrides.get(field)
        if chosen is not None and chosen != spec.name:
            raise ZooError(
                f"--{option.flag} belongs to the {field} {spec.name}, but --{field} {chosen} was given; "
                f"drop one of them"
            )
        named = getattr(base, field)
        if chosen is None and named not in (None, spec.name, default and default.name):
            raise ZooError(
                f"--{option.flag} belongs to the {field} {spec.name}, but recipe {base.name!r} trains "
                f"with the {field} {named}; add --{field} {spec.name} to replace it, or drop --{option.flag}"
            )
        overrides[field] = spec.name
        options[option.name] = value


@cli.command(cls=PluginCommand, plugin_params=shorthand_params)
@click.argument("name", required=False, shell_complete=complete.models)
@recipe_field_options
@click.option(
    "--recipe", "recipe_ref", help="One of the model's recipes (see `zoo info NAME`) or a recipe .json file."
)
@click.option(
    "--set",
    "settings_",
    multiple=True,
    metavar="OPTION=VALUE",
    help="An option of one of the recipe's parts (e.g. momentum=0.9); repeatable.",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Train on your own images: a folder with one sub-folder per class (PATH/CLASS/*.png), "
    "or PATH/train|val|test/CLASS/... for fixed splits.",
)
@click.option(
    "--weights",
    "start_weights",
    shell_complete=complete.weights_tags,
    help="Start from these trained weights (fine-tuning): a tag, a .safetensors file or a bundle "
    "folder; the classifier is re-initialised when the classes differ.",
)
@hub_options
@click.option(
    "--data-cache/--no-data-cache",
    default=None,
    help="Keep decoded images resident (cached on disk, mapped in memory) or stream them through "
    "DataLoader workers (default: resident when they fit half the free memory).",
)
@click.option("--workers", type=click.IntRange(min=0), help="Decoding workers of the streaming path.")
@click.option(
    "--amp/--no-amp",
    default=None,
    help="bf16 autocast (default: on for CUDA and for CPUs with AVX512-BF16, off on other CPUs).",
)
@click.option("--channels-last/--no-channels-last", default=True, show_default=True)
@click.option("--max-steps", type=int, help="Stop after this many optimizer steps (smoke runs).")
@click.option(
    "--subset",
    type=int,
    help="Smoke runs: train on the first N training images, and test on the first N/5 test images.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default: runs/NAME-TIMESTAMP).")
@click.option(
    "--resume",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Continue this run folder from its last checkpoint.",
)
@click.option("--nproc", type=click.IntRange(min=1), help="Launch N data-parallel processes with torchrun.")
@click.option(
    "--nnodes",
    type=click.IntRange(min=1),
    help="Machines taking part, each running this same command with --nproc processes; needs "
    "--rdzv-endpoint and --out.",
)
@click.option(
    "--rdzv-endpoint",
    help="HOST:PORT of torchrun's c10d rendezvous, the same on every machine (e.g. the first one's "
    "address and a free port).",
)
@click.option(
    "--max-restarts",
    type=click.IntRange(min=0),
    help="When a worker dies, torchrun restarts the group up to this many times and the run goes on "
    "from its last checkpoint.",
)
@click.option("--progress/--no-progress", default=True, help="A progress bar per epoch on stderr.")
@click.option(
    "--logger",
    "loggers",
    multiple=True,
    shell_complete=complete.parts(LoggerSpec),
    help="Also log to this registered logger (`zoo plugins` lists them); repeatable.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the run's report as JSON (the epoch lines go to stderr)."
)
@data_options
def train(
    name: str | None,
    recipe_ref: str | None,
    amp: bool | None,
    channels_last: bool,
    max_steps: int | None,
    subset: int | None,
    out: Path | None,
    resume: Path | None,
    nproc: int | None,
    nnodes: int | None,
    rdzv_endpoint: str | None,
    max_restarts: int | None,
    progress: bool,
    loggers: tuple[str, ...],
    as_json: bool,
    device: str | None,
    data_dir: Path | None,
    no_download: bool,
    data: Path | None,
    start_weights: str | None,
    data_cache: bool | None,
    workers: int | None,
    settings_: tuple[str, ...],
    **overrides: object,
) -> None:
    """Train model NAME with its default recipe (or --recipe), overriding any recipe field.

    Writes runs/NAME-TIMESTAMP/ (recipe, metrics, best and last weights, checkpoint, report,
    curves); --resume RUN continues a run exactly where it stopped.
    """
    shorthands = {k: overrides.pop(k) for k in list(overrides) if k.startswith(SHORTHAND_PREFIX)}
    flagged = {
        k.removeprefix(OPTION_PREFIX): overrides.pop(k)
        for k in list(overrides)
        if k.startswith(OPTION_PREFIX)
    }
    flagged = {k: v for k, v in flagged.items() if v is not None}
    launch = Launch(nproc or 1, nnodes or 1, rdzv_endpoint, max_restarts or 0)
    # everything that can be checked is checked here, once, before torchrun starts any worker
    if resume is not None:
        changed = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None]
        flags = (("--set", settings_), ("--recipe", recipe_ref))
        changed += [flag for flag, value in flags if value]
        given = {key for key, value in shorthands.items() if value is not None}
        changed += [f"--{o.flag}" for _, _, o in _flagged_options() if SHORTHAND_PREFIX + o.name in given]
        changed += [f"--{k.replace('_', '-')}" for k in flagged] + (["--logger"] if loggers else [])
        if changed:
            raise ZooError(f"a resumed run keeps its recipe; drop {', '.join(changed)} or start a new run")
    else:
        if not name:
            raise ZooError("name a model to train (see `zoo list`), or give --resume RUN")
        if data is not None and not data.is_dir():
            raise ZooError(f"{data} is not a folder; --data takes a folder with one sub-folder per class")
        options = {**parse_options(settings_), **flagged}
        if data is not None and overrides.get("dataset") is not None:
            raise ZooError("give --data (an image folder) or --dataset (a registered dataset), not both")
        base = base_recipe(name, recipe_ref)  # read once: the shorthands and the overrides start from it
        if start_weights is not None and recipe_ref is None:  # a transfer: the fine-tune recipe
            base, why = fine_tune_recipe(name, get_weights(name, start_weights).input_size)
            if launch.speaks_for_the_run:
                click.echo(
                    f"fine-tuning from {start_weights}: {why} (--recipe NAME for another)", err=as_json
                )
        apply_shorthands(shorthands, overrides, options, base)
        if options:
            overrides["options"] = options
        data_dir, dataset = data_source(data, data_dir)
        if dataset is not None:
            overrides["dataset"] = dataset
        recipe = get_recipe(name, base, **overrides)
        for logger in loggers:  # an unknown one is one line, before any worker starts
            part_registry(LoggerSpec).get(logger)
        recipe.per_process_batch(launch.nproc * launch.nnodes)
    if launch.launches:
        if resume is None and out is None:
            if launch.nnodes > 1:
                raise ZooError("--nnodes needs --out: every machine must name the same run folder")
            out = Run.new_directory(str(name), Path("runs"))  # one folder for every restart
        sys.exit(launch.run(out, debug=bool(click.get_current_context().meta.get(DEBUG_KEY))))
    if resume is not None:
        from .. import training  # imports torch

        with _lines_to_stderr(as_json):
            report = training.resume(resume, model=name, device=device, progress=progress)
        _report(report, as_json and launch.speaks_for_the_run)
        return
    from .. import training  # imports torch

    settings = training.Settings(
        device=device or "auto",
        amp=amp,
        channels_last=channels_last,
        max_steps=max_steps,
        subset=subset,
        data_dir=str(data_dir) if data_dir else None,
        download=not no_download,
        data_cache=data_cache,
        workers=workers,
        weights=start_weights,
        loggers=tuple(dict.fromkeys(loggers)),
    )
    with _lines_to_stderr(as_json):
        report = training.train(name, recipe, settings, out=out, progress=progress)
    _report(report, as_json and launch.speaks_for_the_run)


def _lines_to_stderr(as_json: bool) -> contextlib.AbstractContextManager:
    """With --json, stdout is for the report alone: the loggers' lines go to stderr."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def _report(report: dict | None, as_json: bool) -> None:
    if as_json and report is not None:
        echo_json(report)


def parse_options(items: tuple[str, ...]) -> dict[str, object]:
    """``--set OPTION=VALUE`` pairs as recipe options: true/false, integers and numbers as
    such, anything else as text (the part that declares the option checks its type)."""
    options: dict[str, object] = {}
    for item in items:
        key, equals, text = item.partition("=")
        if not equals or not key.strip():
            raise ZooError(f"--set takes OPTION=VALUE (an option of one of the recipe's parts), got {item!r}")
        options[key.strip()] = _option_value(text.strip())
    return options


def _option_value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@cli.command("eval")
@click.argument("name", shell_complete=complete.models)
@click.option(
    "--weights",
    "weights",
    required=True,
    shell_complete=complete.weights_tags,
    help=f"{WEIGHTS_HELP} E.g. a run's best.safetensors.",
)
@hub_options
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Images per batch (default: 256 on the CPU, 1024 on a GPU).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the report: confusion-SPLIT.png, errors-SPLIT.png (the worst mistakes) and "
    "eval-SPLIT.json (default: the run's folder for a run's weights file, else none).",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evaluate on an image folder (as `zoo train --data` reads it) with the weights' classes.",
)
@data_options
def eval_command(
    name: str,
    weights: str,
    split: str,
    batch_size: int | None,
    as_json: bool,
    out: Path | None,
    data: Path | None,
    device: str | None,
    data_dir: Path | None,
    no_download: bool,
) -> None:
    """Evaluate model NAME with --weights: loss, accuracy, top-k accuracy, and per class the
    precision, recall and F1; the confusion matrix and the worst mistakes as figures."""
    from ..runtime.devices import resolve_device  # imports torch
    from ..training.evaluation import evaluate_weights  # imports torch

    data_dir, dataset = data_source(data, data_dir)
    result, facts = evaluate_weights(
        name,
        weights,
        split=split,
        device=resolve_device(device or "auto"),
        data_dir=data_dir,
        download=not no_download,
        batch_size=batch_size,
        dataset=dataset,
        report_to=out or run_folder_of(weights),
    )
    report = result.report.to_dict() if result.report else {}
    if as_json:
        echo_json(
            {
                **facts,
                **{k.removeprefix("_"): v for k, v in result.metrics("").items()},
                "images": result.count,
                "per_class_accuracy": dict(zip(facts["classes"], result.per_class_accuracy(), strict=True)),
                **{k: v for k, v in report.items() if k != "classes"},
            }
        )
        return
    top_k = ", ".join(f"top-{k} {v:.4f}" for k, v in report.get("top_k_accuracy", {}).items() if k != "1")
    click.echo(
        f"{name} on the {split} split of {facts['dataset']} ({result.count:,} images): "
        f"loss {result.loss:.4f}, accuracy {result.accuracy:.4f}"
        + (f" (flip TTA: accuracy {result.tta_accuracy:.4f})" if result.tta_accuracy is not None else "")
        + (f", {top_k}" if top_k else "")
        + (f", macro F1 {report['macro_f1']:.4f}" if report else "")
    )
    echo_table(
        ("class", "precision", "recall", "f1", "images"),
        [
            (c, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1']:.4f}", str(v["support"]))
            for c, v in report.get("per_class", {}).items()
        ],
        right=(1, 2, 3, 4),
    )
    if facts.get("report_files"):
        click.echo(f"report: {', '.join(str(p) for p in facts['report_files'])}")


def run_folder_of(weights: str) -> Path | None:
    """The run folder holding weights file ``weights``, if it is a run's file."""
    path = Path(weights)
    return path.parent if path.suffix == ".safetensors" and (path.parent / RUN_FILE).is_file() else None


@cli.command("predict")
@click.argument("name", shell_complete=complete.models)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--weights",
    default="True",
    show_default="the model's first weights tag",
    help=WEIGHTS_HELP,
)
@hub_options
@click.option("--topk", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--tta/--no-tta",
    default=None,
    help="Also average each image's mirror image (default: as the weights' recipe tested, when it "
    "trained on mirrored images).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def predict_command(
    name: str, images: tuple[Path, ...], weights: str, topk: int, tta: bool | None, as_json: bool
) -> None:
    """Classify IMAGES (PNG, JPEG, any size or mode) with model NAME's trained weights."""
    from ..models.predict import predict  # imports torch

    chosen = True if weights == "True" else weights
    results = predict(name, list(images), weights=chosen, topk=topk, tta=tta)
    if as_json:
        echo_json(results)
        return
    if results and results[0]["mirrored"]:  # said, so that no one wonders why an export differs
        click.echo(
            "averaged with each image's mirror image, as the weights were tested (--no-tta: one pass)",
            err=True,
        )
    for result in results:
        best = ", ".join(f"{p['label']} {p['probability']:.3f}" for p in result["predictions"])
        click.echo(f"{result['image']}: {best}")
