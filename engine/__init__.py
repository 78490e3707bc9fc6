"""Fenliu's engine: policy model, loading, compiling onto durable_rules and deciding. No HTTP here."""
from .errors import EngineError, FenliuError, PolicyError, RequestError
from .policy import Envelope, Policy, load_policy

__all__ = ["EngineError", "Envelope", "FenliuError", "Policy", "PolicyError", "RequestError", "load_policy"]
