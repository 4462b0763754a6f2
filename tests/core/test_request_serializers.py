"""apps/core/serializers.py: the first refusal in declared order answers, in the project's error shape."""

import pytest
from rest_framework import serializers

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.serializers import (
    ContractField,
    JsonFormItemSerializer,
    OptionalIntegerField,
    OptionalStringField,
    RequestSerializer,
)


class PositiveField(ContractField, serializers.IntegerField):
    def parse(self, value):
        if not isinstance(value, int) or value <= 0:
            self.refuse(ErrorCode.INVALID_NUMBER_OF_SPEAKERS, f"{self.field_name} must be > 0 (got {value!r})")
        return value


class Item(RequestSerializer):
    count = PositiveField()


class Body(JsonFormItemSerializer):
    first = PositiveField()
    name = OptionalStringField()
    size = OptionalIntegerField()
    items = serializers.ListField(child=Item(), required=False)

    def after_size(self, attrs):
        if attrs["size"] is not None and attrs["size"] < attrs["first"]:
            self.refuse(ErrorCode.INVALID_SPEC, "size must not be below first")


class PathBody(Body):
    error_paths = True


def _refusal(serializer_class, data) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        serializer_class.validated(data)
    return caught.value


def test_nulls_and_absent_keys_are_the_fields_defaults_and_unknown_keys_are_ignored():
    assert Body.validated({"first": 1, "name": None, "junk": [1]}) == {"first": 1, "name": None, "size": None}
    assert Body.validated({"first": 2, "name": "  x ", "size": 4.0})["name"] == "x"


def test_the_first_refused_field_in_declared_order_answers():
    refused = _refusal(Body, {"name": 5, "first": 0, "size": "big"})
    assert (refused.code, refused.detail) == ("invalid_number_of_speakers", "first must be > 0 (got 0)")
    refused = _refusal(Body, {"first": 1, "name": 5, "size": "big"})
    assert (refused.code, refused.detail) == ("invalid_spec", "name must be a string or null (got 5)")


def test_a_check_across_fields_runs_once_its_fields_are_read():
    assert _refusal(Body, {"first": 5, "size": 2, "items": "x"}).detail == "size must not be below first"


def test_a_refusal_inside_a_list_says_where_when_asked():
    data = {"first": 1, "items": [{"count": 1}, {"count": -1}]}
    assert _refusal(Body, data).detail == "count must be > 0 (got -1)"
    assert _refusal(PathBody, data).detail == "items[1].count must be > 0 (got -1)"


def test_a_drf_refusal_answers_the_serializers_code():
    refused = _refusal(Body, {"first": 1, "items": "x"})
    assert refused.code == "invalid_spec" and refused.detail.startswith("items: ")
    assert _refusal(Body, [1]).code == "invalid_spec"


@pytest.mark.parametrize(
    ("raw", "code", "detail"),
    [
        (None, "spec_required", "spec is required"),
        ("", "spec_required", "spec is required"),
        ("{x", "invalid_spec", "spec is not valid JSON"),
        ("[1]", "invalid_spec", "spec must be a JSON object"),
        ('{"first": NaN}', "invalid_spec", "spec is not valid JSON"),
        (b'{"first": 0}', "invalid_number_of_speakers", "first must be > 0"),
    ],
)
def test_the_form_item_is_read_as_a_json_object(raw, code, detail):
    with pytest.raises(BadRequest) as caught:
        Body.validated(Body.form_item_object(raw))
    assert caught.value.code == code and caught.value.detail.startswith(detail)
