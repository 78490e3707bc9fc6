"""Where the time goes when a target is missed: pyinstrument profiles summarised per function.

Workloads, one per target: `Policy.evaluate` on 50-agent route requests; the service's Flask app
answering the same requests through Flask's test client (the worker's share of an HTTP request,
without gunicorn's socket handling), one per call and in batches of 100; and `load_policy` of a
200-rule policy.
Each summary lists functions by self time (time in the function's own code) and by inclusive
time (with everything it calls), as shares of the profiled total.
"""
from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from pyinstrument import Profiler

from fenliu.engine import load_policy

from .script import arguments, write_results
from .policy_gen import write_policy
from .requests_gen import generate
from .where import where

ROOT = Path(__file__).resolve().parent.parent
TOP = 20


@dataclass(frozen=True)
class HotSpot:
    where: str
    seconds: float
    share: float


def _where(frame) -> str:
    return where(frame.file_path or "", frame.function)


def summarise(root) -> dict:
    total = root.time
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)

    def walk(frame, stack: frozenset) -> None:
        key = _where(frame)
        # pyinstrument files a function's own time under synthetic `[self]` children: fold them back.
        callees = [child for child in frame.children if not child.is_synthetic]
        own[key] += frame.time - sum(child.time for child in callees)
        if key not in stack:  # recursion must not count a function's time twice
            inclusive[key] += frame.time
        for child in callees:
            walk(child, stack | {key})

    walk(root, frozenset())

    def top(table: dict[str, float]) -> list[dict]:
        ranked = sorted(((where, seconds) for where, seconds in table.items() if not where.startswith("bench/")),
                        key=lambda item: item[1], reverse=True)[:TOP]
        return [asdict(HotSpot(where, seconds, seconds / total)) for where, seconds in ranked]

    return {"seconds": total, "self": top(own), "inclusive": top(inclusive),
            "inclusive_share": {where: seconds / total for where, seconds in inclusive.items()}}


def profile(work: Callable[[], None]) -> dict:
    profiler = Profiler(interval=0.0002)
    profiler.start()
    work()
    return summarise(profiler.stop().root_frame())


def evaluate_workload() -> Callable[[], None]:
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    requests = generate(50, 400, seed=5).requests

    def work() -> None:
        for _ in range(3):
            for request in requests:
                policy.evaluate(request)

    return work


def http_workload(batch: int | None = None) -> Callable[[], None]:
    """The service's app on 50-agent requests, one per call or `batch` per call."""
    from fenliu.api.app import create_app
    from fenliu.api.settings import Settings

    app = create_app(Settings(rules_dir=ROOT / "rules"), watch=False)
    client = app.test_client()
    requests = generate(50, 400, seed=5).requests
    bodies = requests if batch is None else [{"requests": requests[start:start + batch]}
                                             for start in range(0, len(requests), batch)]
    # Encoded up front, so the profile holds the server's work and not the test client's.
    encoded = [json.dumps(body).encode() for body in bodies]

    def work() -> None:
        for _ in range(2):
            for body in encoded:
                response = client.post("/v1/policies/kuaishou/evaluate", data=body, content_type="application/json")
                assert response.status_code == 200, response.get_data(as_text=True)

    return work


def reload_workload(directory: Path) -> Callable[[], None]:
    path = write_policy(directory, 200)

    def work() -> None:
        for _ in range(5):
            load_policy(path).close()

    return work


def main() -> None:
    args = arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix="fenliu-bench-") as directory:
        results = {
            "evaluate_50_agents": profile(evaluate_workload()),
            "http_app_50_agents": profile(http_workload()),
            "http_app_batch_100": profile(http_workload(batch=100)),
            "reload_200_rules": profile(reload_workload(Path(directory))),
        }
    write_results(args.out, results)
    for name, summary in results.items():
        print(f"{name}: {summary['seconds']:.2f} s profiled")
        for spot in summary["self"][:6]:
            print(f"  self {spot['share']:6.1%}  {spot['where']}")


if __name__ == "__main__":
    main()
