"""gunicorn settings for the portal: ``gunicorn -c gunicorn.conf.py`` (see the README,
"Run it for real"). Everything can be overridden with the environment variables below.

The portal keeps no state in a worker between requests, so scale with more workers here
and more machines behind the proxy.
"""

import multiprocessing
import os

wsgi_app = "wsgi:app"
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: requests are short (the slow work runs in `portal worker`).
worker_class = "sync"
timeout = 30
graceful_timeout = 30  # SIGTERM: finish the requests in flight, then exit
keepalive = 5
# Recycle workers now and then so a leak can never grow without bound.
max_requests = 2000
max_requests_jitter = 200
# The portal writes its own JSON access line per request (with the request id and the
# user), so gunicorn's access log stays off; its own errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address and scheme come from the proxy through PORTAL_PROXY_COUNT (ProxyFix).
forwarded_allow_ips = "127.0.0.1"
