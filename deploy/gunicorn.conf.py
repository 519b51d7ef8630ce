"""Production gunicorn settings for the cockpit's web workers (`gunicorn -c deploy/gunicorn.conf.py wsgi:application`).

Each worker imports wsgi.py itself (no `preload_app`), so every process opens its own database
engine and pool after the fork — connections are never shared across processes. Feed and warning
jobs never run here: they belong to the single `python app.py scheduler` process.
"""
import multiprocessing
import os

bind = os.environ.get("COCKPIT_BIND", "127.0.0.1:8050")
workers = int(os.environ.get("COCKPIT_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"          # threaded workers: many walls idle-refreshing cost a thread each, briefly
threads = int(os.environ.get("COCKPIT_THREADS", "8"))
preload_app = False               # engines are created after fork, in each worker
timeout = 60
graceful_timeout = 30
max_requests = 5000               # recycle workers now and then (memory), with jitter so not all at once
max_requests_jitter = 500
# The client address comes from the proxy via COCKPIT_PROXY_HOPS (werkzeug ProxyFix inside the app).
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sµs'
