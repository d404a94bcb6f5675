"""The grader's inputs read once, hashed and re-checked, the submissions confined, and the journal.

``Inputs`` reads every file grading depends on (source chapter, hidden tests, points, manual points,
roster, the rows ``--merge`` keeps) before any student code runs, and ``verify`` re-hashes them
before results are written: a file that changed meanwhile stops the run. ``submission_bytes``
accepts only a regular file inside the roster's folder, reached without a symlink. The ``Journal``
keeps each finished student's result, so a grader that was killed resumes without regrading.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import nbformat

from digitlab import _io, editions

SUBMISSION_BYTES = 100_000_000  # a submission larger than this is refused


class Inputs:
    """Files read once, by path, with the SHA-256 of what was read."""

    def __init__(self) -> None:
        self.digests: dict[Path, str] = {}

    def read(self, path: str | os.PathLike) -> bytes:
        """The bytes of ``path``, remembered with their hash (a missing file is remembered as missing)."""
        path = Path(path)
        data = path.read_bytes() if path.is_file() else b""
        self.digests[path] = _sha(data) if path.is_file() else "missing"
        return data

    def text(self, path: str | os.PathLike) -> str:
        """``read`` decoded as UTF-8 (a byte-order mark dropped)."""
        return self.read(path).decode("utf-8-sig")

    def folder(self, path: str | os.PathLike, pattern: str = "*.py") -> list[Path]:
        """The files of a folder matching ``pattern``; the listing itself is checked again too."""
        found = sorted(p for p in Path(path).glob(pattern) if p.is_file() and not p.is_symlink())
        self.digests[Path(path) / pattern] = _sha("\n".join(p.name for p in found).encode())
        return found

    def digest(self) -> str:
        """One hash of every input read so far."""
        return _sha(json.dumps(sorted((str(p), d) for p, d in self.digests.items())).encode())

    def verify(self) -> None:
        """``ValueError`` naming the first input that differs from what was read at the start."""
        for path, digest in self.digests.items():
            if path.name.startswith("*"):
                found = sorted(p for p in path.parent.glob(path.name) if p.is_file() and not p.is_symlink())
                now = _sha("\n".join(p.name for p in found).encode())
            else:
                now = _sha(path.read_bytes()) if path.is_file() else "missing"
            if now != digest:
                raise ValueError(
                    f"{str(path)!r} changed while the class was being graded; no results were written. "
                    "Find out what changed it, then grade again."
                )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_relative(text: str, line: int) -> None:
    """``ValueError`` unless a roster's submission path stays inside the roster's folder."""
    path = Path(text)
    if path.is_absolute() or text.startswith(("/", "\\")) or ".." in path.parts or ":" in text:
        raise ValueError(
            f"roster: line {line}'s submission {text!r} must be a path inside the roster's folder "
            "(no absolute path, no '..')"
        )


def submission_bytes(folder: Path, relative: Path) -> bytes | None:
    """The submission's bytes; None when no file is there; ``ValueError`` for anything not confined.

    Every component below the roster's folder is checked with ``lstat``: a symlink anywhere is refused,
    so a submission cannot be the answer key, a classmate's notebook or any other file.
    """
    path = folder
    for part in relative.parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(mode):
            raise ValueError(
                f"submission {str(relative)!r} is a symlink (or under one); only regular files count"
            )
    if not stat.S_ISREG(mode):
        raise ValueError(f"submission {str(relative)!r} is not a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"submission {str(relative)!r} is not a regular file")
        data = f.read(SUBMISSION_BYTES + 1)
    if len(data) > SUBMISSION_BYTES:
        raise ValueError(f"submission {str(relative)!r} is larger than {SUBMISSION_BYTES} bytes")
    return data


class Journal:
    """Per-student results of one grading run, in ``OUT-journal/``, for a resumed run to keep."""

    def __init__(self, out: Path, digest: str, seed: int | None):
        self.folder = out.with_name(out.stem + "-journal")
        self.seed, self.done = seed, {}
        head = self.folder / "run.json"
        try:
            old = json.loads(head.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("inputs") == digest and seed in (None, old.get("seed")):
            self.seed = old["seed"]
            for path in self.folder.glob("student-*.json"):
                try:
                    entry = json.loads(path.read_text(encoding="utf-8"))
                    self.done[entry["id"]] = entry
                except (OSError, ValueError, KeyError, TypeError):
                    continue
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.digest = digest

    def start(self, seed: int) -> None:
        """Record the run's inputs and seed (a resumed run must use the same seed)."""
        self.seed = seed
        self.folder.mkdir(parents=True, exist_ok=True)
        _io.write_text(self.folder / "run.json", json.dumps({"inputs": self.digest, "seed": seed}))

    def finished(self, sid: str, submission: str) -> dict | None:
        """The journalled result of ``sid`` if its submission is the same, else None."""
        entry = self.done.get(sid)
        return entry if entry and entry.get("submission") == submission else None

    def record(self, sid: str, submission: str, entry: dict) -> None:
        """Keep one student's result (atomically) as soon as it is known."""
        name = "student-" + _sha(sid.encode())[:20] + ".json"
        _io.write_text(self.folder / name, json.dumps({**entry, "id": sid, "submission": submission}))

    def close(self) -> None:
        """Delete the journal once every output is written."""
        shutil.rmtree(self.folder, ignore_errors=True)


def read_source(source, inputs: Inputs) -> nbformat.NotebookNode:
    """The source chapter, read once; ``ValueError`` for a missing file or a student edition."""
    if not Path(source).is_file():
        raise ValueError(f"source must be the chapter notebook the class was given, got {str(source)!r}")
    try:
        chapter = nbformat.reads(inputs.text(source), as_version=4)
    except Exception as e:  # not JSON, not a notebook
        raise ValueError(f"source: {str(source)!r} is not a notebook ({type(e).__name__})") from None
    edition = chapter.get("metadata", {}).get(editions.META_KEY, {}).get("edition")
    if edition == "student" or not any(editions.is_solution(c) for c in chapter.cells):
        raise ValueError(
            f"source: {str(source)!r} has no solution cells (it looks like the student edition); "
            "pass the chapter with its solutions, as in book/"
        )
    return chapter


def check_scheme(scheme, exercises: list[str], points) -> None:
    """``ValueError`` when the points file names an exercise the chapter does not have."""
    unknown = sorted(set(scheme.points) - set(exercises))
    if unknown:
        raise ValueError(
            f"points: {str(points)!r} names exercise(s) {unknown} that the chapter does not have; "
            f"its exercises are {exercises}"
        )


def submissions(students: list, folder: Path) -> dict[str, bytes | None]:
    """Every submission's bytes, read before any student code runs; clear errors for bad entries."""
    found, problems = {}, []
    for s in students:
        if not s.relative:
            found[s.id] = None
            continue
        try:
            found[s.id] = submission_bytes(folder, Path(s.relative))
        except ValueError as e:
            problems.append(f"{s.id}: {e}")
            continue
        if found[s.id] is None:
            problems.append(f"{s.id}: no file {s.relative!r} (leave the cell empty for no submission)")
    if problems:
        raise ValueError("roster: " + "; ".join(problems))
    return found
