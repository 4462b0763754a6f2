"""The render input cache: a video (+ audios) uploaded once and reused by several renders."""

from django.conf import settings
from django.db import models


class RenderInput(models.Model):
    """One cached upload of one owner. Files live in storage under `render-inputs/<public_id>/`;
    `files` maps a file key (`video`, `audio_0`, …) to {storage_key, size, media}."""

    public_id = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="render_inputs")
    video_sha256 = models.CharField(max_length=64)
    files = models.JSONField(default=dict)
    video_size_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_access_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "video_sha256"], name="render_input_unique_per_owner_video"),
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def audio_count(self) -> int:
        return sum(1 for key in self.files if key != "video")
