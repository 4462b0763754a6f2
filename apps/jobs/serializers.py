"""Serializers every job endpoint shares."""

from rest_framework import serializers


class JobIdSerializer(serializers.Serializer):
    jobId = serializers.CharField()
