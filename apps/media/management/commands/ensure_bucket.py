"""`manage.py ensure_bucket`: creates the S3 bucket of STORAGE_BACKEND=s3 when it does not exist
(compose's one-shot `buckets` service; safe to run again)."""

import time

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError
from django.conf import settings
from django.core.management import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Creates the configured S3 bucket if it is missing."

    def handle(self, *args, **options):
        if settings.STORAGE_BACKEND != "s3":
            raise CommandError("STORAGE_BACKEND is not s3: there is no bucket to create")
        storage = settings.STORAGES["default"]["OPTIONS"]
        client = boto3.client(
            "s3",
            endpoint_url=storage["endpoint_url"],
            aws_access_key_id=storage["access_key"],
            aws_secret_access_key=storage["secret_key"],
            region_name=storage["region_name"],
        )
        bucket = storage["bucket_name"]
        deadline = time.monotonic() + 120  # the store may still be starting
        while True:
            try:
                client.head_bucket(Bucket=bucket)
                self.stdout.write(f"bucket {bucket} exists")
                return
            except ClientError:
                client.create_bucket(Bucket=bucket)
                self.stdout.write(f"bucket {bucket} created")
                return
            except EndpointConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
