"""A self-contained HTML report of a simulation result: no scripts, no external assets; the charts
are inline SVG drawn here. One column per policy; changes from the baseline are highlighted."""
from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from .kpis import HEALTHY, TARGET
from .summary import format_delta, format_value, verdict

COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 30

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:24px auto;max-width:1320px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#6b7280;margin:0 0 12px}table{border-collapse:collapse}th,td{padding:4px 10px;border-bottom:1px solid #f0f0f0}
th{text-align:left;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.better{background:#dcfce7}td.worse{background:#fee2e2}td.changed{background:#f3f4f6}
.delta{display:block;font-size:12px;color:#4b5563}.legend span{display:inline-block;margin-right:16px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{flex:1 1 600px}.note{color:#6b7280;font-size:13px;max-width:900px}
svg text{font:11px system-ui,sans-serif;fill:#4b5563}.heat{display:flex;flex-wrap:wrap;gap:24px}
"""


def render_html(result: dict[str, Any]) -> str:
    runs = result["runs"]
    trace, roster, parameters = result["trace"], result["roster"], result["parameters"]
    labels = [run["label"] for run in runs]
    end = day_end(result)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Fenliu simulation: {escape(' vs '.join(labels))}</title><style>{STYLE}</style></head><body>",
        f"<h1>Simulation: {escape(' vs '.join(labels))}</h1>",
        f"<p class=meta>{trace['conversations']:,} conversations from {escape(trace['first_arrival'])} to "
        f"{escape(trace['last_arrival'])} · {trace['customers']:,} buyers · {roster['agents']} agents · "
        f"seed {parameters['seed']} · baseline <b>{escape(labels[0])}</b></p>",
        _legend(labels),
        "<h2>Headline KPIs</h2>", _kpi_table(result),
        "<h2>Over the day</h2><div class=charts>",
        "<div class=chart><h3>3-minute reply rate by hour of arrival</h3>", _reply_chart(runs), _low_hours(runs),
        "</div>",
        "<div class=chart><h3>Conversations waiting (queue pool, offline queue, held)</h3>", _queue_chart(runs, end),
        "</div>",
        "</div>",
        "<h2>Saturation per agent (active ÷ maximum, hourly mean)</h2><div class=heat>",
        *(_heat_map(run, COLORS[i % len(COLORS)], end) for i, run in enumerate(runs)),
        "</div>", _heat_legend(),
        "<h2>Agents</h2>", _agent_table(runs),
        "<h2>How to read this</h2>", _notes(result),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _legend(labels: list[str]) -> str:
    items = "".join(f"<span><i class=swatch style='background:{COLORS[i % len(COLORS)]}'></i>{escape(label)}</span>"
                    for i, label in enumerate(labels))
    return f"<p class=legend>{items}</p>"


def _kpi_table(result: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(run['label'])}</th>" for run in result["runs"])
    rows = []
    for row in result["differences"]:
        cells = []
        for index, value in enumerate(row["values"]):
            delta = row["deltas"][index]
            kind = ""
            extra = ""
            if index and delta:
                kind = verdict(row["better"], delta) or "changed"
                extra = f"<span class=delta>{escape(format_delta(row['kpi'], delta))}</span>"
            elif index and value != row["values"][0]:
                kind = "changed"
            cells.append(f"<td class='num {kind}'>{escape(format_value(row['kpi'], value))}{extra}</td>")
        rows.append(f"<tr><th>{escape(row['title'])}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _frame(y_max: float, y_ticks: list[tuple[float, str]], x_ticks: list[tuple[float, str]]) -> list[str]:
    inner_h = HEIGHT - TOP - BOTTOM
    svg = [f"<svg viewBox='0 0 {WIDTH} {HEIGHT}' width={WIDTH} height={HEIGHT} role=img>",
           f"<rect x={LEFT} y={TOP} width={WIDTH - LEFT - RIGHT} height={inner_h} fill=#fafafa stroke=#e5e7eb />"]
    for value, text in y_ticks:
        y = TOP + inner_h * (1 - value / y_max)
        svg.append(f"<line x1={LEFT} x2={WIDTH - RIGHT} y1={y:.1f} y2={y:.1f} stroke=#eee />"
                   f"<text x={LEFT - 6} y={y + 4:.1f} text-anchor=end>{escape(text)}</text>")
    for x, text in x_ticks:
        svg.append(f"<text x={x:.1f} y={HEIGHT - 10} text-anchor=middle>{escape(text)}</text>")
    return svg


def _x(position: float, span: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (position / span if span else 0.5)


def _y(value: float, y_max: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(value, y_max) / y_max)


def _reply_chart(runs: list[dict[str, Any]]) -> str:
    hours = sorted({hour["hour"]: hour["label"] for run in runs for hour in run["kpis"]["reply_rate"]["by_hour"]}.items())
    index = {hour: n for n, (hour, _) in enumerate(hours)}
    span = max(1, len(hours) - 1)
    step = max(1, len(hours) // 12)
    svg = _frame(1.0, [(v / 10, f"{v * 10}%") for v in range(0, 11, 2)],
                 [(_x(n, span), label[:5]) for n, (_, label) in enumerate(hours) if n % step == 0])
    for value, dash, text in ((TARGET, "6 4", "70% (Kuaishou minimum)"), (HEALTHY, "2 4", "80% healthy")):
        y = _y(value, 1.0)
        svg.append(f"<line x1={LEFT} x2={WIDTH - RIGHT} y1={y:.1f} y2={y:.1f} stroke=#dc2626 stroke-dasharray='{dash}' />"
                   f"<text x={WIDTH - RIGHT - 4} y={y - 4:.1f} text-anchor=end fill=#dc2626>{text}</text>")
    for n, run in enumerate(runs):
        points = [(_x(index[hour["hour"]], span), _y(hour["reply_rate"], 1.0))
                  for hour in run["kpis"]["reply_rate"]["by_hour"] if hour["reply_rate"] is not None]
        svg.append(_polyline(points, COLORS[n % len(COLORS)]))
    svg.append("</svg>")
    return "".join(svg)


def day_end(result: dict[str, Any]) -> str:
    """Where the charts stop: an hour after the last arrival, or later while anyone still waits."""
    last = result["trace"]["last_arrival"]
    end = (datetime.fromisoformat(last) + timedelta(hours=1)).isoformat(timespec="seconds")
    for run in result["runs"]:
        waiting = False
        for point in run["kpis"]["queue_length"]["series"]:
            if waiting and point["at"] > end:
                end = point["at"]  # the first sample after a wait, so the chart shows it end
            waiting = point["pool"] + point["offline"] + point["held"] > 0
    return end


def _within(points: list[dict[str, Any]], end: str) -> list[dict[str, Any]]:
    return [point for point in points if point["at"] <= end]


def _low_hours(runs: list[dict[str, Any]]) -> str:
    lines = []
    for run in runs:
        hours = [hour["label"] for hour in run["kpis"]["reply_rate"]["by_hour"]
                 if hour["reply_rate"] is not None and hour["reply_rate"] < TARGET]
        lines.append(f"{escape(run['label'])}: hours below 70%: {escape(', '.join(hours) or 'none')}")
    return f"<p class=note>{'<br>'.join(lines)}</p>"


def _queue_chart(runs: list[dict[str, Any]], end: str) -> str:
    kept = [_within(run["kpis"]["queue_length"]["series"], end) for run in runs]
    series = [[point["pool"] + point["offline"] + point["held"] for point in points] for points in kept]
    times = max(kept, key=len)
    y_max = max(1, max((max(values, default=0) for values in series), default=0))
    y_max = _nice(y_max)
    span = max(1, len(times) - 1)
    step = max(1, len(times) // 8)
    svg = _frame(y_max, [(y_max * k / 4, f"{y_max * k / 4:g}") for k in range(5)],
                 [(_x(n, span), point["at"][11:16]) for n, point in enumerate(times) if n % step == 0])
    for n, values in enumerate(series):
        svg.append(_polyline([(_x(i, span), _y(v, y_max)) for i, v in enumerate(values)], COLORS[n % len(COLORS)]))
    svg.append("</svg>")
    return "".join(svg)


def _polyline(points: list[tuple[float, float]], color: str) -> str:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f"<polyline points='{path}' fill=none stroke='{color}' stroke-width=2 stroke-linejoin=round />"


def _nice(value: float) -> float:
    magnitude = int(10 ** (len(str(int(value))) - 1))  # a whole power of ten: the exponent is never negative
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def hourly_saturation(run: dict[str, Any], end: str) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Agents, hours, and each agent's mean saturation per hour (None while logged out all hour)."""
    saturation = run["kpis"]["saturation"]
    buckets: dict[str, list[list[float]]] = {}
    for at, values in zip(saturation["at"], saturation["values"]):
        if at > end:
            break
        rows = buckets.setdefault(at[:13], [[] for _ in saturation["agents"]])
        for agent, value in enumerate(values):
            if value is not None:
                rows[agent].append(value)
    hours = sorted(buckets)
    grid = [[(sum(buckets[h][a]) / len(buckets[h][a])) if buckets[h][a] else None for h in hours]
            for a in range(len(saturation["agents"]))]
    return saturation["agents"], hours, grid


def _heat_color(value: float | None) -> str:
    if value is None:
        return "#f3f4f6"
    v = min(1.0, max(0.0, value))
    if v < 0.5:  # white → amber
        t = v / 0.5
        return _mix((255, 255, 255), (251, 191, 36), t)
    return _mix((251, 191, 36), (185, 28, 28), (v - 0.5) / 0.5)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def _heat_map(run: dict[str, Any], color: str, end: str) -> str:
    agents, hours, grid = hourly_saturation(run, end)
    cell_w, cell_h = max(8, min(18, 560 // max(1, len(hours)))), max(3, min(16, 600 // max(1, len(agents))))
    label_every = -(-11 // cell_h)  # rows per label, so that labels never overlap
    left, top = 44, 16
    width, height = left + cell_w * len(hours) + 4, top + cell_h * len(agents) + 22
    svg = [f"<div><h3 style='color:{color}'>{escape(run['label'])}</h3>",
           f"<svg viewBox='0 0 {width} {height}' width={width} height={height} role=img>"]
    for a, agent in enumerate(agents):
        y = top + a * cell_h
        if a % label_every == 0:
            svg.append(f"<text x={left - 4} y={y + cell_h - 1} text-anchor=end>{escape(agent)}</text>")
        for h, value in enumerate(grid[a]):
            title = f"{agent} {hours[h][11:13]}:00 " + ("logged out" if value is None else f"{value:.0%}")
            svg.append(f"<rect x={left + h * cell_w} y={y} width={cell_w - 1} height={cell_h - (cell_h > 4)} "
                       f"fill='{_heat_color(value)}'><title>{escape(title)}</title></rect>")
    for h, hour in enumerate(hours):
        if h % 3 == 0:
            svg.append(f"<text x={left + h * cell_w + cell_w / 2} y={height - 6} text-anchor=middle>{hour[11:13]}</text>")
    svg.append("</svg></div>")
    return "".join(svg)


def _heat_legend() -> str:
    stops = "".join(f"<i class=swatch style='background:{_heat_color(v / 4)}'></i>{v * 25}% " for v in range(5))
    return f"<p class=note>{stops}<i class=swatch style='background:#f3f4f6'></i>logged out</p>"


def _agent_table(runs: list[dict[str, Any]]) -> str:
    by_agent: dict[str, list[dict[str, Any] | None]] = {}
    for n, run in enumerate(runs):
        for agent in run["kpis"]["agents"]:
            by_agent.setdefault(agent["id"], [None] * len(runs))[n] = agent
    order = sorted(by_agent, key=lambda a: (_rate_key(by_agent[a][0]), a))
    head = "".join(f"<th>{escape(run['label'])}<br><small>rate · conversations · peak</small></th>" for run in runs)
    rows = []
    for agent_id in order:
        cells = []
        for n, agent in enumerate(by_agent[agent_id]):
            if agent is None:
                cells.append("<td></td>")
                continue
            rate = agent["reply_rate"]
            base = by_agent[agent_id][0]
            kind = ""
            if n and base and rate is not None and base["reply_rate"] is not None and rate != base["reply_rate"]:
                kind = verdict("higher", rate - base["reply_rate"]) or ""
            if rate is not None and rate < TARGET and not kind:
                kind = "worse"
            text = "–" if rate is None else f"{rate:.0%}"
            cells.append(f"<td class='num {kind}'>{text} · {agent['conversations']:,} · {agent['peak_active']}</td>")
        rows.append(f"<tr><th>{escape(agent_id)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>agent</th>{head}</tr>{''.join(rows)}</table>"


def _rate_key(agent: dict[str, Any] | None) -> float:
    return 2.0 if agent is None or agent["reply_rate"] is None else agent["reply_rate"]


def _notes(result: dict[str, Any]) -> str:
    behaviour = result["parameters"]["behaviour"]
    return (
        "<p class=note>Every routing, queueing, transfer and closing decision was made by the policy itself "
        "(<code>Policy.evaluate</code>); agents' behaviour is a model: median first reply "
        f"{behaviour['reply_median_seconds']:g} s, growing by {behaviour['reply_load_factor']:.0%} per further open "
        f"conversation; {behaviour['manual_close_share']:.0%} of conversations closed by hand. "
        "The shop's 3-minute clock starts at the buyer's first message and counts queue time; an agent's clock starts "
        "when the conversation enters its list (B19). Below 70% Kuaishou penalises the shop; 80% is healthy. "
        "In the KPI table green is better than the baseline, red worse, grey a change that is neither. "
        "In the agent table red marks a rate under 70% or a drop from the baseline.</p>"
    )
