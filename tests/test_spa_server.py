"""How the server serves the single-page app: every path under /app opens the app (deep links, reloads),
its modules in subfolders are served as JavaScript, a missing file is a 404, the package's other files are
not served, every answer carries a content security policy the app runs under in Chromium with no
violation, and every file it loads is package data (so an installed copy serves the same app)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from tests.support.spa import expect, needs_chromium, no_page_errors, sign_in
from tests.test_runs import make_model, start, wait_finished

# The app's files as served: the same on either database, so they are checked in one pass.
pytestmark = pytest.mark.database_independent

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


@pytest.mark.parametrize(
    "path",
    [
        "/app/__init__.py",
        "/app/README.md",
        "/app/__pycache__/__init__.cpython-311.pyc",
        "/app/lib/../__init__.py",
        "/app/%2e%2e/%2e%2e/pyproject.toml",
        "/app/lib/..%2f..%2f..%2fpyproject.toml",
        "/app/../graphql_api/app.py",
    ],
)
async def test_files_that_are_not_part_of_the_app_are_never_served(api, path):
    response = await api.http.get(path)
    assert response.status_code == 404 or APP_SCRIPT in response.text, response.text[:200]
    for secret in ('"""The AIBT single-page app', "# The AIBT single-page app", "[project]", "def create_app"):
        assert secret not in response.text


@pytest.mark.parametrize("path", ["/app/", "/app/runs/UnVuOjE", "/app/app.js", "/app/styles.css"])
async def test_every_answer_of_the_app_forbids_foreign_scripts_framing_and_sniffing(api, path):
    headers = (await api.http.get(path)).headers
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    host = api.http.base_url.netloc.decode()
    assert policy["connect-src"] == f"'self' ws://{host} wss://{host}"
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


async def test_a_host_header_cannot_write_into_the_policy(api):
    response = await api.http.get("/app/", headers={"host": "evil.example; script-src *"})
    policy = response.headers["content-security-policy"]
    assert "evil" not in policy and policy.count("script-src") == 1


RECORD_VIOLATIONS = """
window.policyViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.policyViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@needs_chromium
async def test_the_app_runs_under_its_policy_with_no_violation(server_url, api, market, browser, user):
    model_id = await make_model(api, user)
    run = await start(api, user, model_id)
    await wait_finished(run["id"], api, user)
    page = await browser.new_page()
    await page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    await page.route("https://images.example.com/**", lambda route: route.fulfill(status=404))  # no network
    await api.data(
        'mutation { updateProfile(input: {avatarUrl: "https://images.example.com/me.png"}) { id } }', token=user.token
    )
    conversation = (await api.data("mutation { createConversation { id } }", token=user.token))["createConversation"]
    await sign_in(page, server_url, user.email, user.password, path=f"/runs/{run['id']}")
    await expect(page.locator("#run-status")).to_have_text("Completed")
    await expect(page.locator("svg").first).to_be_visible()  # the equity curve
    await page.goto(f"{server_url}/app/chat/{conversation['id']}")
    await expect(page.locator("#live-state")).to_have_text("Live")  # its websocket, under connect-src
    for path in (f"/models/{model_id}", f"/models/{model_id}/edit", "/arenas", "/profile"):
        await page.goto(f"{server_url}/app{path}")
        await page.wait_for_load_state("networkidle")
    assert await page.evaluate("window.policyViolations") == []
    assert not [text for text in console if "Content Security Policy" in text], console
    no_page_errors(browser)


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
