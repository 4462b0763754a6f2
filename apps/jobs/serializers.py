"""Serializers every job endpoint shares."""

from typing import Any

from rest_framework import serializers


class JobIdSerializer(serializers.Serializer[Any]):
    jobId = serializers.CharField()
