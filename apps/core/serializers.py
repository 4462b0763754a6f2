"""Request serializers that both validate a request and describe it to drf-spectacular.

A `RequestSerializer` checks its fields one by one in declared order and stops at the first refusal,
which leaves as a 400 in the project's error shape: the refusal's code when it is a registered
`ErrorCode`, else the serializer's `error_code` with DRF's message. Unknown keys are ignored. A
`ContractField` decides itself what an absent key or an explicit null means (`parse` sees both as
None), so the phone's nulls never meet DRF's `required`/`null` refusals; its DRF base class and
arguments are what the schema shows.
"""

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.settings import api_settings

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.json_input import JsonInputError, json_loads_strict

REGISTERED_CODES = frozenset(code.value for code in ErrorCode)
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(name: str) -> str:
    """`sourceTrimStartMs` → `source_trim_start_ms`: a wire name as the Python name of what it fills."""
    return _WORD_START.sub("_", name).lower()


def camel_case(name: str) -> str:
    """`source_trim_start_ms` → `sourceTrimStartMs`: the wire name of what a Python name holds."""
    head, *words = name.split("_")
    return head + "".join(word.capitalize() for word in words)


def wire_fields(built: Any) -> dict[str, Any]:
    """The fields of a dataclass a serializer `builds`, by their wire (camelCase) names."""
    return {camel_case(field.name): getattr(built, field.name) for field in dataclasses.fields(built)}


def refusal(code: ErrorCode, message: str) -> serializers.ValidationError:
    return serializers.ValidationError(message, code=code)


def json_integer(value: object) -> bool:
    """A JSON number with no fraction (not a boolean, not a numeric string)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or value.is_integer()


class ContractField(serializers.Field):  # type: ignore[type-arg]
    """Mixed in before a DRF field class: `parse(value)` validates what was sent (None when absent)."""

    def run_validation(self, data: Any = empty) -> Any:
        return self.parse(None if data is empty else data)

    def parse(self, value: Any) -> Any:
        raise NotImplementedError

    def refuse(self, code: ErrorCode, message: str) -> NoReturn:
        raise refusal(code, message)


class OptionalField(ContractField):
    """Mixed in before a DRF field class: absent or null is None, anything else goes to `checked`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def parse(self, value: Any) -> Any:
        return None if value is None else self.checked(value)

    def checked(self, value: Any) -> Any:
        raise NotImplementedError


class OptionalStringField(OptionalField, serializers.CharField):
    """A string or null; stripped, blank → None."""

    def checked(self, value: Any) -> str | None:
        if not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a string or null (got {value!r})")
        return value.strip() or None


class OptionalIntegerField(OptionalField, serializers.IntegerField):
    """A whole JSON number (2.0 counts) or null."""

    def checked(self, value: Any) -> int:
        if not json_integer(value):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be an integer or null (got {value!r})")
        return int(value)


# Comments, not docstrings, on the base classes: drf-spectacular shows a serializer's docstring, inherited
# ones included, as the description of its component.


class RequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    # Fields in declared order, first refusal wins. `after_<field>(attrs)` runs once that field is in
    # `attrs`, for a check across the fields read so far; `validate(attrs)` runs after the last one.
    # With `error_paths`, a refusal inside a nested object says where (`segments[1].trimStartMs ...`).
    # With `builds`, the validated fields are passed to it by their snake_case names.

    error_code: ErrorCode = ErrorCode.VALIDATION_ERROR
    error_paths = False
    builds: Callable[..., Any] | None = None

    def not_an_object(self, data: object) -> serializers.ValidationError:
        message = self.error_messages["invalid"].format(datatype=type(data).__name__)
        return serializers.ValidationError({NON_FIELD: [message]})

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise self.not_an_object(data)
        attrs: dict[str, Any] = {}
        for field in self._writable_fields:
            name = str(field.field_name)
            try:
                value = field.run_validation(field.get_value(data))
                if hasattr(self, f"validate_{name}"):
                    value = getattr(self, f"validate_{name}")(value)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({name: exc.detail}) from exc
            except SkipField:
                continue
            self.set_value(attrs, field.source_attrs, value)
            if hasattr(self, f"after_{name}"):
                try:
                    getattr(self, f"after_{name}")(attrs)
                except serializers.ValidationError as exc:
                    if isinstance(exc.detail, dict):
                        raise
                    raise serializers.ValidationError({NON_FIELD: exc.detail}) from exc
        return attrs

    def validate(self, attrs: Any) -> Any:
        if self.builds is None:
            return attrs
        return self.builds(**{snake_case(name): value for name, value in attrs.items()})

    def refuse(self, code: ErrorCode, message: str) -> NoReturn:
        """A refusal of the object as a whole (a check across its fields)."""
        raise serializers.ValidationError({NON_FIELD: [message]}, code=code)

    def refuse_field(self, field_name: str, code: ErrorCode, message: str) -> NoReturn:
        """A refusal of one field found by a check across fields."""
        raise serializers.ValidationError({field_name: [message]}, code=code)

    def error_of(self, errors: Mapping[str, Any]) -> BadRequest:
        """The first refusal `errors` holds (to_internal_value stops at the first) as a BadRequest."""
        path, first = _first_detail(errors)
        code = str(getattr(first, "code", ""))
        if code in REGISTERED_CODES:
            return BadRequest(code, _located(path, str(first)) if self.error_paths else str(first))
        field_name, detail = next(iter(errors.items()))
        field = self.fields.get(field_name)
        return BadRequest(self.error_code, _flat(detail) if field is None else f"{field_name}: {_flat(detail)}")

    @classmethod
    def validated(cls, data: Any, **context: Any) -> Any:
        serializer = cls(data=data, context=context)
        if not serializer.is_valid():
            errors = serializer._errors  # type: ignore[attr-defined]  # a list when the object itself was refused
            raise serializer.error_of(errors if isinstance(errors, dict) else {NON_FIELD: errors})
        return serializer.validated_data


class JsonFormItemSerializer(RequestSerializer):
    # A JSON object sent as a multipart form item (`spec`; a small file part is accepted too).

    form_item_name = "spec"
    form_item_max_bytes = 64 * 1024
    required_code: ErrorCode = ErrorCode.SPEC_REQUIRED
    error_code: ErrorCode = ErrorCode.INVALID_SPEC
    invalid_json_code: ErrorCode = ErrorCode.INVALID_SPEC

    @classmethod
    def from_request(cls, request: Any, **context: Any) -> Any:
        return cls.validated(cls.form_item_object(cls.form_item_of(request)), **context)

    @classmethod
    def form_item_of(cls, request: Any) -> Any:
        return request.data.get(cls.form_item_name) or request.FILES.get(cls.form_item_name)

    @classmethod
    def form_item_absent(cls, raw: Any) -> bool:
        return raw is None or raw == ""

    @classmethod
    def form_item_object(cls, raw: Any) -> dict[str, Any]:
        """The form item (text, bytes or a file part) as a JSON object, refused with the item's codes."""
        name = cls.form_item_name
        if cls.form_item_absent(raw):
            raise BadRequest(cls.required_code, f"{name} is required")
        if hasattr(raw, "read"):
            raw = raw.read(cls.form_item_max_bytes + 1)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if len(raw) > cls.form_item_max_bytes:
            raise BadRequest(cls.error_code, f"{name} is too large")
        try:
            payload = json_loads_strict(raw)
        except JsonInputError as exc:
            raise BadRequest(cls.invalid_json_code, f"{name} is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise BadRequest(cls.error_code, f"{name} must be a JSON object")
        return payload


def _first_detail(detail: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], Any]:
    """(keys leading to it, the first ErrorDetail) of a DRF error structure."""
    while isinstance(detail, dict | list):
        if not detail:
            return path, ""
        if isinstance(detail, dict):
            key = next(iter(detail))
            path, detail = (*path, key), detail[key]
        else:
            detail = detail[0]
    return path, detail


def _located(path: tuple[Any, ...], message: str) -> str:
    """`message` prefixed with where it happened: a field's message names the field itself, an object's
    (non-field) message does not."""
    *parents, last = path or (NON_FIELD,)
    where = ""
    for key in parents:
        where += f"[{key}]" if isinstance(key, int) else (f".{key}" if where else key)
    if last == NON_FIELD or isinstance(last, int):
        if isinstance(last, int):
            where += f"[{last}]"
        return f"{where}: {message}" if where else message
    return f"{where}.{message}" if where else message


def _flat(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flat(item) for item in detail)
    return str(detail)
