"""Start the example Runs API server.

    python examples/server/serve.py --db sqlite:///runs.db --auto
    python examples/server/serve.py --db postgresql://user@localhost/runs --auto

The database URL is ``sqlite:///FILE`` (relative path; ``sqlite:////abs/path`` for an
absolute one) or ``postgresql://...`` (psycopg 3). Several processes may share one
PostgreSQL database, on one machine or many. ``--port 0`` picks a free port; the server
prints ``listening on http://HOST:PORT`` once it accepts connections.

``--auto`` runs the scripted worker, which moves runs on by itself; without it runs stay
``queued`` until the ``/advance`` hook moves them (a test that plays the worker), and the
server says so on stderr at startup.

``--model-backend URL`` executes runs on a model instead: any OpenAI-compatible Chat
Completions API (Ollama, vLLM, llama.cpp's server, LM Studio, a LiteLLM proxy, OpenAI)::

    python examples/server/serve.py --model-backend http://127.0.0.1:11434/v1 --model llama3.2

``--model-backend-key`` is sent as a bearer token, ``--model`` replaces the runs' model
names; ``RUNSTATE_MODEL_BACKEND``, ``RUNSTATE_MODEL_BACKEND_KEY`` and ``RUNSTATE_MODEL``
give the same from the environment (an option given wins). See ``model_worker.py``.

A database it cannot use (a missing directory, a bad URL, a server that does not answer)
ends it at once with one line on stderr and exit status 2.

SIGTERM or SIGINT shuts it down: it stops accepting connections, ends the open streams,
lets requests in progress finish (at most ``--shutdown-timeout`` seconds) and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from app import Settings, create_app
from store import StartupError, Store


def open_store(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Store:
    """The store on ``--db``, its schema made; or exit 2 with one line saying why not."""
    try:
        store = Store(args.db, pool_size=args.pool_size)
        store.dialect.check()
        store.create_schema()
        store.close()
    except StartupError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except Exception as exc:  # one line, not a traceback
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        parser.exit(2, f"{parser.prog}: error: cannot set up the database: {why}\n")
    return store


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model-backend`` and its companions (each also from the environment)."""
    model = parser.add_argument_group(
        "model backend (runs executed on a model; see model_worker.py)"
    )
    model.add_argument(
        "--model-backend",
        default=os.environ.get("RUNSTATE_MODEL_BACKEND"),
        metavar="URL",
        help="base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 "
        "(env RUNSTATE_MODEL_BACKEND)",
    )
    model.add_argument(
        "--model-backend-key",
        default=os.environ.get("RUNSTATE_MODEL_BACKEND_KEY"),
        metavar="KEY",
        help="sent as 'Authorization: Bearer KEY' (env RUNSTATE_MODEL_BACKEND_KEY)",
    )
    model.add_argument(
        "--model",
        default=os.environ.get("RUNSTATE_MODEL"),
        metavar="NAME",
        help="the model asked for, whatever the run names (env RUNSTATE_MODEL)",
    )
    model.add_argument(
        "--model-concurrency", type=int, default=4, help="runs executed at once (default 4)"
    )
    model.add_argument(
        "--model-lease",
        type=float,
        default=30.0,
        help="seconds a worker's claim on a run lasts unrenewed; a run whose worker died is "
        "failed after it (default 30)",
    )
    model.add_argument(
        "--model-timeout",
        type=float,
        default=120.0,
        help="seconds without a byte from the backend before the run fails (default 120)",
    )
    model.add_argument(
        "--model-no-stream",
        action="store_true",
        help="one non-streaming request per call (for backends without server-sent events)",
    )


def check_model_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 (with the reason) for model options that cannot work together."""
    if args.model_backend and args.auto:
        parser.error(
            "--auto (the scripted worker) and --model-backend (or RUNSTATE_MODEL_BACKEND) "
            "exclude each other"
        )
    if args.model_concurrency < 1 or args.model_lease <= 0 or args.model_timeout <= 0:
        parser.error("--model-concurrency, --model-lease and --model-timeout must be positive")
    if not args.model_backend:
        for given, option, env in (
            (args.model_backend_key, "--model-backend-key", "RUNSTATE_MODEL_BACKEND_KEY"),
            (args.model, "--model", "RUNSTATE_MODEL"),
        ):
            if given:
                parser.error(
                    f"{option} (or {env}) without --model-backend (or RUNSTATE_MODEL_BACKEND): "
                    "there is no model backend to use it with"
                )
        return
    why = backend_url_problem(args.model_backend)
    if why:
        parser.error(f"--model-backend {args.model_backend!r}: {why}")


def backend_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a model backend's base URL, or None.

    Example:
        >>> backend_url_problem("http://127.0.0.1:11434/v1") is None
        True
        >>> backend_url_problem("127.0.0.1:11434/v1")
        'give an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1'
    """
    from urllib.parse import urlsplit  # noqa: PLC0415

    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return "give an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1"
    if not parsed.hostname:
        return "the URL names no host"
    if parsed.path.rstrip("/").endswith("/chat/completions"):
        return "give the base URL (the part before /chat/completions, e.g. .../v1)"
    return None


def model_settings(args: argparse.Namespace) -> Any:
    """The model worker's settings from the options, or None without ``--model-backend``."""
    if not args.model_backend:
        return None
    from chat_backend import Backend  # noqa: PLC0415
    from model_worker import ModelSettings  # noqa: PLC0415

    backend = Backend(
        url=args.model_backend,
        key=args.model_backend_key or None,
        model=args.model or None,
        timeout=args.model_timeout,
        stream=not args.model_no_stream,
    )
    return ModelSettings(
        backend=backend, concurrency=args.model_concurrency, lease=args.model_lease
    )


#: Seconds an idle keep-alive connection stays open. uvicorn's default, 5 s, is httpx's
#: (so the openai SDK's) pool expiry too: the server could close a connection just as a
#: client sent its next request on it, and the client got "Connection reset by peer" for
#: a request never read. Longer than any client's pool keeps a connection (as nginx's 75 s),
#: the client always closes first.
KEEP_ALIVE = 75.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--db", default="sqlite:///runs.db", help="sqlite:///FILE or postgresql://..."
    )
    parser.add_argument("--auto", action="store_true", help="run the scripted background worker")
    parser.add_argument("--auto-delay", type=float, default=0.2, help="seconds per worker step")
    parser.add_argument("--expires-in", type=int, default=600, help="seconds until expires_at")
    parser.add_argument("--default-model", default="gpt-4o")
    parser.add_argument("--poll-after-ms", type=int, default=200)
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=KEEP_ALIVE,
        help="seconds an idle client connection stays open (above the clients' own 5 s)",
    )
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--profile", help="write cProfile stats of the handlers here at exit")
    parser.add_argument(
        "--max-streams",
        type=int,
        default=100,
        help="streams open at once; past it a streaming request gets a 503 (default 100)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=Settings.max_body_bytes,
        help="the largest request body read; past it, this server's own 413 (default 8 MiB)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=20,
        help="PostgreSQL: connections in the pool, at most (default 20)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=int,
        default=3,
        help="seconds requests in progress get to finish on SIGTERM/SIGINT (default 3)",
    )
    add_model_options(parser)
    args = parser.parse_args(argv)
    check_model_options(parser, args)

    logging.basicConfig(level=args.log_level.upper())
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        # The pool logs every failed reconnection; the store logs an outage once.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    store = open_store(parser, args)
    if not args.auto and not args.model_backend:
        print(
            f"{parser.prog}: no worker (--auto not given): runs stay queued until "
            "POST .../runs/{run_id}/advance moves them",
            file=sys.stderr,
            flush=True,
        )
    settings = Settings(
        default_model=args.default_model,
        expires_in=args.expires_in,
        poll_after_ms=args.poll_after_ms,
        auto=args.auto,
        auto_delay=args.auto_delay,
        profile=args.profile,
        max_streams=args.max_streams,
        max_body_bytes=args.max_body_bytes,
        model=model_settings(args),
    )
    app = create_app(store, settings)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY only on sockets that say so
    # (otherwise every response waits out a delayed ACK, about 40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]

    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=args.shutdown_timeout,
        timeout_keep_alive=args.keep_alive,
    )
    server = uvicorn.Server(config)
    original_startup = server.startup
    original_shutdown = server.shutdown

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        print(f"listening on http://{host}:{port}", flush=True)

    async def shutdown(sockets: list[socket.socket] | None = None) -> None:
        # End the open streams first: uvicorn waits for every response to finish.
        app.state.streams.drain()
        await original_shutdown(sockets=sockets)

    server.startup = startup  # type: ignore[method-assign]
    server.shutdown = shutdown  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the SIGINT again once it has shut down
        sys.exit(130)


if __name__ == "__main__":
    main()
