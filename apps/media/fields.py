"""Request fields for language codes, shared by the endpoints that take a source or target language."""

from rest_framework import serializers

from apps.media.sources import LANGUAGE_CODE_PATTERN

SOURCE_LANGUAGE_PATTERN = r"^(?:auto|" + LANGUAGE_CODE_PATTERN.removeprefix("^").removesuffix("$") + r")$"


def language_code_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(LANGUAGE_CODE_PATTERN, **kwargs)


def source_language_field() -> serializers.RegexField:
    return serializers.RegexField(SOURCE_LANGUAGE_PATTERN, help_text="ISO 639 code (region optional) or 'auto'")
