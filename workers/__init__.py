"""The Celery side of the house: one module per worker type, each holding its thin tasks."""
