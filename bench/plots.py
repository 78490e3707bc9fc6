"""The benchmark's figures, drawn from the results JSON into docs/bench-*.png."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: `make bench` runs without a display
import matplotlib.pyplot as plt  # noqa: E402

from .stages import STAGES  # noqa: E402

COLOURS = {"floor": "tab:green", "zen": "tab:orange", "fenliu": "tab:blue", "match": "tab:purple"}


def _errorbar(axes, xs: list[float], spreads: list[dict], label: str, colour: str) -> None:
    medians = [s["median"] for s in spreads]
    below = [s["median"] - s["q1"] for s in spreads]
    above = [s["q3"] - s["median"] for s in spreads]
    axes.errorbar(xs, medians, yerr=[below, above], marker="o", capsize=3, label=label, color=colour)


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def scaling_agents(results: dict, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    points = results["points"]
    xs = [p["agents"] for p in points]
    for name in ("fenliu", "zen", "floor"):
        slope = results["slope"][name]
        _errorbar(axes, xs, [p["median_us"][name] for p in points], f"{name} (slope {slope:.2f})", COLOURS[name])
    axes.set(xscale="log", yscale="log", xlabel="agents in the request", ylabel="µs per decision (median, IQR)",
             title="Route decision cost by number of agents (Kuaishou policy)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def scaling_rules(results: dict, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    points = results["points"]
    xs = [p["rules"] for p in points]
    _errorbar(axes, xs, [p["median_us"] for p in points], f"Policy.evaluate (slope {results['slope']['fenliu']:.2f})",
              COLOURS["fenliu"])
    _errorbar(axes, xs, [p["match_us"] for p in points],
              f"durable_rules match stage (slope {results['slope']['match']:.2f})", COLOURS["match"])
    axes.set(xscale="log", yscale="log", xlabel="route rules in the policy",
             ylabel="µs per decision (median, IQR)",
             title=f"Route decision cost by number of rules ({results['agents']} agents)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def stages(sizes: list[dict], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    labels = [f"{size['agents']} agents" for size in sizes]
    bottoms = [0.0] * len(sizes)
    for stage in STAGES:
        heights = [size["stage_median_us"][stage]["median"] for size in sizes]
        axes.bar(labels, heights, bottom=bottoms, label=stage)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    axes.set(ylabel="µs per decision (stage medians)",
             title="Where Policy.evaluate spends its time")
    axes.legend()
    return _save(figure, path)


def rss_curve(curve: list[list[float]], path: Path, *, xlabel: str, title: str) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot([point[0] for point in curve], [point[1] for point in curve], marker=".", color="tab:blue")
    top = max(point[1] for point in curve)
    axes.set(xlabel=xlabel, ylabel="RSS (MiB)", title=title, ylim=(0, top * 1.2))
    axes.grid(True, alpha=0.3)
    return _save(figure, path)
