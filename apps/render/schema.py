"""The OpenAPI description of `RenderConfig` (the `config` form item of POST /render).

Documentation only: parsing and validation live in apps/render/config.py (unknown keys are
ignored, explicit nulls accepted), so these serializers never touch a request.
"""

from rest_framework import serializers


class DubClipSchema(serializers.Serializer):
    audioFileKey = serializers.CharField(help_text="`audio_<i>`: a part sent with the request")
    startMs = serializers.IntegerField(min_value=0)
    durationMs = serializers.IntegerField(min_value=0, required=False, help_text="0 = the whole clip")
    volume = serializers.FloatField(min_value=0, max_value=2, required=False, default=1.0)


class SegmentSchema(serializers.Serializer):
    sourceFileKey = serializers.CharField(help_text="`video_<order>` or `segment_image_<order>`")
    type = serializers.ChoiceField(choices=["VIDEO", "IMAGE"])
    order = serializers.IntegerField(min_value=0)
    durationMs = serializers.IntegerField(min_value=0, required=False)
    trimStartMs = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    trimEndMs = serializers.IntegerField(min_value=0, required=False, allow_null=True, help_text="0 = to the end")
    width = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    height = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    imageXPct = serializers.FloatField(required=False, allow_null=True)
    imageYPct = serializers.FloatField(required=False, allow_null=True)
    imageWidthPct = serializers.FloatField(required=False, allow_null=True)
    imageHeightPct = serializers.FloatField(required=False, allow_null=True)
    volumeScale = serializers.FloatField(min_value=0, max_value=2, required=False, default=1.0)
    speedScale = serializers.FloatField(min_value=0.25, max_value=4, required=False, default=1.0)


class ImageClipSchema(serializers.Serializer):
    imageFileKey = serializers.CharField(help_text="`image_<i>`")
    startMs = serializers.IntegerField(min_value=0)
    endMs = serializers.IntegerField(min_value=0)
    xPct = serializers.FloatField(help_text="the sticker's centre, % of the frame width")
    yPct = serializers.FloatField(help_text="the sticker's centre, % of the frame height")
    widthPct = serializers.FloatField()
    heightPct = serializers.FloatField()


class FrameSchema(serializers.Serializer):
    width = serializers.IntegerField(min_value=2)
    height = serializers.IntegerField(min_value=2)
    backgroundColorHex = serializers.RegexField(r"^#?[0-9a-fA-F]{6}$", required=False, default="#000000")


class BgmClipSchema(serializers.Serializer):
    audioFileKey = serializers.CharField(help_text="`bgm_<i>`")
    startMs = serializers.IntegerField(min_value=0)
    volume = serializers.FloatField(min_value=0, max_value=2, required=False, default=1.0)
    speed = serializers.FloatField(min_value=0.25, max_value=4, required=False, default=1.0)


class StemSelectionSchema(serializers.Serializer):
    stemId = serializers.CharField()
    audioUrl = serializers.CharField(help_text="one of our signed stem URLs (any host prefix); never fetched")
    volume = serializers.FloatField(min_value=0, max_value=2, required=False, default=1.0)


class SeparationDirectiveSchema(serializers.Serializer):
    id = serializers.CharField()
    rangeStartMs = serializers.IntegerField(min_value=0)
    rangeEndMs = serializers.IntegerField(min_value=1)
    numberOfSpeakers = serializers.IntegerField(required=False, allow_null=True)
    muteOriginalSegmentAudio = serializers.BooleanField()
    selections = StemSelectionSchema(many=True, required=False)


class RenderConfigSchema(serializers.Serializer):
    dubClips = DubClipSchema(many=True, required=False)
    videoDurationMs = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="legacy mode")
    segments = SegmentSchema(many=True, required=False, allow_null=True)
    imageClips = ImageClipSchema(many=True, required=False)
    frame = FrameSchema(required=False, allow_null=True)
    bgmClips = BgmClipSchema(many=True, required=False)
    audioOverrideKey = serializers.CharField(required=False, allow_null=True)
    separationDirectives = SeparationDirectiveSchema(many=True, required=False)
    outputLanguageCode = serializers.CharField(required=False, default="original")
    outputKind = serializers.ChoiceField(choices=["video", "audio"], required=False, default="video")
    quality = serializers.ChoiceField(choices=["high", "medium", "low"], required=False, default="medium")
