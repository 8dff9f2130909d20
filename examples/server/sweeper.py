"""The loop under every background worker: a thread that sweeps, and says when it fails.

The scripted workers (``app.AutoWorker`` for runs, ``responses_app.worker`` for
responses) and the model workers (``model_worker.ModelWorker``'s dispatcher and watcher,
``model_responses.ResponseWorker``) are each a :class:`Sweeper` with their own sweep: what
to claim, how to move it on, how to end a lapsed one is theirs; the thread, the pause, the
wake-up and the failure log are this module's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from store import Unavailable

log = logging.getLogger("runstate.server")

__all__ = ["Sweeper"]


class Sweeper:
    """A background thread calling ``work`` every ``pause`` seconds, or at once when woken.

    A failing sweep is logged once (the first; the first sweep that works again says so);
    a database outage (:class:`store.Unavailable`) is not logged here, as the store logs it
    and its end once each. With ``back_off``, the pause doubles while the sweeps fail, up
    to ``MAX_PAUSE`` seconds, and comes back to ``pause`` with the first that works.
    ``name`` names the thread (its spaces as dashes) and the log lines.

    Example:
        >>> sweeps = []
        >>> sweeper = Sweeper(lambda: sweeps.append(1), 60.0, name="example")
        >>> sweeper.sweep(), len(sweeps)
        (True, 1)
    """

    #: The longest pause between two failing sweeps (with ``back_off``), in seconds.
    MAX_PAUSE = 2.0

    def __init__(
        self, work: Callable[[], object], pause: float, *, name: str, back_off: bool = True
    ) -> None:
        self.work = work
        self.pause = pause
        self.name = name
        self.back_off = back_off
        self.failing = False
        self.stopping = threading.Event()
        self.woken = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=name.replace(" ", "-"), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def wake(self) -> None:
        """Sweep now rather than after the pause."""
        self.woken.set()

    def halt(self) -> None:
        """Ask the thread to end (after the sweep in hand, if any): no sweep starts after."""
        self.stopping.set()
        self.woken.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Halt, and wait up to ``timeout`` seconds for the thread to end."""
        self.halt()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _loop(self) -> None:
        pause = self.pause
        while True:
            self.woken.wait(pause)
            self.woken.clear()
            if self.stopping.is_set():
                return
            if self.sweep():
                pause = self.pause
            elif self.back_off:
                pause = min(max(pause, 0.05) * 2, max(self.MAX_PAUSE, self.pause))

    def sweep(self) -> bool:
        """One sweep (:attr:`work`); False when it failed."""
        try:
            self.work()
        except Unavailable:
            # The store logs the outage and its end, once each: the sweeper says nothing
            # (a "sweeps again" here would repeat the store's "available again").
            return False
        except Exception:
            if not self.failing:
                log.exception("%s sweep failed (logged once, until one works)", self.name)
            self.failing = True
            return False
        if self.failing:
            log.warning("%s sweeps again", self.name)
            self.failing = False
        return True
