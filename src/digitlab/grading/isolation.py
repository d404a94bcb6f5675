"""Where a submission runs: a fresh folder, a fresh home and an allow-listed environment.

``Workspace`` makes, per submission, a temporary root holding ``home/`` (HOME, and IPython's and
Jupyter's folders with it), ``digitlab/`` (DIGITLAB_HOME: a private copy of the verified MNIST file
and of the quick-mode model zoo, read-only) and ``work/`` (the working directory, holding only the
notebook). Writes land in that root, which is deleted afterwards, so nothing reaches the shared cache
or the next submission. The environment carries only what ``ALLOWED`` names plus the grader's own
settings: none of the instructor's variables (tokens, paths) reach the kernel. For marks the
workspace is what a ``jail`` mounts (``jail_env``, ``give_away``); feedback runs use it as it is.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from digitlab import data, settings

ALLOWED = ("LANG", "LC_ALL", "TZ")
THREADS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)
ISOLATION = ("namespace", "container", "process")  # process: unprotected, only on request


class Workspace:
    """A per-submission root folder with ``home``, ``digitlab`` (read-only data) and ``work``."""

    def __init__(self, threads: int = 1):
        self.root = Path(tempfile.mkdtemp(prefix="digitlab-grade-"))
        self.home, self.digitlab, self.work, self.io = (
            self.root / n for n in ("home", "digitlab", "work", "io")
        )
        for folder in (self.home, self.digitlab, self.work, self.io, self.home / "tmp"):
            folder.mkdir()
        self.threads = threads
        _copy_read_only(settings.cache_dir(), self.digitlab)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The kernel's whole environment: allow-listed names and the grader's settings only."""
        env = {name: os.environ[name] for name in ALLOWED if name in os.environ}
        env.setdefault("LANG", "C.UTF-8")
        env.update(
            {
                "PATH": os.pathsep.join(
                    dict.fromkeys([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
                ),
                "HOME": str(self.home),
                "TMPDIR": str(self.home / "tmp"),
                settings.HOME: str(self.digitlab),
                settings.QUICK: "1",
                settings.STRICT: "1",
                "MPLBACKEND": "Agg",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONNOUSERSITE": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(dict.fromkeys(THREADS, str(self.threads)))
        env.update(extra or {})
        return env

    def jail_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """``env`` with the paths a ``jail`` sees: the workspace under /sandbox, the package in /opt."""
        from digitlab.grading import jail

        env = self.env(extra)
        env.update(
            {
                "HOME": "/sandbox/home",
                "TMPDIR": "/sandbox/home/tmp",
                settings.HOME: "/sandbox/digitlab",
                "PYTHONPATH": jail.PACKAGE,
                "PATH": os.pathsep.join(
                    dict.fromkeys([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
                ),
            }
        )
        return env

    def give_away(self, *folders: Path) -> None:
        """Hand ``home``, ``work``, ``io`` (and ``folders``) to the jail's user; data files stay read-only."""
        from digitlab.grading import jail

        for top in (self.home, self.work, self.io, self.digitlab, *folders):
            for path in [top, *top.rglob("*")]:
                if path.is_dir() or top != self.digitlab:
                    os.lchown(path, jail.NOBODY, jail.NOBODY)

    def close(self) -> None:
        """Delete the root and everything the submission wrote there."""
        for path in self.root.rglob("*"):  # read-only copies: make them deletable again
            if not path.is_symlink():
                try:
                    path.chmod(path.stat().st_mode | stat.S_IWUSR)
                except OSError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _copy_read_only(shared: Path, private: Path) -> None:
    """Copy the verified MNIST file and the quick-mode zoo into ``private``, read-only."""
    sources = [shared / data.CACHE_NAME, shared / "zoo" / "quick"]
    for source in sources:
        if not source.exists():
            continue
        target = private / source.relative_to(shared)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=False)
        else:
            shutil.copy2(source, target)
    for path in sorted(private.rglob("*"), reverse=True):
        path.chmod(
            0o755 if path.is_dir() else 0o444
        )  # folders stay writable: a chapter may cache a new model


def container_runtime() -> str:
    """The container command (podman, else docker) that answers, or ``ValueError`` saying why not."""
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path:
            try:
                done = subprocess.run([path, "info"], capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ValueError(f"isolate='container': {name} did not answer ({type(e).__name__})") from None
            if done.returncode != 0:
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
                raise ValueError(
                    f"isolate='container': {name} is installed but does not work: {last[0][:200]}"
                )
            return path
    raise ValueError(
        "isolate='container' needs podman or docker on PATH, and neither was found; "
        "install one, or use isolate='process' (see the instructors' guide for what it "
        "does not protect against)"
    )


def container_command(
    runtime: str, image: str, workspace: Workspace, notebook: str, cell_timeout: int
) -> list[str]:
    """The command that executes ``notebook`` (in the workspace's work folder) in a container."""
    return _container_run(runtime, image, workspace) + [
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--allow-errors",
        f"--ExecutePreprocessor.timeout={cell_timeout}",
        "--output",
        "executed.ipynb",
        notebook,
    ]


def container_sandbox(runtime: str, image: str, workspace: Workspace) -> list[str]:
    """The command that runs the function sandbox in a container (its request comes on stdin)."""
    return _container_run(runtime, image, workspace, interactive=True) + [
        "python",
        "-m",
        "digitlab.grading.sandbox",
    ]


def _container_run(runtime: str, image: str, workspace: Workspace, interactive: bool = False) -> list[str]:
    env = workspace.env()
    mounts = {workspace.work: "/submission", workspace.digitlab: "/digitlab", workspace.home: "/student-home"}
    env.update(HOME="/student-home", TMPDIR="/student-home/tmp", DIGITLAB_HOME="/digitlab")
    env.pop("PATH")
    command = [
        runtime,
        "run",
        "--rm",
        *(["-i"] if interactive else []),
        "--network",
        "none",
        "--memory",
        "4g",
        "--pids-limit",
        "512",
        "--workdir",
        "/submission",
    ]
    for host, inside in mounts.items():
        command += ["--volume", f"{host}:{inside}"]
    for name, value in sorted(env.items()):
        command += ["--env", f"{name}={value}"]
    return command + [image]
