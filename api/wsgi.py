"""For running under any WSGI server by hand (`gunicorn api.wsgi:app`); configured by FENLIU_* variables.

`fenliu serve` is the supported way: it also shares metrics and reloads across workers.
"""
from .app import create_app

app = create_app()
