"""Entry point for any WSGI server: ``waitress-serve wsgi:app``, ``gunicorn wsgi:app``."""

from __future__ import annotations

from web import create_app

app = create_app()
