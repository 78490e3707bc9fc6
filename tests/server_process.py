"""Starts `fenliu serve` for real (gunicorn, several workers) on a free loopback port, for tests,
and edits its rules directory the way operators and deploy tools do."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

FENLIU = Path(sys.executable).parent / "fenliu"
START_SECONDS = 30
RULES = Path(__file__).resolve().parent.parent / "rules"
SHIPPED_VERSION = "2026.11.1"


def copy_of_shipped_rules(parent: Path) -> Path:
    directory = parent / "rules"
    directory.mkdir()
    for name in ("kuaishou", "taobao", "douyin"):
        shutil.copy(RULES / f"{name}.yaml", directory)
    return directory


def kuaishou_text(version: str) -> str:
    """The shipped Kuaishou policy under another version, to tell reloads apart."""
    text = (RULES / "kuaishou.yaml").read_text(encoding="utf-8")
    return text.replace(f'version: "{SHIPPED_VERSION}"', f'version: "{version}"')


def write_kuaishou(rules_dir: Path, text: str) -> None:
    """As editors and deploy tools do: write aside, then rename over (atomic)."""
    temporary = rules_dir / ".kuaishou.yaml.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(rules_dir / "kuaishou.yaml")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningServer:
    def __init__(self, rules_dir: Path, log_path: Path | str, *, workers: int = 2, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        """`log_path` receives the server's output; `/dev/full` makes every log write fail."""
        self.rules_dir = rules_dir
        self.log_path = Path(log_path)
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [str(FENLIU), "serve", "--rules", str(rules_dir), "--port", str(self.port), "--workers", str(workers), *args]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **(env or {})}, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Until every worker has answered ready: one that is still booting has loaded nothing yet."""
        deadline = time.monotonic() + START_SECONDS
        ready: set[str] = set()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                response = requests.get(self.url("/readyz"), timeout=1)
                if response.status_code == 200:
                    ready.add(response.headers["X-Fenliu-Worker"])
                    if len(ready) == self.workers:
                        return
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready within {START_SECONDS} s:\n{self.log()}")

    def url(self, path: str) -> str:
        return self.base + path

    def log_lines(self) -> list[str]:
        return self.log().splitlines()

    def log(self) -> str:
        if not self.log_path.is_file():
            return "(log not kept)"
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> set[int]:
        children = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    children.add(int(entry.name))
        return children

    def signal_master(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
