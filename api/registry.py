"""The policies a worker serves, kept in step with the rules directory.

The directory is the source of truth. `refresh()` reads it, compiles what changed and swaps each
policy in at once: a request holds a lease on the version it started with, so it never sees half
a reload, and a replaced version is closed (its rule-engine memory freed) only once the last
request using it has finished. A file that fails to load never replaces the last good version.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from fenliu.engine import Policy, PolicyError
from fenliu.engine.errors import PolicyIssue
from fenliu.engine.files import POLICY_SUFFIX, is_policy_file
from fenliu.engine.loader import parse_policy
from fenliu.engine.yaml_source import YamlLimits

log = logging.getLogger("fenliu.registry")



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


@dataclass(frozen=True)
class Entry:
    """What is known of one policy file: the version serving, and the last failure if any."""

    name: str
    source: str
    loaded: Loaded | None = None
    errors: tuple[dict, ...] = ()
    failed_sha256: str | None = None

    @property
    def status(self) -> str:
        if self.loaded is None:
            return "failed"
        return "stale" if self.errors else "active"


@dataclass
class RefreshReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    newly_failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"loaded": self.loaded, "unchanged": self.unchanged, "unloaded": self.unloaded, "rejected": self.rejected}


class RulesDirectoryError(Exception):
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
        return self.refreshed_once and all(entry.loaded is not None for entry in self._entries.values())

    @contextmanager
    def lease(self, name: str) -> Iterator[Loaded | None]:
        """The version of `name` serving now, kept alive (not closed) until the block ends."""
        while True:
            entry = self._entries.get(name)
            loaded = entry.loaded if entry else None
            if loaded is None:
                yield None
                return
            # A reload may retire this version between the lookup and the acquire: look again.
            if loaded.try_acquire():
                break
        try:
            yield loaded
        finally:
            loaded.release()

    def refresh(self) -> RefreshReport:
        """Bring every policy in step with the directory; safe to call from any thread."""
        with self._refresh_lock:
            report = RefreshReport()
            try:
                files = self._policy_files()
            except RulesDirectoryError as error:
                self.directory_error = str(error)
                log.error("rules directory unreadable, keeping what is loaded: %s", error)
                report.rejected.append({"file": str(self.rules_dir), "errors": [{"line": None, "column": None, "message": str(error)}]})
                return report
            self.directory_error = None
            entries = dict(self._entries)
            for name in sorted(set(entries) - set(files)):
                log.info("policy %s unloaded: %s was removed", name, entries.pop(name).source)
                report.unloaded.append(name)
            for name, path in sorted(files.items()):
                entries[name] = self._refresh_one(name, path, entries.get(name), report)
            retired = [old.loaded for old in self._entries.values()
                       if old.loaded is not None and all(new.loaded is not old.loaded for new in entries.values())]
            self._entries = entries
            self.refreshed_once = True
            for loaded in retired:
                loaded.retire()
            for listener in self.on_change:
                listener(report, self.entries())
            return report

    def _policy_files(self) -> dict[str, Path]:
        try:
            names = sorted(os.listdir(self.rules_dir))
        except OSError as error:
            raise RulesDirectoryError(f"{self.rules_dir}: {error.strerror or error}") from None
        return {name[: -len(POLICY_SUFFIX)]: self.rules_dir / name for name in names
                if is_policy_file(name)}

    def _refresh_one(self, name: str, path: Path, entry: Entry | None, report: RefreshReport) -> Entry:
        entry = entry or Entry(name, str(path))
        try:
            data = self._read(path)
        except PolicyError as error:
            return self._reject(entry, error, None, report)
        sha256 = hashlib.sha256(data).hexdigest()
        if entry.loaded is not None and entry.loaded.policy.sha256 == sha256:
            report.unchanged.append(name)
            return replace(entry, errors=(), failed_sha256=None)
        if entry.failed_sha256 == sha256:
            report.rejected.append({"file": str(path), "errors": list(entry.errors)})
            return entry
        try:
            document, warnings = parse_policy(data, str(path), self.limits, served_as=name)
            policy = Policy(document, warnings)
        except PolicyError as error:
            return self._reject(entry, error, sha256, report)
        except Exception:
            # A fault of the loader itself must cost this file only, not the whole reload.
            log.exception("policy %s: unexpected failure while loading", name)
            fault = PolicyError([_issue(path, "could not be loaded: internal error, see the service log")])
            return self._reject(entry, fault, sha256, report)
        loaded = Loaded(policy, str(path), datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
        report.loaded.append(name)
        log.info("policy %s loaded: version %s sha256 %s", name, policy.version, policy.sha256)
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

    def _reject(self, entry: Entry, error: PolicyError, sha256: str | None, report: RefreshReport) -> Entry:
        errors = tuple(error.errors)
        report.rejected.append({"file": entry.source, "errors": list(errors)})
        if errors != entry.errors:
            report.newly_failed.append(entry.name)
            serving = f"version {entry.loaded.policy.version} keeps serving" if entry.loaded else "nothing to serve"
            log.error("policy %s rejected (%s): %s", entry.name, serving, error)
        return replace(entry, errors=errors, failed_sha256=sha256)

    def close(self) -> None:
        with self._refresh_lock:
            for entry in self._entries.values():
                if entry.loaded is not None:
                    entry.loaded.retire()
            self._entries = {}


def _issue(path: Path, message: str) -> PolicyIssue:
    return PolicyIssue(str(path), 1, 1, message)
