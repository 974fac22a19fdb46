"""The ``zoo`` command group and what its commands share: one-line errors, JSON and table
output, and shape arguments.

User mistakes (a ``ZooError``) and refused writes (a full disk, a read-only folder) print one
line on stderr and exit 1, with no traceback. Anything unexpected prints one line too and saves
its traceback to a file named in that line (``zoo --debug`` shows it inline instead). SIGTERM
unwinds like Ctrl-C, so temporary files are removed before the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from ..base.errors import PluginWarning, ZooError
from ..base.tables import format_table
from ..base.version import PLUGIN_API, __version__
from ..contract.interfaces import Option
from ..data.datasets import folder_dataset
from ..runtime.allocator import keep_freed_memory
from ..store.paths import HOME_ENV, HUB_ENV, HUB_TOKEN_ENV, error_reports, home
from .launch import leave_worker_error

WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


class ZooGroup(click.Group):
    """A click group that turns every error into one line on stderr and an exit code of 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except click.UsageError:
            raise
        except click.ClickException as exc:
            if leave_worker_error(exc.format_message()):  # a torchrun worker: its launcher says it once
                raise click.exceptions.Exit(exc.exit_code) from None
            raise

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZooError as exc:
            raise click.ClickException(bounded(str(exc))) from None
        except BrokenPipeError:  # `zoo list | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            raise SystemExit(128 + signal.SIGPIPE) from None
        except OSError as exc:
            cache = home()
            if exc.errno == errno.ENOTDIR and cache.exists() and not cache.is_dir():
                raise click.ClickException(
                    f"{HOME_ENV} ({cache}) is a file, not a folder; point it at a folder"
                ) from None
            if exc.errno not in WRITE_ERRORS:
                raise self._unexpected(ctx, exc) from None
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"cannot write{where}: {exc.strerror}; nothing was left half-written"
            ) from None
        except click.UsageError as exc:  # one line instead of click's usage, hint and error
            path = (exc.ctx or ctx).command_path
            where = "zoo" + path[len(ctx.find_root().command_path) :]  # as run by `python -m zoo_core`, too
            message = bounded(exc.format_message().rstrip("."))
            hint = f" (see '{where} --help')" if message.endswith("?") else f"; see '{where} --help'"
            raise click.UsageError(message + hint) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            raise self._unexpected(ctx, exc) from None

    @staticmethod
    def _unexpected(ctx: click.Context, exc: BaseException) -> click.ClickException:
        """One line for a bug or an unforeseen failure; the traceback goes to a file (or, with
        --debug, to the terminal)."""
        if ctx.meta.get(DEBUG_KEY):
            raise exc
        first = (str(exc).strip().splitlines() or [""])[0]
        saved = _save_traceback(exc)
        where = f"the traceback is in {saved}" if saved else "run with --debug for the traceback"
        return click.ClickException(f"unexpected {type(exc).__name__}: {first} ({where}; --debug shows it)")


DEBUG_KEY = "zoo.debug"
LONGEST_WORD = 200  # characters without a space that an error message shows whole


def bounded(message: str) -> str:
    """``message`` with every run of over ``LONGEST_WORD`` characters without a space cut short,
    so that a pasted 5000-character name still gives one readable line."""
    return re.sub(
        rf"\S{{{LONGEST_WORD + 1},}}", lambda m: f"{m[0][:60]}...({len(m[0]):,} characters)", message
    )


def _save_traceback(exc: BaseException) -> Path | None:
    folder = error_reports()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(
            f"zoo {__version__}: {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc))
        )
        return path
    except OSError:
        return None


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[DEBUG_KEY] = value
    return value


@click.group(cls=ZooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoo", message=f"%(prog)s %(version)s (plugin API {PLUGIN_API})")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help="Show the traceback of an unexpected error instead of saving it to a file.",
)
def cli() -> None:
    """A plugin-based PyTorch model zoo: list, inspect, train, evaluate and export models."""


class PluginCommand(click.Command):
    """A command whose parameters include flags that plugins declare (``plugin_params`` makes
    them), added when it is parsed or its help is shown."""

    def __init__(self, *args: Any, plugin_params: Callable[[], list[click.Option]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_params = plugin_params

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        own = super().get_params(ctx)  # this command's parameters, then --help
        if "zoo.plugin_params" not in ctx.meta:  # made once per invocation: click asks several times
            ctx.meta["zoo.plugin_params"] = self.plugin_params()
        count = len(self.params)
        return [*own[:count], *ctx.meta["zoo.plugin_params"], *own[count:]]


def option_param(option: Option, flag: str, dest: str, help_text: str) -> click.Option:
    """A plugin's declared option as a click flag ``--FLAG`` (``--FLAG/--no-FLAG`` for a bool)
    whose value arrives as ``dest``, typed and bounded as declared."""
    if option.type is bool:
        return click.Option([f"--{flag}/--no-{flag}", dest], default=None, help=help_text)
    kind = {
        int: click.IntRange(min=option.min, max=option.max),
        float: click.FloatRange(min=option.min, max=option.max),
        str: click.Choice(option.choices) if option.choices else click.STRING,
    }
    return click.Option([f"--{flag}", dest], type=kind[option.type], help=help_text)


def _token_from_file(ctx: click.Context, param: click.Parameter, path: Path | None) -> None:
    """``--hub-token-file``: the private hub's bearer token, read from a file so that it never
    stands on a command line, as ``ZOO_HUB_TOKEN`` for this process."""
    if path is None:
        return
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"cannot read the hub token file {path}: {exc}") from None
    if not token or not token.isprintable():
        raise ZooError(f"{path} must hold the hub's token on one line, and nothing else")
    os.environ[HUB_TOKEN_ENV] = token


hub_token_option = click.option(
    "--hub-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    expose_value=False,
    callback=_token_from_file,
    help="A file holding a private hub's bearer token (or set ZOO_HUB_TOKEN); sent to that hub's host only.",
)


def _hub_for_this_command(ctx: click.Context, param: click.Parameter, hub: str | None) -> None:
    """``--hub``: where a weights tag that no plugin registers comes from, as ``ZOO_HUB`` says
    for every command; set for this process only."""
    if hub:
        os.environ[HUB_ENV] = hub


hub_option = click.option(
    "--hub",
    expose_value=False,
    callback=_hub_for_this_command,
    help="A hub to take a weights tag from (an http(s):// or file:// URL, or a folder); as ZOO_HUB.",
)


def hub_options(command: Callable) -> Callable:
    """``--hub`` and ``--hub-token-file``, for every command that takes ``--weights``."""
    return hub_option(hub_token_option(command))


WEIGHTS_HELP = "A weights tag (see `zoo info NAME`), a .safetensors file, or a bundle folder (`zoo publish`)."


def data_source(data: Path | None, data_dir: Path | None) -> tuple[Path | None, str | None]:
    """Where the data are and which dataset reads them (None: the recipe's) from ``--data`` (an
    image folder) or ``--data-dir`` (where a registered dataset is); not both."""
    if data is None:
        return data_dir, None
    if data_dir is not None:
        raise ZooError(
            "give --data (an image folder) or --data-dir (where a registered dataset is), not both"
        )
    return data, folder_dataset()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def echo_table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()
) -> None:
    """Print rows in aligned columns, under headers if given; columns in ``right`` align right."""
    for line in format_table(headers, rows, right=right):
        click.echo(line)


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def parse_shape(text: str, *, length: int, what: str) -> tuple[int, ...]:
    """'1,28,28' -> (1, 28, 28), or a one-line error saying what form was expected."""
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != length or any(v < 1 for v in values):
        raise ZooError(f"{what} must be {length} positive integers separated by commas, got {text!r}")
    return values


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"Warning: {message}\n"


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: temporary files are removed on the way


def main() -> None:
    keep_freed_memory()
    signal.signal(signal.SIGTERM, _terminate)
    warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
    warnings.simplefilter("default", PluginWarning)
    try:
        cli()
    except SystemExit as done:  # click ends every command this way
        if "torch" not in sys.modules:
            raise
        _leave(done.code)


def _leave(code: int | str | None) -> NoReturn:
    """End the process once a command that loaded torch is done, without Python's teardown of
    its thousands of modules (0.7 s with torch, 1.1 s with torch._dynamo, on the 2-core CPUs
    here), which a finished command does not need. Everything a normal exit does for the
    command's sake still happens first: other threads are waited for, exit handlers run
    (multiprocessing's stops DataLoader workers) and output is flushed."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing left to flush
            stream.flush()
    os._exit(code or 0)
