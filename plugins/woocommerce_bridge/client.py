"""A small WooCommerce REST v3 client on httpx (the ``woocommerce`` PyPI client is
unmaintained): pagination by ``X-WP-TotalPages``, retries with backoff on 429 and 5xx,
and errors that say what to fix.

WooCommerce takes the key and secret as Basic auth only over HTTPS; over plain HTTP it
wants a one-legged OAuth 1.0a signature (HMAC-SHA1/SHA256 over the method, the URL and
every query parameter, keyed with ``secret&``, the OAuth parameters in the query string,
a timestamp within 15 minutes and a nonce used once: ``WC_REST_Authentication``). The
signing is oauthlib's; a request is signed anew on every retry (a fresh nonce)."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY
from oauthlib.oauth1 import Client as OAuth1Client

API = "/wp-json/wc/v3"
PER_PAGE = 100
BASIC, OAUTH1 = "basic", "oauth1"


class WooError(RuntimeError):
    """A readable reason the shop could not be reached or refused us."""


class WooNotFound(WooError):
    """The shop answered 404: no such route (an older WooCommerce) or object."""


class WooRefused(WooError):
    """The shop answered 401/403: ``auth`` says how the keys were sent (``basic`` over
    HTTPS, ``oauth1`` over HTTP) and ``reason`` is what WooCommerce said."""

    def __init__(self, auth: str, reason: str, status: int) -> None:
        self.auth, self.reason, self.status = auth, reason, status
        how = (
            "sent with Basic auth over HTTPS"
            if auth == BASIC
            else "signed with OAuth 1.0a over plain HTTP"
        )
        super().__init__(f"the shop refused the key and secret {how}: {reason}")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code}"


class OAuth1(httpx.Auth):
    """WooCommerce's OAuth 1.0a over HTTP: the request's URL signed by oauthlib, the
    OAuth parameters added to its query string (the body is JSON, never signed)."""

    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signer = OAuth1Client(
            self.key,
            client_secret=self.secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_QUERY,
        )
        signed, _headers, _body = signer.sign(str(request.url), request.method)
        request.url = httpx.URL(signed)
        yield request


def auth_method(store_url: str) -> str:
    """How a shop at this URL takes the keys."""
    return BASIC if urlsplit(store_url).scheme == "https" else OAUTH1


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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WooError(f"the shop address is not an http(s) URL: {store_url!r}")
        if not key or not secret:
            raise WooError("the shop's REST key and secret are required")
        self.retries = retries
        self.backoff = backoff
        self.store_url = store_url.rstrip("/")
        self.auth = auth_method(store_url)
        self.http = httpx.Client(
            base_url=self.store_url + API,
            auth=(key, secret) if self.auth == BASIC else OAuth1(key, secret),
            timeout=timeout,
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
                    raise WooRefused(self.auth, _message(response), response.status_code)
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

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON; a shop answering something else (a login page, a proxy's
        error page) is a readable error, not a crash."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise WooError(f"the shop's answer to {path} is not JSON") from None

    def site_index(self) -> Any:
        """WordPress's public REST index (``GET /wp-json/``), only the named fields: the
        site's ``timezone_string`` and ``gmt_offset`` live there, not in WooCommerce's
        settings. Sent without the keys (it is not a WooCommerce route)."""
        url = self.store_url + "/wp-json/"
        try:
            response = self.http.get(
                url, params={"_fields": "timezone_string,gmt_offset"}, auth=None
            )
        except httpx.TransportError as exc:
            raise WooError(f"the shop is unreachable: {exc}") from None
        if response.status_code >= 400:
            raise WooError(f"the shop's REST index answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise WooError("the shop's REST index is not JSON") from None

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
