"""Serves the single-page app at /app: its files, and index.html for every other path under /app, so a
deep link (/app/runs/<id>) or a reload opens the app at that place. A path that names a file (it has an
extension, e.g. a missing module) stays a 404: HTML in place of a script would only hide the mistake.

Only the app's own kinds of file are served (the package's Python and README are not part of the app),
each with headers that keep a page of the app from running or loading what it did not ship: the session
token lives in the page's storage, so an injected script must find nothing it may run or send it to."""

from __future__ import annotations

import importlib.util
import re
from pathlib import PurePosixPath

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# What pyproject.toml ships as the app's package data.
APP_FILE_TYPES = frozenset({".html", ".js", ".css"})
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")


def spa_directory() -> str:
    """The app's files, shipped as package data of client_examples.spa."""
    spec = importlib.util.find_spec("client_examples.spa")
    return next(iter(spec.submodule_search_locations))


def content_security_policy(host: str | None) -> str:
    """The app's own scripts, styles and API only; avatars may be any http(s) image. Its live connection is
    a websocket to the same host, named as well as 'self' for browsers whose 'self' leaves out ws:/wss:."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
        f"connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SinglePageApp(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=spa_directory(), html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        suffix = PurePosixPath(path).suffix
        if suffix and suffix not in APP_FILE_TYPES:
            raise HTTPException(status_code=404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or suffix:
                raise
            response = await super().get_response("index.html", scope)
        # Revalidate on every load (a 304 when unchanged): the modules of one version always load together.
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = content_security_policy(Headers(scope=scope).get("host"))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
