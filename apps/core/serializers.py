"""Request serializers that both validate a request and describe it to drf-spectacular.

A `RequestSerializer` checks its fields one by one in declared order and stops at the first refusal,
which leaves as a 400 in the project's error shape: the refusal's code when it is a registered
`ErrorCode`, else the code the field maps DRF's own refusal to (`coded`), else the
serializer's `error_code` with DRF's message. Unknown keys are ignored. A `ContractField` decides itself what an absent
key or an explicit null means (`parse` sees both as None), so the phone's nulls never meet DRF's
`required`/`null` refusals; its DRF base class is what the schema shows.
"""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.json_input import JsonInputError, json_loads_strict

REGISTERED_CODES = frozenset(code.value for code in ErrorCode)
MAX_JSON_FORM_ITEM_BYTES = 64 * 1024


def refusal(code: ErrorCode, message: str) -> serializers.ValidationError:
    return serializers.ValidationError(message, code=code)


def coded(field: serializers.Field, code: ErrorCode, *drf_codes: str, detail: str | None = None):
    """`field`, whose DRF refusals named in `drf_codes` (`required`, `null`, `min_length`...) answer
    `code` with `detail` instead of the serializer's code with DRF's message."""
    field.contract_refusals = dict.fromkeys(drf_codes, (code, detail))  # type: ignore[attr-defined]
    return field


class ContractField(serializers.Field):
    """Mixed in before a DRF field class: `parse(value)` validates what was sent (None when absent)."""

    def run_validation(self, data=empty):
        return self.parse(None if data is empty else data)

    def parse(self, value):
        raise NotImplementedError

    def refuse(self, code: ErrorCode, message: str):
        raise refusal(code, message)


class OptionalStringField(ContractField, serializers.CharField):
    """A string or null; stripped, blank → None."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def parse(self, value):
        if value is None:
            return None
        if not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a string or null (got {value!r})")
        return value.strip() or None


class OptionalIntegerField(ContractField, serializers.IntegerField):
    """A whole JSON number (2.0 counts) or null."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def parse(self, value):
        if value is None:
            return None
        if not json_integer(value):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be an integer or null (got {value!r})")
        return int(value)


def json_integer(value) -> bool:
    """A JSON number with no fraction (not a boolean, not a numeric string)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or value.is_integer()


class RequestSerializer(serializers.Serializer):
    error_code: ErrorCode = ErrorCode.VALIDATION_ERROR

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            message = self.error_messages["invalid"].format(datatype=type(data).__name__)
            raise serializers.ValidationError({"non_field_errors": [message]})
        validated: dict = {}
        for field in self._writable_fields:
            field_validator = getattr(self, f"validate_{field.field_name}", None)
            try:
                value = field.run_validation(field.get_value(data))
                if field_validator is not None:
                    value = field_validator(value)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({field.field_name: exc.detail}) from exc
            except SkipField:
                continue
            self.set_value(validated, field.source_attrs, value)
        return validated

    def error_of(self, errors) -> BadRequest:
        """The one refusal `errors` holds (to_internal_value stops at the first) as a BadRequest."""
        field_name, detail = next(iter(errors.items()))
        first = _first_detail(detail)
        code = str(getattr(first, "code", ""))
        if code in REGISTERED_CODES:
            return BadRequest(code, str(first))
        field = self.fields.get(field_name)
        if code in getattr(field, "contract_refusals", {}):
            return BadRequest(*field.contract_refusals[code])
        return BadRequest(self.error_code, _flat(detail) if field is None else f"{field_name}: {_flat(detail)}")

    @classmethod
    def validated(cls, data, **context) -> dict:
        serializer = cls(data=data, context=context)
        if not serializer.is_valid():
            raise serializer.error_of(serializer.errors)
        return serializer.validated_data


class JsonFormItemSerializer(RequestSerializer):
    """A JSON object sent as a multipart form item (`spec`; a small file part is accepted too)."""

    form_item_name = "spec"
    required_code: ErrorCode = ErrorCode.SPEC_REQUIRED
    error_code: ErrorCode = ErrorCode.INVALID_SPEC

    @classmethod
    def from_request(cls, request, **context) -> dict:
        name = cls.form_item_name
        return cls.from_form_item(request.data.get(name) or request.FILES.get(name), **context)

    @classmethod
    def from_form_item(cls, raw, **context) -> dict:
        name = cls.form_item_name
        if raw is None or raw == "":
            raise BadRequest(cls.required_code, f"{name} is required")
        if hasattr(raw, "read"):
            raw = raw.read(MAX_JSON_FORM_ITEM_BYTES + 1)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if len(raw) > MAX_JSON_FORM_ITEM_BYTES:
            raise BadRequest(cls.error_code, f"{name} is too large")
        try:
            payload = json_loads_strict(raw)
        except JsonInputError as exc:
            raise BadRequest(cls.error_code, f"{name} is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise BadRequest(cls.error_code, f"{name} must be a JSON object")
        return cls.validated(payload, **context)


def _first_detail(detail):
    while isinstance(detail, dict | list):
        if not detail:
            return ""
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return detail


def _flat(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flat(item) for item in detail)
    return str(detail)
