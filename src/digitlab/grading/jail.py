"""Run a command as an unprivileged user in its own PID, mount, network and IPC namespaces.

The grader (root, on Linux) starts ``unshare --pid --fork --kill-child --mount --net --ipc --uts``
with this file as the namespace's first process. It builds a new root on a tmpfs holding only what
a submission needs, read-only (``/usr``, ``/etc``, the Python installation and the ``digitlab``
package folder) plus the workspace folders it is given, a fresh ``/proc`` of the new PID namespace,
a private ``/tmp`` and a ``/dev`` with five character devices made there. The workspace's writable
folders are copies on size-limited tmpfs mounts: nothing written inside reaches the host's disk. It then ``chroot``s there and
``exec``s ``setpriv`` (uid and gid 65534, no groups, no capabilities, no new privileges) and
``prlimit`` (memory, processes, file size, CPU seconds, open files) in front of the command.
When that command (PID 1 of the namespace) ends, the kernel ends every process it left. The
loopback interface stays down: nothing inside can reach a TCP port of the grader.

Only the standard library is used, at module level too: the grader runs this file as a script
(``python -I -S jail.py PLAN``) before any ``digitlab`` import is possible inside.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

NOBODY = 65534
TOOLS = ("unshare", "setpriv", "prlimit", "mount")
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
DEVICES = {"null": 3, "zero": 5, "full": 7, "random": 8, "urandom": 9}  # minor numbers (major 1)
WRITABLE = 2**30  # bytes a jail may write in each writable folder (a tmpfs), beyond what it holds
PACKAGE = "/opt/digitlab"  # the digitlab package folder is mounted at PACKAGE/digitlab
LIMITS = {  # prlimit names: bytes of address space, processes of the user, bytes per file, open files
    "as": 8 * 2**30,
    "nproc": 1024,
    "fsize": 512 * 2**20,
    "nofile": 1024,
    "core": 0,
}
_checked: list[str] = []


def unavailable() -> str:
    """Why namespace isolation cannot run here ("" when it can); probed once per process."""
    if _checked:
        return _checked[0]
    why = ""
    if not sys.platform.startswith("linux"):
        why = f"it needs Linux, and this is {sys.platform}"
    elif os.geteuid() != 0:
        why = "it needs the grader to run as root (it creates namespaces and switches to uid 65534)"
    elif missing := [t for t in TOOLS if not shutil.which(t)]:
        why = f"util-linux's {', '.join(missing)} is not on PATH"
    else:
        try:
            probe = subprocess.run(
                _unshare() + ["true"], capture_output=True, text=True, timeout=30, env={"PATH": _path()}
            )
            if probe.returncode != 0:
                why = f"unshare failed: {(probe.stderr.strip().splitlines() or ['no message'])[-1][:200]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            why = f"unshare did not run ({type(e).__name__})"
    _checked.append(why)
    return why


def _unshare() -> list[str]:
    return ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "--uts", "--"]


def _path() -> str:
    return os.environ.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin"


def package_dir() -> str:
    """The folder of the ``digitlab`` package the grader imports (mounted read-only inside)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command(binds: list[tuple], argv: list[str], cwd: str, cpu_seconds: int, memory: int = 0) -> list[str]:
    """The command line that runs ``argv`` jailed; ``binds`` holds ``(host, inside, writable)`` folders.

    A read-only folder is bind-mounted; a writable one is copied onto a tmpfs of bounded size, so
    nothing the jail writes there comes back: results leave through the command's stdout.
    """
    python = os.path.realpath(sys.executable)
    plan = {
        "binds": binds,
        "read_only": sorted({sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(python))}),
        "package": package_dir(),
        "cwd": cwd,
        "argv": argv,
        "limits": {**LIMITS, "cpu": int(cpu_seconds), **({"as": int(memory)} if memory else {})},
        "writable": WRITABLE,
    }
    return _unshare() + [python, "-I", "-S", os.path.abspath(__file__), json.dumps(plan)]


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _bind(source: str, target: str, read_only: bool) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount("--bind", source, target)
    flags = "remount,bind,nosuid,nodev" + (",ro" if read_only else "")
    _mount("-o", flags, target)


def _copy_in(source: str, target: str, room: int) -> None:
    """Mount a tmpfs at ``target`` (``room`` bytes more than ``source`` holds) and copy ``source`` in.

    Owners and modes are kept, so read-only data stays read-only for the jail's user.
    """
    size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(source) for f in files)
    os.makedirs(target, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size + room},nosuid,nodev", "work", target)
    for folder, dirs, files in os.walk(source):
        inside = os.path.join(target, os.path.relpath(folder, source))
        for name in dirs:
            os.mkdir(os.path.join(inside, name))
        for name in files:
            shutil.copyfile(os.path.join(folder, name), os.path.join(inside, name), follow_symlinks=False)
        for name in [".", *dirs, *files]:
            info = os.lstat(os.path.join(folder, name))
            os.lchown(os.path.join(inside, name), info.st_uid, info.st_gid)
            os.chmod(os.path.join(inside, name), stat.S_IMODE(info.st_mode))


def _build_root(plan: dict, root: str) -> None:
    _mount("-t", "tmpfs", "-o", "mode=755,size=64m", "jail", root)
    for path in SYSTEM:
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            _bind(path, root + path, True)
    for path in plan["read_only"]:
        if not os.path.isdir(root + path) or not os.listdir(root + path):  # not already under /usr
            _bind(path, root + path, True)
    _bind(plan["package"], root + PACKAGE + "/digitlab", True)
    for host, inside, writable in plan["binds"]:
        if writable:  # a copy on a tmpfs of bounded size: nothing written inside reaches the host's disk
            _copy_in(host, root + inside, plan["writable"])
        else:
            _bind(host, root + inside, True)
    os.makedirs(root + "/dev", exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755,size=1m,nosuid", "dev", root + "/dev")
    for name, minor in DEVICES.items():  # made here, so the host's /dev is never touched
        os.mknod(root + "/dev/" + name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        os.chmod(root + "/dev/" + name, 0o666)
    for folder, size in (("/dev/shm", "256m"), ("/tmp", "256m")):
        os.makedirs(root + folder, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"mode=1777,size={size},nosuid,nodev", "tmp", root + folder)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", root + "/proc")
    _mount("-o", "remount,ro", root)  # the new root itself: read-only


def main() -> None:
    """The namespace's first process: build the root, chroot, drop to uid 65534, exec the command."""
    plan = json.loads(sys.argv[1])
    root = "/run/digitlab-jail" if os.path.isdir("/run") else "/mnt"
    os.makedirs(root, exist_ok=True)
    _build_root(plan, root)
    os.chroot(root)
    os.chdir(plan["cwd"])
    limits = [f"--{name}={value}" for name, value in plan["limits"].items()]
    drop = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs"]
    drop += ["--inh-caps=-all", "--bounding-set=-all"]
    argv = ["setpriv", *drop, "--", "prlimit", *limits, "--", *plan["argv"]]
    os.execvpe(argv[0], argv, dict(os.environ))


if __name__ == "__main__":
    main()
