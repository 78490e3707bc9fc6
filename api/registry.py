"""The policies a worker serves, kept in step with the rules directory.

The directory is the source of truth. `refresh()` reads it, compiles what changed and swaps each
policy in at once: a request holds a lease on the version it started with, so it never sees half
a reload, and a replaced version is closed (its rule-engine memory freed) only once the last
request using it has finished. A file that fails to load never replaces the last good version.

Every load, reload, rejection and unload is one JSON line (`fenliu.registry`), and the first
refresh lists what the worker serves.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeAlias

from fenliu.engine import Policy, PolicyError
from fenliu.engine.errors import FenliuError, Issue, file_issue
from fenliu.engine.files import POLICY_SUFFIX, is_policy_file
from fenliu.engine.loader import parse_policy
from fenliu.engine.yaml_source import YamlLimits

from .jsonlog import emit, json_logger, now_iso

log = json_logger("fenliu.registry")

# The bytes of a policy file as read at one moment, or why they could not be read.
Snapshot: TypeAlias = bytes | PolicyError

@dataclass(eq=False)
class Loaded:
    """One compiled version of a policy, with the requests currently using it."""

    policy: Policy
    source: str
    loaded_at: str
    _users: int = 0
    _retired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def try_acquire(self) -> bool:
        """Count one more user, unless a reload has already retired this version."""
        with self._lock:
            if self._retired:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            close = self._retired and self._users == 0
        if close:
            self.policy.close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            close = self._users == 0
        if close:
            self.policy.close()


class Lease:
    """The version of one policy serving when the `with` block starts (None if none), held until it
    ends: released then, and closed if a reload retired it meanwhile. A class, not a generator
    context manager: a quarter of the cost, on every decision served."""

    __slots__ = ("_entries", "_name", "_loaded")

    def __init__(self, entries: Callable[[], dict[str, Entry]], name: str) -> None:
        self._entries, self._name = entries, name
        self._loaded: Loaded | None = None

    def __enter__(self) -> Loaded | None:
        while True:
            entry = self._entries().get(self._name)
            loaded = entry.loaded if entry else None
            # A reload may retire this version between the lookup and the acquire: look again.
            if loaded is None or loaded.try_acquire():
                self._loaded = loaded
                return loaded

    def __exit__(self, *exc: object) -> None:
        if self._loaded is not None:
            self._loaded.release()
            self._loaded = None


@dataclass(frozen=True)
class Entry:
    """What is known of one policy file: the version serving, and the last failure if any."""

    name: str
    source: str
    loaded: Loaded | None = None
    issues: tuple[Issue, ...] = ()
    failed_sha256: str | None = None

    @property
    def status(self) -> str:
        if self.loaded is None:
            return "failed"
        return "stale" if self.issues else "active"

    @property
    def errors(self) -> list[dict[str, str | int | None]]:
        """The last failure's issues as JSON, as logged and listed in `/v1/policies`."""
        return [issue.as_dict() for issue in self.issues]


@dataclass
class RefreshReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    newly_failed: list[str] = field(default_factory=list)
    # Seconds spent reading and compiling each policy that was loaded or refused.
    durations: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"loaded": self.loaded, "unchanged": self.unchanged, "unloaded": self.unloaded, "rejected": self.rejected}


class RulesDirectoryError(FenliuError):
    """The rules directory could not be listed; everything loaded keeps serving."""


class PolicyRegistry:
    def __init__(self, rules_dir: Path, limits: YamlLimits = YamlLimits()) -> None:
        self.rules_dir = Path(rules_dir)
        self.limits = limits
        self._entries: dict[str, Entry] = {}
        self._refresh_lock = threading.Lock()
        self.refreshed_once = False
        self.directory_error: str | None = None
        self.on_change: list[Callable[[RefreshReport, list[Entry]], None]] = []

    def entries(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda entry: entry.name)

    def entry(self, name: str) -> Entry | None:
        return self._entries.get(name)

    def ready(self) -> bool:
        """Serving once the first refresh is done and some policy is loaded. A file that never
        loaded is reported, not a reason to take the worker's good policies out of service."""
        return self.refreshed_once and any(entry.loaded is not None for entry in self._entries.values())

    def lease(self, name: str) -> Lease:
        """`with registry.lease(name) as loaded`: the version of `name` serving as the block starts
        (None if none), kept alive (not closed) until it ends."""
        return Lease(lambda: self._entries, name)

    def read(self, name: str) -> Snapshot:
        """The bytes of policy `name` now: a watcher takes them the moment a file changes, so a
        version replaced again a moment later is still loaded in its turn."""
        try:
            return self._read(self.rules_dir / f"{name}{POLICY_SUFFIX}")
        except PolicyError as error:
            return error

    def refresh(self, snapshots: Mapping[str, Snapshot] | None = None) -> RefreshReport:
        """Bring every policy in step with the directory, taking the bytes in `snapshots` for the
        policies they name instead of reading them again; safe to call from any thread."""
        with self._refresh_lock:
            report = RefreshReport()
            try:
                files = self._policy_files()
            except RulesDirectoryError as error:
                self.directory_error = str(error)
                emit(log, logging.ERROR, "rules_directory_unreadable", file=str(self.rules_dir), errors=[str(error)],
                     serving=[entry.name for entry in self.entries() if entry.loaded])
                report.rejected.append({"file": str(self.rules_dir), "errors": [{"line": None, "column": None, "message": str(error)}]})
                return report
            self.directory_error = None
            entries = dict(self._entries)
            for name in sorted(set(entries) - set(files)):
                removed = entries.pop(name)
                emit(log, logging.INFO, "unload", policy=name, file=removed.source, reason="file removed")
                report.unloaded.append(name)
            for name, path in sorted(files.items()):
                refreshed = self._refresh_one(name, path, entries.get(name), report, (snapshots or {}).get(name))
                if refreshed is not None:
                    entries[name] = refreshed
            retired = [old.loaded for old in self._entries.values()
                       if old.loaded is not None and all(new.loaded is not old.loaded for new in entries.values())]
            self._entries = entries
            if not self.refreshed_once:
                self._log_serving()
            self.refreshed_once = True
            for loaded in retired:
                loaded.retire()
            for listener in self.on_change:
                listener(report, self.entries())
            return report

    def _log_serving(self) -> None:
        emit(log, logging.INFO, "serving", rules_dir=str(self.rules_dir),
             policies=[{"policy": entry.name, "version": entry.loaded.policy.version, "sha256": entry.loaded.policy.sha256}
                       for entry in self.entries() if entry.loaded],
             failed=[entry.name for entry in self.entries() if entry.loaded is None])

    def _policy_files(self) -> dict[str, Path]:
        try:
            names = sorted(os.listdir(self.rules_dir))
        except OSError as error:
            raise RulesDirectoryError(f"{self.rules_dir}: {error.strerror or error}") from None
        return {name[: -len(POLICY_SUFFIX)]: self.rules_dir / name for name in names
                if is_policy_file(name)}

    def _refresh_one(self, name: str, path: Path, entry: Entry | None, report: RefreshReport,
                     snapshot: Snapshot | None) -> Entry | None:
        """The entry after this look at the file; None leaves it as it was."""
        started = time.perf_counter()
        data = snapshot if snapshot is not None else self.read(name)
        if isinstance(data, PolicyError) and not os.path.lexists(path):
            # Removed, or its directory moved away, since the listing: not a broken file. The next
            # look (the removal's own event, or the poll) decides.
            return None
        entry = entry or Entry(name, str(path))
        if isinstance(data, PolicyError):
            return self._reject(entry, data, None, report, started)
        sha256 = hashlib.sha256(data).hexdigest()
        if entry.loaded is not None and entry.loaded.policy.sha256 == sha256:
            report.unchanged.append(name)
            return replace(entry, issues=(), failed_sha256=None)
        if entry.failed_sha256 == sha256:
            report.rejected.append({"file": str(path), "errors": entry.errors})
            return entry
        try:
            document, warnings = parse_policy(data, str(path), self.limits, served_as=name)
            policy = Policy(document, warnings)
        except PolicyError as error:
            return self._reject(entry, error, sha256, report, started)
        except Exception:
            # A fault of the loader itself must cost this file only, not the whole reload.
            emit(log, logging.ERROR, "load_failed", policy=name, file=str(path), trace=traceback.format_exc())
            fault = PolicyError([_issue(path, "could not be loaded: internal error, see the service log")])
            return self._reject(entry, fault, sha256, report, started)
        loaded = Loaded(policy, str(path), now_iso())
        report.loaded.append(name)
        duration = report.durations[name] = time.perf_counter() - started
        emit(log, logging.INFO, "reload" if entry.loaded else "load", policy=name, version=policy.version,
             sha256=policy.sha256, file=str(path), errors=[], duration_ms=round(duration * 1000, 3),
             replaced=entry.loaded.policy.version if entry.loaded else None)
        return Entry(name, str(path), loaded)

    def _read(self, path: Path) -> bytes:
        """The file's bytes, refusing what resolves outside the directory or is too large to be a policy."""
        root = self.rules_dir.resolve()
        try:
            real = path.resolve(strict=True)
            if root != real.parent and root not in real.parents:
                raise PolicyError([_issue(path, f"resolves to {real}, outside the rules directory {root}")])
            if not real.is_file():
                raise PolicyError([_issue(path, "is not a regular file")])
            with open(real, "rb") as handle:
                data = handle.read(self.limits.max_bytes + 1)
        except OSError as error:
            raise PolicyError([_issue(path, f"cannot read: {error.strerror or error}")]) from None
        if len(data) > self.limits.max_bytes:
            raise PolicyError([_issue(path, f"is larger than the {self.limits.max_bytes}-byte limit for a policy file")])
        return data

    def _reject(self, entry: Entry, error: PolicyError, sha256: str | None, report: RefreshReport,
                started: float) -> Entry:
        issues = tuple(error.issues)
        report.rejected.append({"file": entry.source, "errors": error.errors})
        if issues != entry.issues:
            report.newly_failed.append(entry.name)
            duration = report.durations[entry.name] = time.perf_counter() - started
            # One line per new failure, not per poll: the same broken file is not logged again.
            emit(log, logging.ERROR, "reject", policy=entry.name, sha256=sha256, file=entry.source, errors=error.errors,
                 duration_ms=round(duration * 1000, 3),
                 serving=entry.loaded.policy.version if entry.loaded else None)
        return replace(entry, issues=issues, failed_sha256=sha256)

    def close(self) -> None:
        with self._refresh_lock:
            for entry in self._entries.values():
                if entry.loaded is not None:
                    entry.loaded.retire()
            self._entries = {}


def _issue(path: Path, message: str) -> Issue:
    return file_issue(str(path), 1, 1, message)
