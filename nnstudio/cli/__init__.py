"""The headless command line: ``nnstudio COMMAND ...``.

Each command lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a
function ``(args) -> int``. Add a module to ``COMMAND_MODULES`` to add a command.
What commands share (argument types, the data options, the progress bar) is in
:mod:`nnstudio.cli.args`. Errors the user can fix raise :class:`CLIError`: one line
on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nnstudio import __version__

from .args import CLIError

COMMAND_MODULES = (
    "nnstudio.cli.train",
    "nnstudio.cli.evaluate",
    "nnstudio.cli.predict",
    "nnstudio.cli.finetune",
    "nnstudio.cli.data",
    "nnstudio.cli.grad",
    "nnstudio.cli.memory",
    "nnstudio.cli.runs",
    "nnstudio.cli.exercise",
    "nnstudio.cli.export",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise CLIError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnstudio",
        description="nnstudio: train and inspect neural networks from the terminal. "
        "Run without arguments to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"nnstudio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnstudio: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        # Core errors (bad model file, missing data, bad hyperparameter) carry clear messages.
        print(f"nnstudio: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError as exc:  # the estimates refuse what cannot fit; this is what they could not foresee
        print(f"nnstudio: error: out of memory ({exc or 'an allocation failed'})", file=sys.stderr)
        return 1
