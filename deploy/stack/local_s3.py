"""make stack's S3: moto's server on the host and port of AWS_S3_ENDPOINT_URL, a real S3 API over HTTP
(objects in memory), with the private bucket NARCIS_S3_BUCKET created and its public access blocked, as
the production buckets are (deploy/terraform). Runs until SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import threading
from urllib.parse import urlsplit

import boto3
from moto.server import ThreadedMotoServer


def main() -> None:
    endpoint = os.environ["AWS_S3_ENDPOINT_URL"]
    bucket = os.environ["NARCIS_S3_BUCKET"]
    region = os.environ.get("AWS_S3_REGION_NAME") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    address = urlsplit(endpoint)
    server = ThreadedMotoServer(ip_address=address.hostname, port=address.port or 80, verbose=False)
    server.start()
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    print(f"local S3 on {endpoint}: bucket {bucket} (private, in memory)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
