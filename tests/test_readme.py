"""Every `zoo` command the README shows names a real command with real options, and the quick
ones run: the README cannot drift from the command line."""

from __future__ import annotations

import json
import re
import shlex

import click
import pytest

from zoo_core.cli import cli

from .helpers import ROOT, run_python

README = (ROOT / "README.md").read_text()


def readme_commands() -> list[list[str]]:
    """The arguments of each `zoo ...` line in the README's shell blocks (after any `VAR=value`
    prefix or `&&`), without its comment."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            for part in line.split("#")[0].split("&&"):
                words = shlex.split(part)
                while words and re.match(r"^[A-Z_]+=", words[0]):
                    words = words[1:]
                if words[:1] == ["zoo"]:
                    commands.append(words[1:])
    return commands


COMMANDS = readme_commands()


def resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command ``args`` name, and the arguments left for it."""
    command: click.Command = cli
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        command, args = command.commands[args[0]], args[1:]
    return command, args


def options_of(command: click.Command) -> set[str]:
    with click.Context(command) as ctx:  # get_params: with the options `zoo export` adds per format
        return {opt for param in command.get_params(ctx) for opt in (*param.opts, *param.secondary_opts)}


def test_the_readme_shows_every_command_family() -> None:
    shown = {resolve(args)[0].name for args in COMMANDS}
    assert shown >= {"train", "eval", "export", "predict", "bench", "publish", "pull", "list", "verify"}


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_every_readme_command_names_real_options(args) -> None:
    command, rest = resolve(args)
    assert not isinstance(command, click.Group), f"`zoo {' '.join(args)}` stops at a group"
    known = options_of(command)
    unknown = [
        word.split("=")[0] for word in rest if word.startswith("-") and word.split("=")[0] not in known
    ]
    assert not unknown, f"`zoo {' '.join(args)}`: no such option {unknown}"


QUICK = [args for args in COMMANDS if args[:1] in (["list"], ["info"], ["summary"], ["plugins"])]


@pytest.mark.parametrize("args", QUICK, ids=[" ".join(a) for a in QUICK])
def test_the_quick_readme_commands_run(args, zoo_cli) -> None:
    result = zoo_cli(*args)
    assert result.exit_code == 0, result.output


def test_the_readme_override_example_learns(tmp_path) -> None:
    (args,) = [a for a in COMMANDS if a[:1] == ["train"] and "--subset" in a]
    result = run_python("-m", "zoo_core", *args, "--no-progress", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["test_accuracy"] > 0.5  # chance: 0.1
    first, second = result.stdout.splitlines()[:2]
    assert first == (
        "data: fashion_mnist (10 classes), 4,000 train / 1,000 val / 1,000 test images; "
        "resident (tensors from the dataset plugin)"
    )
    assert second.startswith("smoke run (--subset 5000): the first 5,000 training images, and only")


def test_a_batch_norm_run_too_short_to_settle_says_so(tmp_path) -> None:
    """The README once showed `zoo train resnet18_small --epochs 2 --subset 5000 --lr 0.1`: 18
    steps, after which batch norm's running statistics were so far off that the test accuracy
    was chance while training learned. Such a run now warns before it starts."""
    args = ["train", "resnet18_small", "--subset", "100", "--batch-size", "16", "--max-steps", "2"]
    result = run_python("-m", "zoo_core", *args, "--no-progress", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Warning: resnet18_small has batch norm and this run makes only 2 optimizer steps" in result.stderr
