"""The ``digitlab`` command: ``digitlab fetch`` and the other tools of the book.

Each subcommand is a small function ``cmd_<name>(args) -> int`` registered in ``build_parser``;
the heavy imports happen inside the function, so ``digitlab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (if needed) and verify MNIST, then print what was checked."""
    from digitlab import data

    try:
        data.fetch(verbose=True)
    except data.DataError as e:
        print(f"digitlab fetch: {e}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="digitlab", description="Tools of the Digit Lab book.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fetch", help="download and verify MNIST into the cache")
    p.set_defaults(func=cmd_fetch)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitlab`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)
