"""The one entry point for JSON a client sends: request bodies and JSON form parts alike.

Nesting deeper than JSON_MAX_DEPTH is refused before parsing (the parser recurses per level), and
NaN/Infinity/-Infinity, which are not JSON (RFC 8259) and which Python's parser accepts, are refused too.
"""

import json
import re
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonInputError(ValueError):
    """The text is not JSON we accept; the message says why."""


def _reject_constant(name: str) -> NoReturn:
    raise JsonInputError(f"{name} is not a JSON number")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_loads_strict(raw: str | bytes) -> Any:
    """Parses client JSON; raises JsonInputError (too deep, NaN/Infinity, malformed, not UTF-8)."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"not UTF-8: {exc}") from exc
    limit = settings.JSON_MAX_DEPTH
    if json_depth(raw) > limit:
        raise JsonInputError(f"nested deeper than {limit} levels")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except JsonInputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonInputError(str(exc) or type(exc).__name__) from exc


class StrictJSONParser(JSONParser):
    """DRF's JSON parser through json_loads_strict: any refusal is a 400 bad_request."""

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return json_loads_strict(stream.read() if stream is not None else b"")
        except JsonInputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
