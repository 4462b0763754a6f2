"""Serializers every job endpoint shares: the submit's answer and the fields every status carries.

A feature's status serializer subclasses one of the two status serializers and adds its own URL
fields; the view answers with a plain dict (`apps.jobs.endpoints.JobStatusApi.status_body`), so a
poll pays no serializer round-trip."""

from typing import Any

from rest_framework import serializers

from apps.jobs.public_status import COMPLETED_STATUSES, READY_STATUSES


class JobIdSerializer(serializers.Serializer[Any]):
    jobId = serializers.CharField()


# No docstrings below: drf-spectacular would print them into every subclass's schema.


class ReadyJobStatusSerializer(serializers.Serializer[Any]):
    jobId = serializers.CharField()
    status = serializers.ChoiceField(choices=READY_STATUSES)
    progress = serializers.IntegerField()
    progressReason = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class CompletedJobStatusSerializer(ReadyJobStatusSerializer):
    status = serializers.ChoiceField(choices=COMPLETED_STATUSES)
