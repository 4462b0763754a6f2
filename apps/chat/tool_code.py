"""Recovers tool calls that Gemini wrote as text instead of structured function calls.

Two formats are seen in practice: Python-like `print(default_api.<name>(k=v, ...))` and a
YAML-like list of `- tool:` / `args:` blocks with a separate `rationale:` line. Nothing here is
ever executed: Python-like calls are parsed with `ast` and only literal values are accepted.
"""

import ast
import json
import re
from dataclasses import dataclass, field

from apps.chat.tools import Step

MAX_TEXT_CHARS = 20_000
MAX_CALL_CHARS = 8_000

_PYTHON_CALL_START = re.compile(r"default_api\s*\.\s*([A-Za-z_]\w*)\s*\(")
_YAML_TOOL_HEADER = re.compile(r"^(\s*)(?:-\s*)?tool\s*:\s*[\"']?(?:default_api\.)?([A-Za-z_]\w*)[\"']?\s*$")
_YAML_KEY_VALUE = re.compile(r"^\s*(?:-\s*)?([A-Za-z_]\w*)\s*:\s*(.*?)\s*$")
_RATIONALE_LINE = re.compile(r"^\s*rationale\s*:\s*(.*?)\s*$", re.IGNORECASE)
_FENCE_LINE = re.compile(r"^\s*```")
_FENCED_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_RESERVED_YAML_KEYS = frozenset({"rationale", "kind", "steps", "tool", "args", "name"})
_JSON_WORDS = {"true": True, "false": False, "null": None}


@dataclass
class RecoveredToolCode:
    calls: list[Step] = field(default_factory=list)
    rationale: str | None = None
    refused: list[str] = field(default_factory=list)  # call snippets that were not plain literals


class NotALiteral(ValueError):
    pass


def recover_tool_calls(text: str) -> RecoveredToolCode:
    """Finds the calls in `text`; the Python form wins when present, as the model never mixes them."""
    text = (text or "")[:MAX_TEXT_CHARS]
    recovered = _recover_python_calls(text)
    if recovered.calls or recovered.refused:
        recovered.rationale = _prose_outside_code(text)
        return recovered
    return _recover_yaml_calls(text)


# --- Python-like calls --------------------------------------------------------------------------


def _recover_python_calls(text: str) -> RecoveredToolCode:
    recovered = RecoveredToolCode()
    consumed_until = 0
    for match in _PYTHON_CALL_START.finditer(text):
        if match.start() < consumed_until:
            continue  # a call nested inside one already handled (and refused for it)
        close = _matching_paren(text, match.end() - 1)
        if close is None:
            recovered.refused.append(text[match.start() : match.start() + 200])
            consumed_until = len(text)
            continue
        snippet = text[match.start() : close + 1]
        consumed_until = close + 1
        try:
            recovered.calls.append(parse_python_call(snippet))
        except NotALiteral:
            recovered.refused.append(snippet[:200])
    return recovered


def _matching_paren(text: str, open_index: int) -> int | None:
    """Index of the parenthesis closing the one at open_index, skipping string literals."""
    depth = 0
    index = open_index
    end = min(len(text), open_index + MAX_CALL_CHARS)
    while index < end:
        char = text[index]
        if char in "\"'":
            quote = text[index : index + 3] if text[index : index + 3] in ('"""', "'''") else char
            index += len(quote)
            while index < end and not text.startswith(quote, index):
                index += 2 if text[index] == "\\" else 1
            index += len(quote)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def parse_python_call(snippet: str) -> Step:
    """Parses `default_api.<name>(k=literal, ...)`; anything but literal keyword arguments is refused."""
    try:
        tree = ast.parse(snippet.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise NotALiteral(f"not a call: {error}") from None
    call = tree.body
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "default_api"
    ):
        raise NotALiteral("not a default_api call")
    if call.args:
        raise NotALiteral("positional arguments")
    args = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise NotALiteral("**kwargs")
        args[keyword.arg] = _literal_value(keyword.value, depth=0)
    return Step(name=call.func.attr, args=args)


def _literal_value(node: ast.AST, *, depth: int):
    if depth > 3:
        raise NotALiteral("nested too deep")
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | None):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = node.operand
        number = operand.value if isinstance(operand, ast.Constant) else None
        if isinstance(number, int | float) and not isinstance(number, bool):
            return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal_value(item, depth=depth + 1) for item in node.elts]
    if isinstance(node, ast.Name) and node.id in _JSON_WORDS:
        return _JSON_WORDS[node.id]
    raise NotALiteral(f"{type(node).__name__} is not a literal")


def _prose_outside_code(text: str) -> str | None:
    prose = _FENCED_BLOCK.sub("", text)
    lines = [line for line in prose.splitlines() if "default_api" not in line]
    joined = "\n".join(lines).strip()
    return joined or None


# --- YAML-like pseudo-code ----------------------------------------------------------------------


def _recover_yaml_calls(text: str) -> RecoveredToolCode:
    recovered = RecoveredToolCode()
    lines = [line for line in text.splitlines() if not _FENCE_LINE.match(line)]
    recovered.rationale = _yaml_rationale(lines)
    index = 0
    while index < len(lines):
        header = _YAML_TOOL_HEADER.match(lines[index])
        if not header:
            index += 1
            continue
        header_indent = len(header.group(1))
        args: dict = {}
        index += 1
        while index < len(lines):
            line = lines[index]
            if not line.strip():
                index += 1
                continue
            indent = len(line) - len(line.lstrip())
            if indent <= header_indent or _YAML_TOOL_HEADER.match(line):
                break
            pair = _YAML_KEY_VALUE.match(line)
            if pair:
                key, raw_value = pair.groups()
                if key == "args" and raw_value.startswith("{"):
                    args.update(_flow_mapping(raw_value))
                elif key not in _RESERVED_YAML_KEYS:
                    args[key] = yaml_scalar(raw_value)
            index += 1
        recovered.calls.append(Step(name=header.group(2), args=args))
    return recovered


def _yaml_rationale(lines: list[str]) -> str | None:
    for position, line in enumerate(lines):
        match = _RATIONALE_LINE.match(line)
        if not match:
            continue
        value = match.group(1)
        if value in ("|", ">", "|-", ">-", ""):
            indent = len(line) - len(line.lstrip())
            block = []
            for follower in lines[position + 1 :]:
                if follower.strip() and len(follower) - len(follower.lstrip()) <= indent:
                    break
                block.append(follower.strip())
            value = ("\n" if value.startswith("|") else " ").join(part for part in block if part)
        rationale = yaml_scalar(value)
        if rationale is None:
            return None
        return str(rationale).strip() or None
    return None


def _split_top_level(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    for char in body:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return [part.strip() for part in parts]


def _flow_mapping(raw: str) -> dict:
    body = raw.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return {}
    mapping = {}
    for item in _split_top_level(body[1:-1]):
        key, separator, value = item.partition(":")
        if separator:
            mapping[key.strip().strip("\"'")] = yaml_scalar(value)
    return mapping


def yaml_scalar(raw: str):
    """A YAML-ish scalar: quoted string, [list], true/false, null/~, integer, float, else the raw text."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if value.startswith("[") and value.endswith("]"):
        return [yaml_scalar(item) for item in _split_top_level(value[1:-1])]
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~", "none"):
        return None
    if re.fullmatch(r"[-+]?\d+", value):
        return int(value)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", value):
        return float(value)
    return value
