"""Fenliu (分流): routing policies for e-commerce customer service.

The installed package holds the engine (`fenliu.engine`: policies, compiling, deciding, no HTTP),
the HTTP layer (`fenliu.api`), the published JSON Schemas (`fenliu.schemas`) and the shipped
policies as examples (`fenliu.rules`).
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fenliu")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
