"""Keeps one worker's registry in step with the rules directory, and with its sibling workers.

Each gunicorn worker is its own process with its own compiled policies, so each one watches the
directory itself. Filesystem events (inotify through watchdog) come first: the moment a policy
file is renamed into place or closed after writing, its bytes are read and queued, so a version
that is replaced again a moment later is still loaded in its turn and "the last good file
written" is the one that serves. Every other change in the directory (a deletion, a Kubernetes
ConfigMap `..data` symlink swap) queues a full refresh. Polling stays as the fallback: a full
refresh every `poll_seconds` catches what events cannot show (a file system without inotify, a
directory that was replaced, an exhausted inotify limit).

A reload forced in one worker (`POST /v1/reload`) is passed to the others through a small file in
the shared runtime directory, which every watcher checks several times a second; SIGHUP to the
master reaches each worker as a signal that wakes its watcher.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import TypeAlias

from watchdog.events import (EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_MODIFIED, EVENT_TYPE_OPENED, FileClosedEvent,
                             FileMovedEvent, FileSystemEvent, FileSystemEventHandler)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from fenliu.engine.files import POLICY_SUFFIX, is_policy_file

from .jsonlog import emit, json_logger
from .registry import PolicyRegistry, Snapshot

log = json_logger("fenliu.watcher")

RELOAD_REQUEST_FILE = "reload-request"
SIGNAL_CHECK_SECONDS = 0.1
# Queued work: the bytes of one policy as read when its file changed, or None for a full refresh.
Change: TypeAlias = tuple[str, Snapshot] | None


class Watcher:
    def __init__(self, registry: PolicyRegistry, poll_seconds: float, runtime_dir: Path | None, *,
                 events: bool = True) -> None:
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.events_wanted = events
        self.request_file = runtime_dir / RELOAD_REQUEST_FILE if runtime_dir else None
        self.events_enabled = False
        self._wake = threading.Event()
        self._changes: queue.Queue[Change] = queue.Queue()
        self._last_request = self._read_request()
        self._observer: BaseObserver | None = None
        self._watched_inode: int | None = None

    def start(self) -> None:
        self._watch_events()
        # A daemon: it lives as long as its worker process, which gunicorn stops.
        threading.Thread(target=self._run, name="fenliu-watcher", daemon=True).start()

    def wake(self) -> None:
        """Reload at once (used by the SIGHUP handler: only sets a flag, as signal handlers must)."""
        self._wake.set()

    def listen_for_sighup(self) -> None:
        signal.signal(signal.SIGHUP, lambda signum, frame: self.wake())

    def tell_siblings(self) -> None:
        """Ask every other worker sharing the runtime directory to reload now."""
        if self.request_file is None:
            return
        token = uuid.uuid4().hex
        self._last_request = token
        temporary = self.request_file.with_name(f".{RELOAD_REQUEST_FILE}.{token}")
        temporary.write_text(token, encoding="ascii")
        os.replace(temporary, self.request_file)

    def on_event(self, event: FileSystemEvent) -> None:
        """Called by the observer thread: read a changed policy now, before it can change again."""
        if event.event_type in _NO_CHANGE:
            # Reading a file is an event too: reacting to it would make every refresh cause the next.
            return
        path = event.dest_path if isinstance(event, FileMovedEvent) else event.src_path
        name = os.path.basename(os.fsdecode(path))
        if not event.is_directory and is_policy_file(name) and isinstance(event, (FileMovedEvent, FileClosedEvent)):
            policy = name[: -len(POLICY_SUFFIX)]
            self._changes.put((policy, self.registry.read(policy)))
        elif is_policy_file(name) or name.startswith(".."):
            # Deletions, creations and ConfigMap swaps: the directory itself is read again.
            self._changes.put(None)

    def _watch_events(self) -> None:
        """(Re)start the observer on the directory as it is now; polling covers any failure."""
        if not self.events_wanted:
            return
        try:
            inode = os.stat(self.registry.rules_dir).st_ino
        except OSError:
            return
        if self._observer is not None and inode == self._watched_inode and self._observer.is_alive():
            return
        if self._observer is not None:
            self._observer.stop()
        try:
            observer = Observer()
            observer.schedule(_Forward(self), str(self.registry.rules_dir), recursive=False)
            observer.daemon = True
            observer.start()
        except Exception as error:
            # No inotify (a file system without it, the watch limit reached): polling alone.
            self._observer, self.events_enabled = None, False
            emit(log, logging.WARNING, "watch_events_unavailable", rules_dir=str(self.registry.rules_dir),
                 errors=[str(error)], poll_seconds=self.poll_seconds)
            return
        self._observer, self._watched_inode, self.events_enabled = observer, inode, True

    def _read_request(self) -> str | None:
        if self.request_file is None:
            return None
        try:
            return self.request_file.read_text(encoding="ascii")
        except OSError:
            return None

    def _next_changes(self) -> list[Change]:
        changes: list[Change] = []
        try:
            changes.append(self._changes.get(timeout=SIGNAL_CHECK_SECONDS))
            while True:
                changes.append(self._changes.get_nowait())
        except queue.Empty:
            pass
        return changes

    def _run(self) -> None:
        next_poll = time.monotonic() + self.poll_seconds
        while True:
            changes = self._next_changes()
            request = self._read_request()
            if self._wake.is_set() or request != self._last_request or time.monotonic() >= next_poll:
                self._wake.clear()
                self._last_request = request
                next_poll = time.monotonic() + self.poll_seconds
                self._watch_events()
                changes.append(None)
            for change in _without_repeats(changes):
                try:
                    self.registry.refresh({change[0]: change[1]} if change else None)
                except Exception:
                    # The watcher must outlive any surprise: the next change or poll tries again.
                    emit(log, logging.ERROR, "reload_failed", errors=["unexpected failure; the loaded policies keep serving"],
                         trace=traceback.format_exc())


def _without_repeats(changes: list[Change]) -> list[Change]:
    """The same change twice in a row (one rename seen as two events) is applied once."""
    kept: list[Change] = []
    for change in changes:
        if not kept or kept[-1] != change:
            kept.append(change)
    return kept


# Opening or reading changes nothing; a write in place is followed by its close, which is read.
_NO_CHANGE = frozenset({EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_MODIFIED})


class _Forward(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher.on_event(event)
