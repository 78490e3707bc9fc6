"""The published JSON Schemas: the policy language, the request contract, tests and simulation inputs."""
from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema of this package by file name, e.g. `policy.schema.json`; callers must not change it."""
    schema: dict[str, Any] = json.loads(files(__name__).joinpath(name).read_text(encoding="utf-8"))
    return schema
