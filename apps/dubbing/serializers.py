"""The autodub request: the JSON `spec` form item, validated and described by one serializer, and the
spec the service takes built from it."""

from apps.core.serializers import JsonFormItemSerializer, OptionalStringField
from apps.dubbing.services import AutoDubSpec
from apps.media.fields import MediaTypeField, NumberOfSpeakersField, SourceLanguageField, TargetLanguageField
from apps.perso.languages import perso_languages_check


class AutoDubSpecSerializer(JsonFormItemSerializer):
    """The JSON `spec` form item: explicit nulls accepted, unknown keys ignored."""

    builds = AutoDubSpec
    mediaType = MediaTypeField()
    sourceLanguageCode = SourceLanguageField()
    targetLanguageCode = TargetLanguageField(code_checked_later=True, help_text="Must differ from the source language")
    ttsModel = OptionalStringField(help_text="ELEVEN_V2 (natural) or ELEVEN_V3 (emotional); default natural")
    numberOfSpeakers = NumberOfSpeakersField(default_count=1)
    editedRenderJobId = OptionalStringField(help_text="A completed render of the caller; wins over `file`")

    def after_ttsModel(self, attrs):
        # The contract answers a ttsModel that is not a string before a malformed target code.
        attrs["targetLanguageCode"] = self.fields["targetLanguageCode"].code_check(attrs["targetLanguageCode"])

    def validate(self, attrs):
        perso_languages_check(source=attrs["sourceLanguageCode"], targets=[attrs["targetLanguageCode"]])
        return super().validate({**attrs, "ttsModel": attrs["ttsModel"].upper() if attrs["ttsModel"] else None})


def autodub_spec_from_request(request) -> AutoDubSpec:
    return AutoDubSpecSerializer.from_request(request)
