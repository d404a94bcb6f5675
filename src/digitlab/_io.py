"""Writing files and folders so that a crash never leaves half of one behind.

Every writer of the package goes through here: the content is written to a temporary name beside the
target, then renamed over it (a rename is atomic on one file system). Temporary files are created
with the process umask, like any ordinary file, so no permissions need repairing afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _create(tmp: Path) -> IO[bytes]:
    """Open a new file for writing (fails if it exists), honouring the umask."""
    return open(tmp, "xb")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with _create(tmp) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: str | os.PathLike, value: Any, **options: Any) -> Path:
    """Write ``value`` as indented JSON to ``path`` atomically (``options`` go to ``json.dumps``)."""
    return write_text(path, json.dumps(value, **{"indent": 2, **options}) + "\n")


@contextmanager
def new_folder(out: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside ``out``; when the block ends, it replaces ``out`` whole.

    The folder gets ordinary permissions (``mkdtemp`` makes it private); if the block raises, it is
    removed and ``out`` is left as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_folder(new: Path, out: Path) -> None:
    """Replace folder ``out`` by ``new`` (renames only, so ``out`` is never half written)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
