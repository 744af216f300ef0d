"""Serves the single-page app at /app: its files, and index.html for every other path under /app, so a
deep link (/app/runs/<id>) or a reload opens the app at that place. A path that names a file (it has an
extension, e.g. a missing module) stays a 404: HTML in place of a script would only hide the mistake."""

from __future__ import annotations

import importlib.util
from pathlib import PurePosixPath

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


def spa_directory() -> str:
    """The app's files, shipped as package data of client_examples.spa."""
    spec = importlib.util.find_spec("client_examples.spa")
    return next(iter(spec.submodule_search_locations))


class SinglePageApp(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=spa_directory(), html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or PurePosixPath(path).suffix:
                raise
            response = await super().get_response("index.html", scope)
        # Revalidate on every load (a 304 when unchanged): the modules of one version always load together.
        response.headers["Cache-Control"] = "no-cache"
        return response
