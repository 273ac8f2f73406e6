"""Argument parsing and dispatch of the ``netweave`` command.

Each sub-command lives in its own module of this package, exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Exit codes: 0 success, 1 a check
failed, 2 bad usage or configuration (the message is on standard error).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import NoReturn

from ..errors import MissingRequirementError, NetweaveError

__all__ = ["COMMANDS", "build_parser", "run"]

COMMANDS = ["plugins", "sim", "node", "keys", "check", "timeline", "view", "export", "conform",
            "demo", "new_plugin", "bench"]
"""Sub-command modules, in the order ``netweave --help`` lists them."""
COMMANDS.insert(COMMANDS.index("conform") + 1, "campaign")
COMMANDS.insert(COMMANDS.index("campaign") + 1, "explore")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on standard error (exit code 2);
    the sub-command parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    """The full parser (also used by the docs test to list every command and option)."""
    from .. import __version__

    parser = _Parser(
        prog="netweave",
        description="Build, run, simulate and check clusters of reactive components.",
    )
    parser.add_argument("--version", action="version", version=f"netweave {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _add_plugin(args: argparse.Namespace) -> str | None:
    """How the user of a command adds a plugin (``{name}``), where a missing requirement
    is reported: a flag, a scenario file, a cluster file; ``None``: as in Python."""
    if args.command == "sim" and getattr(args, "scenario", None):
        return 'add "{name}" to use = [...] under [cluster] in the scenario file'
    if args.command in ("sim", "conform", "explore"):
        return "add one with --use {name}"
    if args.command == "node":
        return "add {name} = {{}} under [plugins] in the cluster file"
    return None


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code: int = args._run(args)
    except NetweaveError as exc:
        text = str(exc)
        add = _add_plugin(args)
        if isinstance(exc, MissingRequirementError) and add is not None:
            text = exc.phrased(add)
        print(f"netweave {args.command}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``netweave check --json | head``): not an error of ours.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code
