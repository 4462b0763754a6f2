"""The error-code registry (apps/core/error_codes.py) against docs/errors.md, the raise sites and the
answers that carry a code no raise site names.

The registry checks read the source as text (ast); the last test runs the error handler, the API
middleware and the web server's refusal shape (Django settings, no database).
"""

import ast
import json
import re
from pathlib import Path

from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework import exceptions as drf_exceptions
from waitress import utilities as waitress_errors

from apps.core.error_codes import ErrorCode
from apps.core.errors import api_exception_handler
from apps.core.middleware import ApiErrorShapeMiddleware
from apps.core.webserver import _error_shape_response

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("apps", "workers", "vibi")
# The simulators answer with the upstream services' own error codes, not ours.
NOT_SCANNED = {"migrations", "simulators"}
# What takes an error code as its first argument, besides the error classes found in the tree.
ERROR_FACTORIES = {"error_body", "ApiError", "JobFailure", "TransientFailure"}


def _documented_codes() -> list[str]:
    table = (ROOT / "docs" / "errors.md").read_text()
    return re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)


def _trees():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if NOT_SCANNED.isdisjoint(path.relative_to(ROOT).parts):
                yield path.relative_to(ROOT), ast.parse(path.read_text())


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _takes_a_code_first(node: ast.ClassDef) -> bool:
    """A class whose __init__'s first argument after self is named `code` or `error_code`."""
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
            arguments = [argument.arg for argument in statement.args.args[1:2]]
            return arguments in (["code"], ["error_code"])
    return False


def _error_classes(trees) -> set[str]:
    """Every class that takes a code first, or whose bases lead (by name) to one that does or to one of
    the ERROR_FACTORIES."""
    bases: dict[str, set[str]] = {}
    takes_a_code = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {_name(base) for base in node.bases} - {None}
                if _takes_a_code_first(node):
                    takes_a_code.add(node.name)
    found = set(ERROR_FACTORIES) | takes_a_code
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def _is_text(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != ""


def test_every_registered_code_is_documented_and_every_documented_code_registered():
    documented = _documented_codes()
    registered = {code.value for code in ErrorCode}
    assert len(documented) == len(set(documented)), "a code is in docs/errors.md twice"
    assert sorted(registered - set(documented)) == [], "registered but not in docs/errors.md"
    assert sorted(set(documented) - registered) == [], "in docs/errors.md but not in ErrorCode"


def test_no_raise_site_carries_a_code_as_a_string_literal():
    trees = list(_trees())
    error_classes = _error_classes(trees)
    literals = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if _name(node.func) in error_classes and node.args and _is_text(node.args[0]):
                    literals.append(f"{path}:{node.lineno} {node.args[0].value!r}")
                literals += [
                    f"{path}:{node.lineno} {keyword.arg}={keyword.value.value!r}"
                    for keyword in node.keywords
                    if keyword.arg in ("code", "error_code") and _is_text(keyword.value)
                ]
            if isinstance(node, ast.ClassDef):
                literals += [
                    f"{path}:{statement.lineno} {node.name}.code = {statement.value.value!r}"
                    for statement in node.body
                    if isinstance(statement, ast.Assign)
                    and any(getattr(target, "id", None) == "code" for target in statement.targets)
                    and _is_text(statement.value)
                ]
    assert literals == [], "use ErrorCode.<NAME> (apps/core/error_codes.py):\n" + "\n".join(literals)


def test_every_code_a_site_names_is_registered():
    """`ErrorCode.NAME` in a function body only fails when it runs: every name used must exist."""
    used = {
        (str(path), node.lineno, node.attr)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorCode"
    }
    assert used, "no raise site uses the registry"
    assert sorted(site for site in used if site[2] not in ErrorCode.__members__) == []


def test_the_values_are_the_strings_clients_see():
    assert ErrorCode.NOT_FOUND == "not_found"
    assert f"{ErrorCode.NOT_FOUND}" == "not_found"
    assert str(ErrorCode.FILE_TOO_LARGE) == "file_too_large"
    assert all(isinstance(code, str) for code in ErrorCode)


def _drf_exception(exception_class):
    try:
        return exception_class()
    except TypeError:  # MethodNotAllowed and UnsupportedMediaType name the method or media type
        return exception_class("x")


def test_every_code_an_error_answer_carries_is_registered():
    """Codes that reach a client without a raise site naming them: each DRF exception through the error
    handler, each status the API middleware reshapes, each status the web server refuses with."""
    carried = {}
    # DRF's base APIException is never raised itself; its subclasses are, by DRF's views and parsers.
    drf_exception_classes = [
        value
        for value in vars(drf_exceptions).values()
        if isinstance(value, type)
        and issubclass(value, drf_exceptions.APIException)
        and value is not drf_exceptions.APIException
    ]
    assert len(drf_exception_classes) >= 10
    for exception_class in drf_exception_classes:
        response = api_exception_handler(_drf_exception(exception_class), {})
        carried[f"handler: {exception_class.__name__}"] = response.data["error"]

    request = RequestFactory().get("/api/v2/anything")
    for status in range(400, 600):
        response = ApiErrorShapeMiddleware(lambda _request, status=status: HttpResponse(status=status))(request)
        if response["Content-Type"].startswith("application/json"):
            carried[f"middleware: {status}"] = json.loads(response.content)["error"]
    for exception in (RequestDataTooBig(), OperationalError(), ValueError()):
        response = ApiErrorShapeMiddleware(lambda _request: HttpResponse()).process_exception(request, exception)
        carried[f"middleware: {type(exception).__name__}"] = json.loads(response.content)["error"]

    for status in range(400, 600):
        refusal = waitress_errors.Error("x")
        refusal.code, refusal.reason = status, "Refused"
        _status_line, _headers, body = _error_shape_response(refusal)
        carried[f"web server: {status}"] = json.loads(body)["error"]

    registered = {code.value for code in ErrorCode}
    assert {source: code for source, code in carried.items() if code not in registered} == {}
