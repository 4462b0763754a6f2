"""Request fields the submits share (media type, language codes, number of speakers): each one both
validates what the phone sends and describes it to the schema, refusing with the contract's codes."""

import re

from rest_framework import serializers

from apps.core.error_codes import ErrorCode
from apps.core.serializers import ContractField, json_integer
from apps.media.sources import AUTO_LANGUAGE, LANGUAGE_CODE_PATTERN, MEDIA_TYPES

SOURCE_LANGUAGE_PATTERN = r"^(?:auto|" + LANGUAGE_CODE_PATTERN.removeprefix("^").removesuffix("$") + r")$"
_LANGUAGE_CODE = re.compile(LANGUAGE_CODE_PATTERN)


def language_code_check(field: ContractField, code: str, *, allow_auto: bool = False) -> str:
    """A language code as sent (ISO 639 with optional region/script), or "auto" where allowed."""
    if allow_auto and code.lower() == AUTO_LANGUAGE:
        return AUTO_LANGUAGE
    if not _LANGUAGE_CODE.match(code):
        field.refuse(
            ErrorCode.UNSUPPORTED_LANGUAGE, f"{field.field_name} is not a supported language code (got {code!r})"
        )
    return code


class MediaTypeField(ContractField, serializers.ChoiceField):
    """VIDEO or AUDIO, any case and surrounding blanks; required."""

    def __init__(self, **kwargs):
        super().__init__(choices=MEDIA_TYPES, **kwargs)

    def parse(self, value):
        if not isinstance(value, str) or value.strip().upper() not in MEDIA_TYPES:
            self.refuse(ErrorCode.INVALID_MEDIA_TYPE, f"mediaType must be VIDEO or AUDIO (got {value!r})")
        return value.strip().upper()


class NumberOfSpeakersField(ContractField, serializers.IntegerField):
    """1..10 (a whole JSON number); absent or null is `default`."""

    def __init__(self, *, default_count: int | None, **kwargs):
        self.default_count = default_count
        super().__init__(min_value=1, max_value=10, required=False, allow_null=True, **kwargs)

    def parse(self, value):
        if value is None:
            return self.default_count
        if not json_integer(value) or not 1 <= value <= 10:
            self.refuse(ErrorCode.INVALID_NUMBER_OF_SPEAKERS, f"numberOfSpeakers must be in 1..10 (got {value!r})")
        return int(value)


class SourceLanguageField(ContractField, serializers.RegexField):
    """A language code or "auto"; required (blank or null refused)."""

    def __init__(self, **kwargs):
        super().__init__(SOURCE_LANGUAGE_PATTERN, help_text="ISO 639 code (region optional) or 'auto'", **kwargs)

    def parse(self, value):
        if value is not None and not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a string (got {value!r})")
        if not value or not value.strip():
            self.refuse(ErrorCode.SOURCE_LANGUAGE_REQUIRED, f"{self.field_name} is required")
        return language_code_check(self, value.strip(), allow_auto=True)


class OptionalSourceLanguageField(ContractField, serializers.CharField):
    """A language code or "auto"; blank or null is "auto"."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, help_text="Default 'auto'", **kwargs)

    def parse(self, value):
        if value is not None and not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a string or null (got {value!r})")
        return language_code_check(self, (value or "").strip() or AUTO_LANGUAGE, allow_auto=True)


class TargetLanguageField(ContractField, serializers.RegexField):
    """One language code; required (blank or null refused). With `code_checked_later`, the serializer
    calls `code_check` itself, where its contract puts that refusal among the others."""

    def __init__(self, *, code_checked_later: bool = False, **kwargs):
        self.code_checked_later = code_checked_later
        super().__init__(LANGUAGE_CODE_PATTERN, **kwargs)

    def parse(self, value):
        if value is not None and not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a string or null (got {value!r})")
        if not value or not value.strip():
            self.refuse(ErrorCode.TARGET_LANGUAGE_REQUIRED, f"{self.field_name} is required")
        return value.strip() if self.code_checked_later else self.code_check(value.strip())

    def code_check(self, code: str) -> str:
        return language_code_check(self, code)


class TargetLanguagesField(ContractField, serializers.ListField):
    """Distinct non-blank codes in the order sent; absent, null and null items are none."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.RegexField(LANGUAGE_CODE_PATTERN), required=False, allow_null=True, **kwargs)

    def parse(self, value):
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str | type(None)) for item in value):
            self.refuse(ErrorCode.INVALID_SPEC, f"{self.field_name} must be a list of language codes")
        codes = [item.strip() for item in value if item and item.strip()]
        return list(dict.fromkeys(language_code_check(self, code) for code in codes))
