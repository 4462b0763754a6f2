"""The dubbing tests share the subtitles tests' media and pipeline fixtures."""

from tests.subtitles.conftest import pipeline, speech_video  # noqa: F401
