"""Gemini worker (queue `gemini`): subtitle translation.

Start: celery -A vibi worker -Q gemini -n gemini@%h --concurrency 2 --prefetch-multiplier 1
"""
