"""Keeps one worker's registry in step with the rules directory, and with its sibling workers.

Each gunicorn worker is its own process with its own compiled policies, so each one watches the
directory itself (polling: it sees edits, atomic renames and ConfigMap symlink swaps alike, on any
file system). A reload forced in one worker (`POST /v1/reload`) is passed to the others through
a small file in the shared runtime directory, which every watcher checks several times a second;
SIGHUP to the master reaches each worker as a signal that wakes its watcher.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from pathlib import Path

from .registry import PolicyRegistry

log = logging.getLogger("fenliu.watcher")

RELOAD_REQUEST_FILE = "reload-request"
SIGNAL_CHECK_SECONDS = 0.1


class Watcher:
    def __init__(self, registry: PolicyRegistry, poll_seconds: float, runtime_dir: Path | None) -> None:
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.request_file = runtime_dir / RELOAD_REQUEST_FILE if runtime_dir else None
        self._wake = threading.Event()
        self._last_request = self._read_request()

    def start(self) -> None:
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

    def _read_request(self) -> str | None:
        if self.request_file is None:
            return None
        try:
            return self.request_file.read_text(encoding="ascii")
        except OSError:
            return None

    def _run(self) -> None:
        waited = 0.0
        while True:
            woken = self._wake.wait(SIGNAL_CHECK_SECONDS)
            waited += SIGNAL_CHECK_SECONDS
            request = self._read_request()
            asked = request != self._last_request
            if not (woken or asked or waited >= self.poll_seconds):
                continue
            self._wake.clear()
            self._last_request = request
            waited = 0.0
            try:
                self.registry.refresh()
            except Exception:
                # The watcher must outlive any surprise: the next poll tries again.
                log.exception("reload failed; the loaded policies keep serving")
