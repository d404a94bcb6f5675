"""The ``digitlab`` command: ``digitlab fetch`` and the other tools of the book.

Each subcommand is a small function ``cmd_<name>(args) -> int`` registered in ``build_parser``;
the heavy imports happen inside the function, so ``digitlab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


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
    """Preprocess each image like MNIST, classify it and print the digit and its confidence.

    The model loads without native log noise (TensorFlow's C++ chatter goes nowhere); the exit
    status is 0 when every picture was classified, 1 when one could not be read, 2 when no model.
    """
    from digitlab import predict

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_logs_silenced() as err:
        try:
            chosen = predict.load_backend(args.model, args.backend, log=err)
        except (KeyError, ValueError) as e:
            print(f"digitlab predict: {e.args[0] if e.args else e}", file=err)
            return 2
        return predict.run(args.images, chosen, as_json=args.json)


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[TextIO]:
    """Send what C++ libraries (TensorFlow, CUDA probes) write to file descriptor 2 to /dev/null.

    Yields a text stream to the real standard error, for the messages that should still be seen.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        with os.fdopen(os.dup(saved), "w", buffering=1) as real_stderr:
            yield real_stderr
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
            print(
                f"digitlab student: warning: {path.name}: a solution line is also in the chapter, {line}",
                file=sys.stderr,
            )
    counts = ", ".join(f"{row['chapter']}: {row['count']}" for row in editions.inventory(args.book))
    print(f"wrote {out} (exercises per chapter: {counts})")
    return 1 if problems else 0


def cmd_colab(args: argparse.Namespace) -> int:
    """Write the Colab edition from the sources and the executed build."""
    from digitlab import colab
    from digitlab.buildcache import read_config

    repository = (read_config(args.config).get("repository") or {}).get("url", colab.REPOSITORY)
    try:
        out = colab.write_colab(args.book, args.build, args.out, repository)
    except (FileNotFoundError, ValueError) as e:
        print(f"digitlab colab: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {out} ({len(list(out.glob('*.ipynb')))} notebooks from {args.build}); "
        f"Colab opens them from the {colab.BRANCH!r} branch"
    )
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade a class for marks (``--source`` and ``--roster``), or run notebooks for feedback."""
    from pathlib import Path

    from digitlab import grade
    from digitlab.grading.report import printable

    progress = lambda line: print(printable(line), flush=True)  # noqa: E731
    try:
        if args.source or args.roster:
            if not (args.source and args.roster):
                raise ValueError("marks need both --source (the chapter) and --roster (the class list)")
            if args.submissions:
                raise ValueError(
                    "with --roster the roster names the submissions; drop the SUBMISSION arguments"
                )
            merge = [i.strip() for i in args.merge.split(",") if i.strip()] if args.merge else None
            runs = grade.grade_class(
                args.source,
                args.roster,
                args.out,
                hidden=args.hidden,
                points=args.points,
                manual=args.manual,
                gradebook=args.gradebook,
                fmt=args.format,
                assignment=args.assignment or "",
                merge=merge,
                workers=args.workers,
                isolate="process" if args.unprotected and not args.isolate else args.isolate or "namespace",
                unprotected=args.unprotected,
                image=args.image,
                seed=args.seed,
                cell_timeout=args.cell_timeout,
                notebook_timeout=args.timeout,
                call_timeout=args.call_timeout,
                on_progress=progress,
            )
            written = [args.out, str(Path(args.out).with_suffix(".md"))] + (
                [args.gradebook] if args.gradebook else []
            )
        else:
            if not args.submissions:
                raise ValueError(
                    "give SUBMISSION notebooks or folders (feedback), or --source and --roster (marks)"
                )
            if args.isolate not in (None, "process") or args.unprotected:
                raise ValueError("--isolate and --unprotected are for marks (--source and --roster)")
            runs = grade.grade(
                args.submissions,
                args.out,
                summary=args.summary,
                cell_timeout=args.cell_timeout,
                notebook_timeout=args.timeout,
                workers=args.workers,
                on_progress=progress,
            )
            written = [args.out, args.summary or str(Path(args.out).with_suffix(".md"))]
    except (FileNotFoundError, ValueError) as e:
        print(f"digitlab grade: {printable(e)}", file=sys.stderr)
        return 2
    print(f"graded {len(runs)} submission(s): wrote {' and '.join(written)}")
    if args.unprotected:
        print("WARNING: these marks are UNPROTECTED (--unprotected: student code ran as you)")
    return 0


def cmd_gradebook(args: argparse.Namespace) -> int:
    """Write the gradebook from a class file and the manual column, without running anything."""
    from digitlab.grading import classroom

    try:
        totals = classroom.write_gradebook(
            args.roster,
            args.results,
            points=args.points,
            manual=args.manual,
            gradebook=args.out,
            fmt=args.format,
            assignment=args.assignment,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"digitlab gradebook: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(totals)} student(s) for {args.assignment!r} ({args.format})")
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


def cmd_speedrun(args: argparse.Namespace) -> int:
    """Run the "Training fast" ladder and print its table; the last line is the time to 99%."""
    from digitlab import speedrun

    return speedrun.main(seed=args.seed)


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
    p.add_argument(
        "--model",
        default=None,
        help="zoo model to use (default: torch_strong, the model chapter 8 measures)",
    )
    p.add_argument(
        "--backend",
        choices=["auto", "onnx", "torch", "keras"],
        default="auto",
        help="auto: the model's ONNX export (chapter 7) if there is one, else the network itself; "
        "keras alone means keras_cnn",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_predict)

    for name, what in (
        ("student", "the student edition (solutions replaced by starter code)"),
        ("answers", "the answer key (solutions shown, plus ANSWERS.md)"),
    ):
        p = sub.add_parser(name, help=f"write {what}")
        p.add_argument("--book", default="book", help="folder of the chapter notebooks (default: book)")
        p.add_argument("--out", default=f"_build/{name}", help=f"output folder (default: _build/{name})")
        p.set_defaults(func=cmd_edition)

    p = sub.add_parser("colab", help="write the Colab edition (needs the executed build of the book)")
    p.add_argument("--book", default="book", help="folder of the chapter notebooks (default: book)")
    p.add_argument(
        "--build",
        default="_build",
        help="the book's build folder (default: _build; the quick-mode one is _build/preview/_build)",
    )
    p.add_argument("--out", default="_build/colab", help="output folder (default: _build/colab)")
    p.add_argument("--config", default="_config.yml", help="the book's config, for its repository URL")
    p.set_defaults(func=cmd_colab)

    p = sub.add_parser("grade", help="grade a class for marks, or run notebooks for feedback")
    p.add_argument(
        "submissions",
        nargs="*",
        metavar="SUBMISSION",
        help="feedback mode: notebooks, or folders searched for *.ipynb",
    )
    p.add_argument("--out", required=True, help="the CSV to write (one row per student and exercise)")
    p.add_argument("--summary", help="feedback mode: the Markdown summary (default: OUT with .md)")
    p.add_argument(
        "--source", help="marks: the chapter notebook the class was given (its checks are restored)"
    )
    p.add_argument("--roster", help="marks: CSV with id,name,submission (paths relative to it)")
    p.add_argument("--hidden", help="marks: folder of hidden tests (the repository's grading/hidden)")
    p.add_argument("--points", help="marks: TOML file with [points] and [manual] tables")
    p.add_argument("--manual", help="marks: CSV of manual points (default: OUT-manual.csv, created empty)")
    p.add_argument("--gradebook", help="marks: the gradebook CSV to write for the LMS")
    p.add_argument("--format", choices=["canvas", "moodle"], default="canvas", help="gradebook columns")
    p.add_argument("--assignment", help="marks: the gradebook column's name (default: the chapter's name)")
    p.add_argument(
        "--merge",
        metavar="IDS",
        help="marks: re-grade these roster ids (comma-separated) and keep every other row of OUT",
    )
    p.add_argument(
        "--isolate",
        choices=["namespace", "container", "process"],
        help="marks: namespace (default: a jail, Linux as root), container, or process (needs --unprotected)",
    )
    p.add_argument("--unprotected", action="store_true", help="marks: grade unjailed; every output says so")
    p.add_argument("--image", default="digitlab-grader", help="container image with digitlab installed")
    p.add_argument("--workers", type=int, default=1, help="submissions run side by side (default: 1)")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden tests' inputs (default: fresh)")
    p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default: 120)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default: 600)")
    p.add_argument(
        "--call-timeout",
        type=int,
        default=60,
        help="marks: seconds for the hidden tests' calls of a student's function (default: 60)",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("gradebook", help="write the LMS gradebook from graded results and the manual column")
    p.add_argument("results", help="the class file that `digitlab grade --roster` wrote")
    p.add_argument("--roster", required=True, help="CSV with id,name,submission (and email, section, login)")
    p.add_argument("--points", help="TOML file with [points] and [manual] tables")
    p.add_argument("--manual", help="CSV of manual points (default: RESULTS-manual.csv)")
    p.add_argument("--out", required=True, help="the gradebook CSV to write")
    p.add_argument("--format", choices=["canvas", "moodle"], default="canvas", help="gradebook columns")
    p.add_argument("--assignment", required=True, help="the gradebook column's name, as in the LMS")
    p.set_defaults(func=cmd_gradebook)

    p = sub.add_parser("bench", help="train or load every model of the book and write a results file")
    p.add_argument("--out", default=None, help="JSON results file to write (default: print only)")
    p.add_argument("--models", default=None, help="comma-separated zoo names (default: every model)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "speedrun", help='train the "Training fast" ladder and print the seconds to 99%% validation accuracy'
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every rung (default: 0)")
    p.set_defaults(func=cmd_speedrun)

    p = sub.add_parser(
        "exec-cache", help="before a build: re-execute exactly the chapters whose inputs changed"
    )
    from digitlab.buildcache import add_arguments  # light: ast, json, hashlib

    add_arguments(p)
    p.set_defaults(func=cmd_exec_cache)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitlab`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)
