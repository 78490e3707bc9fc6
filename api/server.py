"""`fenliu serve`: the service under gunicorn, never Flask's development server.

Workers are forked before the app is built (no preload): each compiles its own policies and runs
its own watcher thread, since neither rule-engine state nor threads survive a fork. The master
only supervises; SIGHUP to it is passed on to every worker as "reload the policies now", where
gunicorn would otherwise replace the workers.

SIGTERM to the master drains: the listening socket closes at once, so new connections
are refused rather than left waiting in a backlog nobody accepts; requests in flight finish (up to
`graceful_timeout`), kept-alive connections are answered with `Connection: close`; then workers exit.

Without FENLIU_ADMIN_TOKEN the service listens on loopback only, unless told otherwise
(`--allow-open-admin`): admin operations are then open to loopback clients only (`api.admin`).
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import tempfile
from dataclasses import replace
from pathlib import Path

import click
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from .admin import is_loopback
from .settings import Settings

METRICS_SUBDIR = "metrics"


class _ReloadingArbiter(Arbiter):
    def handle_hup(self) -> None:
        self.log.info("SIGHUP: every worker reloads its policies")
        self.kill_workers(signal.SIGHUP)


class DrainingWorker(ThreadWorker):
    """gunicorn's threaded worker, closing its listening sockets the moment it stops accepting."""

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            # The master has closed its copies already; once every worker has, connecting is refused.
            for listener in self.sockets:
                listener.close()


class FenliuServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, object]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Newer gunicorn settings are skipped on older releases that do not know them.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app(self.settings)

    def run(self) -> None:
        _ReloadingArbiter(self).run()


def _post_worker_init(worker) -> None:
    worker.wsgi.extensions["fenliu"].watcher.listen_for_sighup()


def _child_exit(server, worker) -> None:
    from .metrics import mark_worker_dead

    mark_worker_dead(worker.pid)


def _is_loopback_host(host: str) -> bool:
    """Whether every address `host` names is a loopback one (an unresolvable name is not)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host or "0.0.0.0", None)}
    except OSError:
        return False
    return bool(addresses) and all(is_loopback(str(address)) for address in addresses)


def _prepare_runtime_dir(settings: Settings) -> tuple[Settings, Path, bool]:
    """The directory workers share (metrics files, reload requests); a fresh temporary one by default."""
    owned = settings.runtime_dir is None
    runtime = Path(tempfile.mkdtemp(prefix="fenliu-")) if settings.runtime_dir is None else settings.runtime_dir
    metrics_dir = runtime / METRICS_SUBDIR
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return replace(settings, runtime_dir=runtime), runtime, owned


def _ensure_free(host: str, port: int) -> None:
    """Say which flag to change before gunicorn retries a taken address and gives up in its own words."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise click.UsageError(f"cannot listen on {host}:{port}: {error.strerror}; check --host") from None
            raise click.UsageError(f"{host}:{port} is already in use (another `fenliu serve`?): stop it, or "
                                   "choose another port with --port or FENLIU_PORT") from None


@click.command()
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), envvar="FENLIU_RULES_DIR",
              default="rules", show_default=True, help="Directory of policy files, watched for changes.")
@click.option("--host", envvar="FENLIU_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="FENLIU_PORT", type=int, default=8080, show_default=True)
@click.option("--workers", envvar="FENLIU_WORKERS", type=click.IntRange(1), default=2, show_default=True,
              help="Worker processes; one per core.")
@click.option("--threads", envvar="FENLIU_THREADS", type=click.IntRange(1), default=4, show_default=True,
              help="Threads per worker: they overlap network waits; decisions themselves run one at a time per process.")
@click.option("--allow-open-admin", envvar="FENLIU_ALLOW_OPEN_ADMIN", is_flag=True, default=False,
              help="Listen beyond loopback without FENLIU_ADMIN_TOKEN (admin calls stay loopback-only).")
def serve(rules_dir: Path, host: str, port: int, workers: int, threads: int, allow_open_admin: bool) -> None:
    """Serve the policies of a rules directory over HTTP (gunicorn)."""
    if not rules_dir.is_dir():
        raise click.BadParameter(f"{rules_dir} is not a directory", param_hint="--rules")
    settings = Settings.from_env(rules_dir=rules_dir, allow_open_admin=allow_open_admin or None)
    if not settings.admin_token and not settings.allow_open_admin and not _is_loopback_host(host):
        raise click.UsageError(
            f"refusing to listen on {host} without FENLIU_ADMIN_TOKEN: anyone reaching the port could reload policies. "
            "Set FENLIU_ADMIN_TOKEN, listen on 127.0.0.1, or pass --allow-open-admin (FENLIU_ALLOW_OPEN_ADMIN=1) "
            "to keep admin operations to loopback clients only.")
    _ensure_free(host, port)
    settings, runtime, owned = _prepare_runtime_dir(settings)

    def on_exit(server) -> None:
        if owned:
            shutil.rmtree(runtime, ignore_errors=True)

    FenliuServer(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": DrainingWorker,
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "post_worker_init": _post_worker_init,
        "child_exit": _child_exit,
        "on_exit": on_exit,
        # Several servers may run on one machine (tests, benchmarks): no shared control socket.
        "control_socket_disable": True,
    }).run()
