"""Services announce; each app's handlers.py is the one module that enqueues its tasks (and
tasks.py may fan out to its own tasks). A tasks import anywhere else is a service reaching for
the broker, or a cycle hidden in a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("common", "contacts", "events", "segments", "campaigns", "dashboard", "monitoring")
ALLOWED = {"handlers.py", "tasks.py"}


def imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, node.lineno
            for alias in node.names:  # from campaigns import tasks
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def test_only_handlers_and_tasks_import_tasks():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path.name in ALLOWED or "migrations" in path.parts:
                continue
            for module, line in imported_modules(ast.parse(path.read_text())):
                if module.split(".")[-1] == "tasks":
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []
