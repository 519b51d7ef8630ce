"""A scripted local HTTP server for feed tests: real sockets, responses queued per path."""
from __future__ import annotations

import threading
import time
from collections import defaultdict

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class ScriptedServer:
    """Serves queued (status, body, delay) responses per path; the last one repeats."""

    def __init__(self):
        self.script: dict[str, list] = defaultdict(list)
        self.requests: list[tuple[str, dict]] = []
        self.answered: list[tuple[int, bytes]] = []  # (status sent, request body) per request
        self.handler = None  # optional callable(request) -> Response | None
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def add(self, path: str, body, status: int = 200, delay: float = 0.0, key: str | None = None):
        """Queue a response for `path` (optionally only for a query-string key such as 'page=2')."""
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.script[(path, key)].append((status, data, delay))

    def _app(self, environ, start_response):
        req = Request(environ)
        self.requests.append((req.path, dict(req.args)))
        if self.handler is not None:
            resp = self.handler(req)
            if resp is not None:
                return resp(environ, start_response)
        queue = None
        for k, v in req.args.items():
            queue = self.script.get((req.path, f"{k}={v}")) or queue
        queue = queue or self.script.get((req.path, None))
        if not queue:
            return Response("not found", status=404)(environ, start_response)
        status, data, delay = queue.pop(0) if len(queue) > 1 else queue[0]
        self.answered.append((status, req.get_data()))
        if delay:
            time.sleep(delay)
        return Response(data, status=status, content_type="application/json; charset=utf-8")(
            environ, start_response)

    def close(self):
        """Stop serving."""
        self._server.shutdown()
