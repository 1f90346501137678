"""WSGI entry point for gunicorn (``rasure serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
application = get_wsgi_application()
