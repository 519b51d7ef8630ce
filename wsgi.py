"""WSGI entry for production web workers (no scheduler here): `gunicorn wsgi:application`."""
from dashboard.app import create_app
from governance.core.config import load_settings

application = create_app(load_settings()).server
