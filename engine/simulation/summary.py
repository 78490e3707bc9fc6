"""The terminal summary of a simulation result: headline KPIs, one column per policy, changes
from the baseline (the first policy) marked better or worse."""
from __future__ import annotations

from typing import Any

import click

from .kpis import TARGET


def format_value(path: str, value: Any) -> str:
    if value is None:
        return "–"
    if path.endswith(("shop", "share")):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def format_delta(path: str, delta: float) -> str:
    if path.endswith(("shop", "share")):
        return f"{delta * 100:+.1f} pt"
    return f"{delta:+,.1f}" if isinstance(delta, float) and not delta.is_integer() else f"{int(delta):+,}"


def verdict(better: str | None, delta: float | None) -> str | None:
    """"better", "worse" or None (no change, or a KPI where more is neither good nor bad)."""
    if not delta or better is None:
        return None
    return "better" if (delta > 0) == (better == "higher") else "worse"


def render_summary(result: dict[str, Any], *, color: bool = False) -> str:
    runs = result["runs"]
    trace, roster = result["trace"], result["roster"]
    lines = [f"{trace['conversations']:,} conversations from {trace['first_arrival']} to {trace['last_arrival']}, "
             f"{roster['agents']} agents, seed {result['parameters']['seed']}", ""]
    width = max(12, *(len(run["label"]) + 2 for run in runs))
    lines.append(f"{'':42}" + "".join(f"{run['label']:>{width}}{'':12}" for run in runs).rstrip())
    for row in result["differences"]:
        cells = []
        for index, value in enumerate(row["values"]):
            text = f"{format_value(row['kpi'], value):>{width}}"
            delta = row["deltas"][index]
            mark = ""
            if index and delta:
                mark = f" {format_delta(row['kpi'], delta)}"
                judged = verdict(row["better"], delta)
                if color and judged:
                    mark = click.style(mark, fg="green" if judged == "better" else "red")
            elif index and value != row["values"][0]:
                mark = f" (was {format_value(row['kpi'], row['values'][0])})"
            cells.append(text + mark + " " * max(0, 12 - len(click.unstyle(mark))))
        lines.append(f"{row['title']:42}" + "".join(cells).rstrip())
    lines.append("")
    for run in runs:
        hours = [hour["label"] for hour in run["kpis"]["reply_rate"]["by_hour"]
                 if hour["reply_rate"] is not None and hour["reply_rate"] < TARGET]
        lines.append(f"{run['label']}: hours below {TARGET:.0%}: {', '.join(hours) or 'none'}")
    return "\n".join(lines) + "\n"
