"""The subtitles requests: the JSON `spec` form items of a submit and of a regenerate, validated and
described by the same serializers, and the specs the services take built from them."""

from apps.core.serializers import JsonFormItemSerializer, OptionalStringField
from apps.media.fields import MediaTypeField, NumberOfSpeakersField, SourceLanguageField, TargetLanguagesField
from apps.perso.languages import perso_languages_check
from apps.subtitles.services import SubtitleRegenerateSpec, SubtitleSpec


class SubtitleSpecSerializer(JsonFormItemSerializer):
    """The JSON `spec` form item: explicit nulls accepted, unknown keys ignored."""

    builds = SubtitleSpec
    mediaType = MediaTypeField()
    sourceLanguageCode = SourceLanguageField()
    targetLanguageCodes = TargetLanguagesField(help_text="Default: none (original only)")
    numberOfSpeakers = NumberOfSpeakersField(default_count=1)
    editedRenderJobId = OptionalStringField(help_text="A completed render of the caller; wins over `file`")

    def validate(self, attrs):
        perso_languages_check(source=attrs["sourceLanguageCode"], targets=attrs["targetLanguageCodes"])
        return super().validate(attrs)


class SubtitleRegenerateSpecSerializer(JsonFormItemSerializer):
    """The JSON `spec` form item of a regenerate: explicit nulls accepted, unknown keys ignored."""

    builds = SubtitleRegenerateSpec
    sourceLanguageCode = SourceLanguageField()
    targetLanguageCodes = TargetLanguagesField()

    def validate(self, attrs):
        perso_languages_check(source=attrs["sourceLanguageCode"], targets=attrs["targetLanguageCodes"])
        return super().validate(attrs)


def subtitle_spec_from_request(request) -> SubtitleSpec:
    """Every requested target is kept, the source's own language included: it gets a copy of the original."""
    return SubtitleSpecSerializer.from_request(request)


def regenerate_spec_from_request(request) -> SubtitleRegenerateSpec:
    return SubtitleRegenerateSpecSerializer.from_request(request)
