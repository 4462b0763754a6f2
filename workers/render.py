"""Render worker (queue `render`), run on render hosts: ffmpeg renders and stem mixes.

Start: celery -A vibi worker -Q render -n render@%h --concurrency $(nproc) --prefetch-multiplier 1
"""
