"""tasks/ imports without cycles, counting imports inside functions; the broker is set before any actor is
declared, and importing the actors declares them on it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import clean_env
from tests.support.topology import REDIS_URL

TASKS = Path(__file__).resolve().parent.parent / "tasks"


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports anywhere in its text: at the top,
    inside a function, or under TYPE_CHECKING."""
    package = package_dir.name
    names = {
        path: package if path.stem == "__init__" else f"{package}.{path.stem}" for path in package_dir.glob("*.py")
    }
    modules = set(names.values())
    graph: dict[str, set[str]] = {}
    for path, name in names.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module if node.level == 0 else ".".join(filter(None, [package, node.module]))
                if base:
                    # `from tasks import actors` imports the module tasks.actors.
                    imported.update([base, *(f"{base}.{alias.name}" for alias in node.names)])
        graph[name] = (imported & modules) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        for imported in graph[pending.pop()] - seen:
            seen.add(imported)
            pending.append(imported)
    return seen


def test_no_module_of_tasks_imports_itself_back_through_others():
    graph = import_graph(TASKS)
    assert {"tasks.actors", "tasks.broker", "tasks.dispatch", "tasks.worker_runtime"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle_closed_by_an_import_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import helper\n")
    (package / "b.py").write_text("def helper():\n    from pkg import a\n    return a\n")
    (package / "c.py").write_text("from . import b\n")
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg", "pkg.a"}, "pkg.c": {"pkg", "pkg.b"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_the_broker_imports_nothing_of_tasks_and_the_worker_runtime_reaches_neither_dispatcher_nor_actors():
    graph = import_graph(TASKS)
    assert graph["tasks.broker"] == set()
    assert reachable(graph, "tasks.worker_runtime").isdisjoint({"tasks.dispatch", "tasks.actors"})
    assert "tasks.actors" not in reachable(graph, "tasks.dispatch")


# A fresh interpreter: what `dramatiq tasks.actors` and `aibt worker` do when they load the actors.
DECLARED_ON_THE_BROKER = """
import dramatiq
import tasks.actors as actors
from tasks.broker import broker

assert dramatiq.get_broker() is broker
assert actors.run_trading.broker is broker and actors.reply_to_chat.broker is broker
assert set(broker.get_declared_actors()) == {"run_trading", "reply_to_chat", "fetch_price_data"}
assert actors.runtime in broker.middleware
assert actors.dispatcher.run_actor is actors.run_trading
print(type(broker).__name__)
"""


@pytest.mark.parametrize(
    ("redis_url", "broker_class"), [(None, "StubBroker"), (REDIS_URL, "RedisBroker")], ids=["embedded", "redis"]
)
def test_importing_the_actors_declares_them_on_the_broker_tasks_broker_set(tmp_path, redis_url, broker_class):
    env = clean_env(AIBT_DATA_DIR=str(tmp_path), **({"REDIS_URL": redis_url} if redis_url else {}))
    result = subprocess.run(
        [sys.executable, "-c", DECLARED_ON_THE_BROKER],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == broker_class
