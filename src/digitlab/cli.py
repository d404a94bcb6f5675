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


def cmd_predict(args: argparse.Namespace) -> int:
    """Preprocess each image like MNIST, classify it and print the digit and its confidence."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    from digitlab import predict

    try:
        backend = predict.load_backend(args.model, args.backend)
    except (KeyError, ValueError) as e:
        print(f"digitlab predict: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    return predict.run(args.images, backend, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="digitlab", description="Tools of the Digit Lab book.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fetch", help="download and verify MNIST into the cache")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("predict", help="classify pictures of handwritten digits (chapter 8)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--model", default=None,
                   help="zoo model to use (default: chapter 7's ONNX export if there is one, else keras_cnn)")
    p.add_argument("--backend", choices=["auto", "onnx", "keras"], default="auto",
                   help="auto: chapter 7's ONNX export if there is one, else Keras")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_predict)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitlab`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)
