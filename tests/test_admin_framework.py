"""The admin framework (common/admin) sits below the domain apps: it imports none of them and
learns which apps a user may see from the scope contacts registers at start-up."""

from __future__ import annotations

import ast
from pathlib import Path

from common.admin import app_scope
from contacts import access
from contacts.models import App

DOMAIN_APPS = {"contacts", "events", "segments", "campaigns", "dashboard", "monitoring"}
FRAMEWORK = Path(__file__).resolve().parent.parent / "common" / "admin"


def _imported_packages(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_admin_framework_imports_no_domain_app():
    modules = sorted(FRAMEWORK.glob("*.py"))
    assert modules
    for module in modules:
        assert not _imported_packages(module.read_text()) & DOMAIN_APPS, module.name


def test_contacts_registers_the_app_scope_at_start_up():
    scope = app_scope()
    assert scope.model is App
    assert scope.visible is access.visible_apps
    assert scope.current is access.current_app
    assert scope.scoped is access.scoped_apps
