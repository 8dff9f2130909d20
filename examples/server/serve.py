"""Start the example Runs API server.

    python examples/server/serve.py --host 127.0.0.1 --port 8000 --db sqlite:///runs.db
    python examples/server/serve.py --db postgresql://user@localhost/runs --auto

The database URL is ``sqlite:///FILE`` (relative path; ``sqlite:////abs/path`` for an
absolute one) or ``postgresql://...`` (psycopg 3). Several processes may share one
PostgreSQL database, on one machine or many. ``--port 0`` picks a free port; the server
prints ``listening on http://HOST:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from app import Settings, create_app
from store import Store

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
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper())
    store = Store(args.db)
    store.create_schema()
    store.close()
    settings = Settings(
        default_model=args.default_model,
        expires_in=args.expires_in,
        poll_after_ms=args.poll_after_ms,
        auto=args.auto,
        auto_delay=args.auto_delay,
        profile=args.profile,
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
        timeout_keep_alive=args.keep_alive,
    )
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        print(f"listening on http://{host}:{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
