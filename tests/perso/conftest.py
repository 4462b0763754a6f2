"""Fixtures of the Perso tests: the simulator (`perso_sim`) and speech media (`speech_wav`) come from
tests/conftest.py; `media_seq_factory` uploads the speech and returns a fresh mediaSeq."""

import pytest


@pytest.fixture
def media_seq_factory(perso_sim, speech_wav):
    from apps.perso.uploads import perso_upload_media

    def _upload() -> int:
        return perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)

    return _upload
