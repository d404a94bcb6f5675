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
    from digitlab import predict

    return predict.main(args.images, args.model, args.backend, as_json=args.json)


def cmd_edition(args: argparse.Namespace) -> int:
    """Write the student edition or the answer key, and prove the student edition leaks nothing."""
    from digitlab import editions

    try:
        out = editions.write_edition(args.command, args.book, args.out)
        problems = editions.check_student_edition(args.book, out) if args.command == "student" else []
    except (FileNotFoundError, ValueError) as e:
        print(f"digitlab {args.command}: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"digitlab {args.command}: {problem}", file=sys.stderr)
    for path in editions.chapters(args.book) if args.command == "student" else []:
        for line in editions.authoring_problems(editions.read(path)):
            print(f"digitlab student: warning: {path.name}: a solution line is also in the chapter, {line}",
                  file=sys.stderr)
    counts = ", ".join(f"{row['chapter']}: {row['count']}" for row in editions.inventory(args.book))
    print(f"wrote {out} (exercises per chapter: {counts})")
    return 1 if problems else 0


def cmd_grade(args: argparse.Namespace) -> int:
    """Run each submitted notebook in a fresh kernel and write the CSV report and its summary."""
    from pathlib import Path

    from digitlab import grade

    try:
        runs = grade.grade(args.submissions, args.out, summary=args.summary,
                           cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                           progress=lambda line: print(line, flush=True))
    except (FileNotFoundError, ValueError) as e:
        print(f"digitlab grade: {e}", file=sys.stderr)
        return 2
    summary = args.summary or str(Path(args.out).with_suffix(".md"))
    print(f"graded {len(runs)} submission(s): wrote {args.out} and {summary}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Train (or load from the zoo) every model of the book and write one results file."""
    from digitlab import bench, zoo

    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    unknown = sorted(set(names or ()) - set(zoo.names()))
    if unknown:
        print(f"digitlab bench: unknown model(s) {unknown}; the zoo knows {zoo.names()}", file=sys.stderr)
        return 2
    bench.run(out=args.out, names=names)
    return 0


def cmd_exec_cache(args: argparse.Namespace) -> int:
    """Send back to execution the chapters whose code, package modules, zoo models or environment changed."""
    from digitlab import buildcache

    return buildcache.run(args)


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

    for name, what in (("student", "the student edition (solutions replaced by starter code)"),
                       ("answers", "the answer key (solutions shown, plus ANSWERS.md)")):
        p = sub.add_parser(name, help=f"write {what}")
        p.add_argument("--book", default="book", help="folder of the chapter notebooks (default: book)")
        p.add_argument("--out", default=f"_build/{name}", help=f"output folder (default: _build/{name})")
        p.set_defaults(func=cmd_edition)

    p = sub.add_parser("grade", help="run submitted notebooks and report each exercise's check")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="notebooks, or folders searched for *.ipynb")
    p.add_argument("--out", required=True, help="the CSV report to write (one row per student and exercise)")
    p.add_argument("--summary", help="the Markdown summary to write (default: OUT with .md)")
    p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default: 120)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default: 600)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("bench", help="train or load every model of the book and write a results file")
    p.add_argument("--out", default=None, help="JSON results file to write (default: print only)")
    p.add_argument("--models", default=None, help="comma-separated zoo names (default: every model)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("exec-cache", help="before a build: re-execute exactly the chapters whose inputs changed")
    from digitlab.buildcache import add_arguments  # light: ast, json, hashlib

    add_arguments(p)
    p.set_defaults(func=cmd_exec_cache)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitlab`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)
