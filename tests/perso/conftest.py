"""Fixtures of the Perso tests: the simulator (`perso_sim`) and speech media (`speech_wav`) come from tests/conftest.py."""
