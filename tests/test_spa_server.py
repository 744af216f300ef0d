"""How the server serves the single-page app: every path under /app opens the app (deep links, reloads),
its modules in subfolders are served as JavaScript, a missing file is a 404, and every file it loads is
package data (so an installed copy serves the same app)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPA = ROOT / "client_examples" / "spa"
APP_SCRIPT = '<script type="module" src="/app/app.js"></script>'
IMPORT = re.compile(r"""(?:\bfrom\s+|\bimport\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")


@pytest.mark.parametrize(
    "path", ["/app", "/app/", "/app/models", "/app/runs/UnVuOjE", "/app/chat/abc?model=x", "/app/admin/users"]
)
async def test_every_app_path_answers_the_app_page(api, path):
    response = await api.http.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert APP_SCRIPT in response.text
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/app/app.js", "/app/lib/router.js", "/app/pages/run.js", "/app/pages/admin/index.js"]
)
async def test_modules_in_subfolders_are_served_as_javascript(api, path):
    response = await api.http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == (SPA / path.removeprefix("/app/")).read_text()


@pytest.mark.parametrize("path", ["/app/pages/missing.js", "/app/lib/nothing.css", "/app/runs/abc/logo.png"])
async def test_a_missing_file_is_a_404_and_not_the_app_page(api, path):
    response = await api.http.get(path)
    assert response.status_code == 404
    assert APP_SCRIPT not in response.text


async def test_the_app_is_only_read(api):
    assert (await api.http.post("/app/models", content=b"{}")).status_code == 405


def _spa_files() -> list[str]:
    return sorted(
        str(path.relative_to(SPA))
        for path in SPA.rglob("*")
        if path.is_file() and path.suffix in {".html", ".js", ".css"}
    )


def test_every_file_of_the_app_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "client_examples.spa"
    ]
    # setuptools matches each pattern against the path relative to the package, "*" staying within a folder.
    unshipped = [
        name
        for name in _spa_files()
        if not any(fnmatch.fnmatch(name, p) and name.count("/") == p.count("/") for p in patterns)
    ]
    assert unshipped == []


def test_every_module_import_names_a_file_of_the_app():
    missing = []
    for name in _spa_files():
        if not name.endswith(".js"):
            continue
        source = SPA / name
        for specifier in IMPORT.findall(source.read_text()):
            if not (source.parent / specifier).resolve().is_file():
                missing.append(f"{name} imports {specifier}")
    assert missing == []
    assert len(_spa_files()) > 20  # the walk found the app
