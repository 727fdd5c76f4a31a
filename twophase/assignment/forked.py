"""A step of assign run in a forked process, beside the steps that must stay in the one
process that writes the vault.

The propagation variants were the largest step of assign at scale and need only the
resolution and, at the end, the pseudonyms: a child forked after resolution collects them
while the parent chooses pseudonyms and seals rows, renders them once the parent sends
the pseudonyms, and hands them back packed. The child inherits what it needs by the fork;
it never opens, reads or writes the vault, and uses none of the vault's keys (a fork
copies them with the rest of the memory; they end with the child). Invariant: the bytes
are those `prepare` then `finish` give in the parent itself, which is what runs when fork
is unavailable or not worth it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from twophase.errors import TwophaseError

State = TypeVar("State")


class Forked(Generic[State]):
    """`finish(prepare(), message)`, the `prepare` half started at once in a child;
    `finish` returns byte strings (packed, so that nothing is pickled on the way back)."""

    def __init__(
        self,
        prepare: Callable[[], State],
        finish: Callable[[State, bytes], tuple[bytes, ...]],
        *,
        fork: bool,
    ) -> None:
        self._prepare = prepare
        self._finish = finish
        self._message: bytes | None = None
        self._sender: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        # A daemonic process (a pool worker calling assign) may have no children.
        if (
            fork
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
        ):
            context = multiprocessing.get_context("fork")
            parent, child = context.Pipe()
            process = context.Process(target=_child, args=(child, prepare, finish), daemon=True)
            try:
                process.start()
            except OSError:  # no memory or process left for a fork: the same, in here
                parent.close()
            else:
                self._process, self._conn = process, parent
            child.close()

    def send(self, message: bytes) -> None:
        """Give `finish` its input, packed (no pickling in the parent). Sent from a thread:
        the child reads it only once `prepare` is done, and the parent has other work
        meanwhile (writing to the pipe releases the GIL)."""
        if self._conn is None:
            self._message = message
            return
        self._sender = threading.Thread(target=_send, args=(self._conn, message), daemon=True)
        self._sender.start()

    def result(self) -> tuple[bytes, ...]:
        if self._conn is None:
            assert self._message is not None, "send() comes before result()"
            return self._finish(self._prepare(), self._message)
        assert self._sender is not None, "send() comes before result()"
        try:
            status, detail = self._conn.recv()
            if status != "ok":
                # The class name only: a message might quote a name of the batch.
                raise TwophaseError(
                    f"assign's forked worker failed ({detail}); the vault is written, the "
                    "plan is not: run assign again, and report the error if it repeats"
                )
            data = tuple(self._conn.recv_bytes() for _ in range(detail))
        except (EOFError, OSError):  # the pipe closed, or reset, with the child
            raise TwophaseError(
                "assign's forked worker died (out of memory?): the vault is written, the plan "
                "is not; run assign again"
            ) from None
        finally:
            self._sender.join()
        self.close()
        return data

    def close(self) -> None:
        """Ends the child, if any, whatever state it is in (idempotent)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _send(conn: Connection, message: bytes) -> None:
    # A child gone already is reported by result(), not by this thread's traceback.
    with contextlib.suppress(OSError):
        conn.send_bytes(message)


def _child(
    conn: Connection,
    prepare: Callable[[], object],
    finish: Callable[[object, bytes], tuple[bytes, ...]],
) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # close() ends it; no cleanup to run
    try:
        state = prepare()
        message = conn.recv_bytes()
        data = finish(state, message)
    except BaseException as exc:  # reported to the parent, which raises
        conn.send(("error", type(exc).__name__))
        return
    conn.send(("ok", len(data)))
    for blob in data:
        conn.send_bytes(blob)
