"""A throwaway PostgreSQL for the example server: one command, and it prints the ``--db`` URL.

    db=$(python examples/server/throwaway_pg.py)          # start one; prints its URL
    python examples/server/serve.py --db "$db" --auto --port 8000 &
    python examples/server/serve.py --db "$db" --auto --port 8001 &
    python examples/server/throwaway_pg.py stop DIR       # stop it and delete DIR

``start`` makes a cluster (``initdb``, trust authentication, user ``postgres``) in a new
temporary directory, or in ``--dir DIR`` (empty or new), and starts it on a free port of
127.0.0.1 (``--port`` to choose; its Unix socket is in that directory, it listens on no
other address). It prints ``postgresql://postgres@127.0.0.1:PORT/postgres`` on stdout
and, on stderr, the directory and the command that stops it. It is for tests and trying
things: ``fsync`` is off, so a crash of the machine may lose its data.

Run as root, it runs PostgreSQL's programs as the ``postgres`` user (``runuser``), since
they refuse to run as root; as any other user, as that user. The binaries are the newest
of ``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu) or the ``initdb`` on ``PATH``
(``apt-get install postgresql``, ``brew install postgresql``...).

``down DIR`` stops it and keeps its data, ``up DIR`` starts it again on the same port:
a database restart, to see what the server does meanwhile (the tests do this).
Exit status 0, or 2 with one line on stderr saying what failed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

STATE = "throwaway.json"


class Failed(Exception):
    """A step failed; the message says which and why."""


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise Failed("no PostgreSQL binaries (initdb): install PostgreSQL's server package")
    return Path(initdb).resolve().parent


def _version(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL's programs refuse root: run them as ``postgres`` then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def run(cmd: list[str], what: str) -> None:
    done = subprocess.run(as_owner(cmd), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise Failed(f"{what} failed: {lines[-1] if lines else f'status {done.returncode}'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_ctl_start(folder: Path, state: dict[str, object]) -> None:
    options = (
        f"-h 127.0.0.1 -p {state['port']} -k {folder} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(Path(str(state["bin"])) / "pg_ctl")
    data, log = str(folder / "data"), str(folder / "log")
    run([pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"], "pg_ctl start")


def pg_ctl_stop(folder: Path, state: dict[str, object]) -> None:
    pg_ctl = str(Path(str(state["bin"])) / "pg_ctl")
    run([pg_ctl, "-D", str(folder / "data"), "-m", "fast", "-w", "stop"], "pg_ctl stop")


def running(folder: Path, state: dict[str, object]) -> bool:
    pg_ctl = str(Path(str(state["bin"])) / "pg_ctl")
    status = as_owner([pg_ctl, "-D", str(folder / "data"), "status"])
    return subprocess.run(status, capture_output=True, timeout=60, check=False).returncode == 0


def url(state: dict[str, object]) -> str:
    return f"postgresql://postgres@127.0.0.1:{state['port']}/postgres"


def start(port: int | None, where: str | None = None) -> tuple[Path, str]:
    """A new cluster, started: (its directory, its URL). ``where`` is an empty (or new)
    directory for it; by default a new temporary one."""
    bindir = binaries()
    if where is None:
        folder = Path(tempfile.mkdtemp(prefix="runstate-pg-"))
    else:
        folder = Path(where).resolve()
        if folder.exists() and any(folder.iterdir()):
            raise Failed(f"{folder} is not empty")
        folder.mkdir(parents=True, exist_ok=True)
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        initdb = [str(bindir / "initdb"), "-D", str(folder / "data"), "-A", "trust"]
        run([*initdb, "-U", "postgres", "--no-sync", "-E", "UTF8"], "initdb")
        state: dict[str, object] = {"bin": str(bindir), "port": port or free_port()}
        (folder / STATE).write_text(json.dumps(state))
        pg_ctl_start(folder, state)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, url(state)


def load(folder: str) -> tuple[Path, dict[str, object]]:
    path = Path(folder)
    try:
        return path, json.loads((path / STATE).read_text())
    except (OSError, ValueError):
        raise Failed(f"{folder} is not a directory made by this script") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    begin = commands.add_parser("start", help="start a new cluster (the default)")
    begin.add_argument("--port", type=int, help="its port (default: a free one)")
    begin.add_argument("--dir", help="an empty directory for it (default: a new one in TMPDIR)")
    for name, what in (
        ("stop", "stop it and delete its directory"),
        ("down", "stop it, keep its data"),
        ("up", "start it again, on the same port"),
    ):
        commands.add_parser(name, help=what).add_argument("dir")
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "start"):
            folder, db = start(getattr(args, "port", None), getattr(args, "dir", None))
            print(db, flush=True)
            me = f"python {sys.argv[0]}" if sys.argv[0].endswith(".py") else "throwaway_pg.py"
            print(f"PostgreSQL in {folder}; stop it with: {me} stop {folder}", file=sys.stderr)
            return 0
        folder, state = load(args.dir)
        if args.command == "up":
            pg_ctl_start(folder, state)
            print(url(state), flush=True)
        elif args.command == "down":
            pg_ctl_stop(folder, state)
        else:
            try:
                pg_ctl_stop(folder, state)
            except Failed:
                if running(folder, state):
                    raise
            shutil.rmtree(folder, ignore_errors=True)
    except (Failed, OSError, subprocess.TimeoutExpired) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
