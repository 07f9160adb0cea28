"""A real HTTP server on loopback serving product images (and bad answers) for the share
card tests: the portal's httpx download talks to it over TCP."""

from __future__ import annotations

import io
import threading
from typing import Any

from PIL import Image
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import free_port

PICTURE_COLOUR = (22, 163, 74)  # a green no part of the card uses
PADDING = b"\0" * (6 * 1024 * 1024)  # Pillow ignores bytes after a PNG's last chunk


def png_bytes(size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = PICTURE_COLOUR):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def _app(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    if request.path == "/tea.png":
        response = Response(png_bytes(), content_type="image/png")
    elif request.path == "/tea.jpg":
        out = io.BytesIO()
        Image.new("RGB", (1600, 1200), PICTURE_COLOUR).save(out, format="JPEG")
        response = Response(out.getvalue(), content_type="image/jpeg")
    elif request.path == "/huge.png":  # a valid PNG padded past 5 MB, length announced
        response = Response(png_bytes() + PADDING, content_type="image/png")
    elif request.path == "/huge-chunked.png":  # the same, streamed without a length
        body = [png_bytes(), *(PADDING[i : i + 65536] for i in range(0, len(PADDING), 65536))]
        response = Response(iter(body), content_type="image/png")
    elif request.path == "/not-an-image.png":
        response = Response(b"<html>sorry</html>", content_type="image/png")
    elif request.path == "/moved.png":
        response = Response(status=302, headers={"Location": "/tea.png"})
    else:
        response = Response("missing", status=404)
    return response(environ, start_response)


class ImageServer:
    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, _app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just released)."""
    return f"http://127.0.0.1:{free_port()}/tea.png"
