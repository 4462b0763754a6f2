"""Driving the Gemini simulator over HTTP from tests."""

import requests


def gemini_sim_control(base_url: str, **body) -> dict:
    response = requests.post(f"{base_url}/sim/gemini/_control", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def gemini_sim_requests(base_url: str) -> list[dict]:
    response = requests.get(f"{base_url}/sim/gemini/_control", timeout=10)
    response.raise_for_status()
    return response.json()["requests"]
