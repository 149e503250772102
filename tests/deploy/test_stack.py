"""`make stack`, the production topology on one machine: PostgreSQL, Redis, the local S3 (moto's server),
1 web (uvicorn) and 2 run_worker processes under honcho. A portrait is submitted over HTTP, followed on
its websocket (the events cross processes through Redis), and downloaded from the S3 server through the
presigned URL the API gives; the objects really are in the private bucket. A forgotten password is reset
with the link read from the stack's SMTP sink."""

from __future__ import annotations

import email
import email.policy
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from PIL import Image
from websockets.sync.client import connect

from apps.generation.models import GenerationJob
from apps.sessions_tokens.models import User
from tests.apps.generation.processes import (
    PROJECT,
    child_env,
    current_database_url,
    free_port,
    multipart,
    wait_for_http,
)
from tests.apps.generation.test_make_run import FINAL, astronaut_png

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(tmp_path, settings):
    """`make stack` on free ports and this test's database; yields (site address, S3 endpoint, bucket,
    path of the stack's output, the SMTP sink's folder)."""
    web, s3, smtp = free_port(), free_port(), free_port()
    mail = tmp_path / "mail"
    endpoint, bucket = f"http://127.0.0.1:{s3}", f"narcis-{uuid.uuid4().hex[:8]}"
    env = child_env(
        PORT=str(web),
        DATABASE_URL=current_database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
        # The day's per-address count lives in that shared Redis: reruns on one machine would use it up.
        GUEST_ALLOWANCES_PER_ADDRESS="100000",
        AWS_S3_ENDPOINT_URL=endpoint,
        NARCIS_S3_BUCKET=bucket,
        DISCORD_BOT_TOKEN=None,
        WEB_PORT=None,
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_DEFAULT_REGION=None,
        AWS_ENDPOINT_URL=None,
        EMAIL_BACKEND=None,
        EMAIL_HOST=None,
        EMAIL_PORT=str(smtp),
        STACK_MAIL_DIR=str(mail),
    )
    log = tmp_path / "stack.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "stack"],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{web}/health", timeout=180, process=process)
        yield f"127.0.0.1:{web}", endpoint, bucket, log, mail
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # honcho passes it on: every process stops
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        print(log.read_text()[-6000:])  # shown when the test fails


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="stack",
        aws_secret_access_key="stack",
    )


def wait_for_bucket(s3, bucket: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            s3.head_bucket(Bucket=bucket)
            return
        except (ClientError, OSError):
            assert time.monotonic() < deadline, "the local S3 never created its bucket"
            time.sleep(0.2)


def test_a_portrait_through_the_stack_lands_in_the_private_bucket(stack):
    site, endpoint, bucket, log, mail = stack
    s3 = s3_client(endpoint)
    wait_for_bucket(s3, bucket)
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(f"http://{site}/api/me", timeout=10) as response:
        assert json.load(response)["balance"] == 5
    cookies = {cookie.name: cookie.value for cookie in jar}
    body, content_type = multipart(
        {"idea": "corporate confidence"}, {"face": ("astronaut.png", astronaut_png(), "image/png")}
    )
    submit = urllib.request.Request(
        f"http://{site}/api/generations",
        data=body,
        headers={"Content-Type": content_type, "X-CSRFToken": cookies["csrftoken"]},
    )
    with browser.open(submit, timeout=10) as response:
        assert response.status == 201
        job_id = json.load(response)["id"]

    events = []
    # The submit started the guest session: its cookie came with the 201.
    cookie_header = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    with connect(
        f"ws://{site}/ws/generations/{job_id}/",
        additional_headers={"Cookie": cookie_header, "Origin": f"http://{site}"},
    ) as socket:
        while not events or (events[-1]["event"] not in FINAL and events[-1].get("status") not in FINAL):
            events.append(json.loads(socket.recv(timeout=120)))
    kinds = [event["event"] for event in events]
    assert kinds[-1] == "succeeded" and "progress" in kinds, kinds  # from a worker process, via Redis

    # Downloaded from the S3 server through the presigned URL; the same URL unsigned is refused.
    url = events[-1]["result_url"]
    assert url.startswith(f"{endpoint}/{bucket}/") and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert Image.open(response).format == "PNG"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.split("?")[0], timeout=10)
    assert refused.value.code == 403

    job = GenerationJob.objects.get(id=job_id)
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {job.face_image.name, job.result_image.name} <= keys
    grants = s3.get_object_acl(Bucket=bucket, Key=job.result_image.name)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers grant
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    reset_password_by_email(site, mail)
    # One web, two workers, the webhook delivery loop and the mail sink were serving.
    started = [line for line in Path(log).read_text().splitlines() if " started (pid=" in line]
    assert sorted(line.split("|")[1].split()[0] for line in started) == [
        "mail.1",
        "s3.1",
        "web.1",
        "webhooks.1",
        "worker.1",
        "worker.2",
    ]


def reset_password_by_email(site: str, mail: Path) -> None:
    """A forgotten password, reset against the running stack: the web process sends through SMTP to the
    sink, the link comes out of the message it wrote, and the new password logs in."""
    address, new_password = f"reset-{uuid.uuid4().hex[:8]}@example.com", "copper-meadow-signal-42"
    User.objects.create_user(email=address, password="the-forgotten-one-17")
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post(url: str, fields: dict) -> str:
        token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        form = urllib.request.Request(
            url, data=urllib.parse.urlencode(fields).encode(), headers={"X-CSRFToken": token}
        )
        with browser.open(form, timeout=10) as response:
            return response.geturl()

    browser.open(f"http://{site}/accounts/password/reset/", timeout=10).close()
    assert post(f"http://{site}/accounts/password/reset/", {"email": address}).endswith("/reset/sent/")
    deadline = time.monotonic() + 30
    while not (messages := [m for m in map(read_message, mail.glob("*.eml")) if m["To"] == address]):
        assert time.monotonic() < deadline, "no reset email reached the SMTP sink"
        time.sleep(0.2)
    link = re.search(r"http://\S+", messages[0].get_body(("plain",)).get_content()).group(0)
    with browser.open(link, timeout=10) as response:
        set_password = response.geturl()  # Django moves the token from the URL into the session
    fields = {"new_password1": new_password, "new_password2": new_password}
    assert post(set_password, fields).endswith("/accounts/password/reset/done/")
    assert post(f"http://{site}/accounts/login/", {"username": address, "password": new_password}).endswith(
        "/accounts/"
    )


def read_message(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
