"""What every bench script's command line shares: `--out` for its JSON results, and its own options."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HELP = {
    "scale": "fraction of the default request counts",
    "agent_budget": "requests × agents per size",
}


def arguments(description: str | None, **defaults: int | float) -> argparse.Namespace:
    """Parse `--out PATH` (required) and one `--name` per default, typed as its default is."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True)
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default, help=HELP.get(name))
    return parser.parse_args()


def write_results(path: Path, results: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
