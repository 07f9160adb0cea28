"""A small WooCommerce REST v3 client on httpx (the ``woocommerce`` PyPI client is
unmaintained). Basic auth over HTTPS, pagination by ``X-WP-TotalPages``, retries with
backoff on 429 and 5xx, and errors that say what to fix."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

API = "/wp-json/wc/v3"
PER_PAGE = 100
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class WooError(RuntimeError):
    """A readable reason the shop could not be reached or refused us."""


class WooNotFound(WooError):
    """The shop answered 404: no such route (an older WooCommerce) or object."""


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code}"


class WooClient:
    def __init__(
        self,
        store_url: str,
        key: str,
        secret: str,
        timeout: float = 30,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        parts = urlsplit(store_url)
        if not parts.scheme or not parts.netloc:
            raise WooError(f"WOO_STORE_URL is not a URL: {store_url!r}")
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
            raise WooError("the shop must be reached over HTTPS (Basic auth sends the keys)")
        if not key or not secret:
            raise WooError("WOO_CONSUMER_KEY and WOO_CONSUMER_SECRET are required")
        self.retries = retries
        self.backoff = backoff
        self.http = httpx.Client(
            base_url=store_url.rstrip("/") + API, auth=(key, secret), timeout=timeout
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise WooError(f"the shop is unreachable: {exc}") from None
            else:
                if response.status_code in (401, 403):
                    raise WooError(
                        "the shop refused the API keys (check key, secret and read access)"
                    )
                if response.status_code == 404:
                    raise WooNotFound(
                        f"not found on the shop: {path} (is WooCommerce's REST API on?)"
                    )
                if response.status_code < 400:
                    return response
                if response.status_code != 429 and response.status_code < 500:
                    raise WooError(f"the shop refused: {_message(response)}")
                if attempt == self.retries:
                    raise WooError(f"the shop keeps answering {response.status_code} on {path}")
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    time.sleep(min(float(retry_after), 30))
                    continue
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def pages(
        self, path: str, params: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, in order."""
        page = 1
        while True:
            response = self.request(
                "GET", path, params={**(params or {}), "per_page": PER_PAGE, "page": page}
            )
            items = response.json()
            if not isinstance(items, list):
                raise WooError(f"{path} did not return a list")
            yield items
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page >= total_pages or not items:
                return
            page += 1

    def close(self) -> None:
        self.http.close()
