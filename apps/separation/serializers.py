"""The separation requests: the JSON `spec` form item of a submit and the JSON body of a stem mix,
validated and described by the same serializers, and what the services take built from them."""

import math
from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from apps.core.error_codes import ErrorCode
from apps.core.serializers import (
    ContractField,
    JsonFormItemSerializer,
    OptionalIntegerField,
    OptionalStringField,
    RequestSerializer,
)
from apps.media.fields import MediaTypeField, NumberOfSpeakersField, OptionalSourceLanguageField
from apps.perso.languages import perso_languages_check
from apps.separation.submits import SeparationSpec, StemVolume

NO_STEMS_MESSAGE = "stems must be a non-empty list of {stemId, volume}"


class SeparationSpecSerializer(JsonFormItemSerializer):
    """The JSON `spec` form item (the phone sends every key, nulls explicit); unknown keys ignored."""

    builds = SeparationSpec
    mediaType = MediaTypeField()
    numberOfSpeakers = NumberOfSpeakersField(default_count=None, help_text="A hint; Perso detects when null")
    sourceLanguageCode = OptionalSourceLanguageField()
    editedRenderJobId = OptionalStringField(help_text="A completed render of the caller; wins over `file`")
    trimStartMs = OptionalIntegerField(help_text="Both trim bounds or neither")
    trimEndMs = OptionalIntegerField()

    def validate_sourceLanguageCode(self, value):
        perso_languages_check(source=value)
        return value


def separation_spec_from_request(request) -> SeparationSpec:
    return SeparationSpecSerializer.from_request(request)


class StemIdField(ContractField, serializers.CharField):
    def parse(self, value):
        if not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_STEMS, "each stem needs a string stemId")
        return value


class VolumeField(ContractField, serializers.FloatField):
    """Null or absent is 1.0; a finite number is checked with its stemId, its range by stem_mix_submit."""

    def __init__(self):
        super().__init__(required=False, allow_null=True, default=1.0, min_value=0, max_value=2)

    def parse(self, value):
        return 1.0 if value is None else value


@extend_schema_serializer(component_name="InputSerializerStemVolume")
class StemVolumeSerializer(RequestSerializer):
    builds = StemVolume

    stemId = StemIdField()
    volume = VolumeField()

    def run_validation(self, data=empty):
        if not isinstance(data, Mapping):
            self.refuse(ErrorCode.INVALID_STEMS, "each stem needs a string stemId")
        return super().run_validation(data)

    def validate(self, attrs):
        volume = attrs["volume"]
        if isinstance(volume, bool) or not isinstance(volume, int | float) or not math.isfinite(volume):
            self.refuse(ErrorCode.INVALID_VOLUME, f"volume of {attrs['stemId']} must be a finite number")
        return super().validate({**attrs, "volume": float(volume)})


class StemVolumesField(ContractField, serializers.ListField):
    def __init__(self):
        super().__init__(child=StemVolumeSerializer())

    def parse(self, value):
        if not isinstance(value, list) or not value:
            self.refuse(ErrorCode.NO_STEMS, NO_STEMS_MESSAGE)
        return serializers.ListField.run_validation(self, value)


class StemMixSubmitInputSerializer(RequestSerializer):
    stems = StemVolumesField()

    def run_validation(self, data=empty):
        if not isinstance(data, Mapping):
            self.refuse(ErrorCode.NO_STEMS, NO_STEMS_MESSAGE)
        return super().run_validation(data)


def stem_volumes_from_request(request) -> list[StemVolume]:
    return StemMixSubmitInputSerializer.validated(request.data)["stems"]
