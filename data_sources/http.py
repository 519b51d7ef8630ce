"""HTTP for connectors: timeouts, retries with backoff on 5xx (urllib3 Retry), clear FeedErrors."""
from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from .base import FeedError, Source

DEFAULT_TIMEOUT = (3.0, 10.0)  # connect, read seconds


def session(retries: int = 2, backoff: float = 0.3) -> requests.Session:
    """A session that retries idempotent requests on connection errors and 5xx answers."""
    s = requests.Session()
    retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), raise_on_status=False)
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    s.headers["User-Agent"] = "GridCockpit/1.0"
    return s


def get_bytes(sess: requests.Session, url: str, params: dict | None = None,
              timeout=DEFAULT_TIMEOUT) -> requests.Response:
    """GET a document, raising FeedError on network errors and HTTP errors; the response otherwise."""
    try:
        resp = sess.get(url, params=params, timeout=timeout)
    except requests.Timeout as exc:
        raise FeedError(f"请求超时：{url}") from exc
    except requests.ConnectionError as exc:
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)):
            raise FeedError(f"请求超时：{url}") from exc
        raise FeedError(f"连接失败：{url}（{exc.__class__.__name__}）") from exc
    except requests.RequestException as exc:
        raise FeedError(f"连接失败：{url}（{exc.__class__.__name__}）") from exc
    if resp.status_code >= 400:
        raise FeedError(f"HTTP {resp.status_code}：{url}")
    return resp


def get_json(sess: requests.Session, url: str, params: dict | None = None,
             timeout=DEFAULT_TIMEOUT) -> Any:
    """GET a JSON document, raising FeedError on network errors, HTTP errors or broken JSON."""
    resp = get_bytes(sess, url, params, timeout)
    try:
        return json.loads(resp.content.decode(resp.encoding or "utf-8", errors="strict"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"返回内容不是完整的 JSON（可能只传了半页）：{url}：{exc}") from exc


class HttpSource(Source):
    """A connector that pulls from an HTTP API: base URL, interval, retrying session, timeouts."""

    def __init__(self, base_url: str, interval_seconds: int):
        self.base_url = base_url.rstrip("/")
        self.interval_seconds = interval_seconds
        self.http = session()
        self.timeout = DEFAULT_TIMEOUT

    def get(self, path: str, params: dict) -> Any:
        """GET {base_url}{path} as JSON (FeedError on any failure)."""
        return get_json(self.http, f"{self.base_url}{path}", params, timeout=self.timeout)
