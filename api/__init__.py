"""Fenliu's HTTP service: a thin Flask layer over the engine (parse, call `Policy.evaluate`, shape).

The app is built by `api.app.create_app`; `api.server` runs it under gunicorn. Nothing here is
imported eagerly, because metrics must know whether they run multi-process before their first import.
"""
