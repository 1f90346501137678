"""WSGI entry point for gunicorn (``rasure serve``): each worker process is readied before its first
request (:func:`rasure_web.warmup.warm_process`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rasure_web.settings")
application = get_wsgi_application()

from rasure_web.warmup import warm_process  # noqa: E402  (needs the settings and apps loaded above)

warm_process()
