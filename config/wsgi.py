"""WSGI entry point, served in production by gunicorn (`gunicorn config.wsgi`): Django's
handler, with a shorter middleware chain for anonymous reads of the API
(``config/handlers.py``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.handlers import TrackerWSGIHandler  # noqa: E402 - needs the settings set up

application = TrackerWSGIHandler()
