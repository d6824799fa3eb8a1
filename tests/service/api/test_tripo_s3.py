"""Tripo's STS upload path on S3 storage (moto's emulator on loopback): /upload/sts/token's
credentials upload an image, and ``file.object`` makes a task from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.service.scale_services import S3_CREDENTIALS, bucket, moto_endpoint
from tests.service.server import Server, running, wait_for

__all__ = ["bucket", "moto_endpoint"]

API = "/v2/openapi"
DUCK = Path(__file__).resolve().parents[3] / "examples" / "duck.png"


@pytest.fixture
def server(tmp_path: Path, moto_endpoint: str, bucket: str) -> Iterator[Server]:
    env = {"MESHSMITH_STORAGE": "s3", "MESHSMITH_S3_ENDPOINT_URL": moto_endpoint,
           "MESHSMITH_S3_BUCKET": bucket, "MESHSMITH_S3_PREFIX": "site1", **S3_CREDENTIALS}
    with running(tmp_path / "data", **env) as srv:
        yield srv


def _sts_upload(client: httpx.Client, data: bytes) -> dict[str, Any]:
    """What the official SDK does with boto3 (over http here: it always says https)."""
    import boto3

    answer = client.post(f"{API}/upload/sts/token", json={"format": "png"})
    assert answer.status_code == 200, answer.text
    sts = answer.json()["data"]
    assert set(sts) == {"s3_host", "resource_bucket", "resource_uri", "session_token",
                        "sts_ak", "sts_sk"}
    s3 = boto3.client("s3", endpoint_url=f"http://{sts['s3_host']}", region_name="us-east-1",
                      aws_access_key_id=sts["sts_ak"], aws_secret_access_key=sts["sts_sk"],
                      aws_session_token=sts["session_token"])
    s3.put_object(Bucket=sts["resource_bucket"], Key=sts["resource_uri"], Body=data)
    return {"bucket": sts["resource_bucket"], "key": sts["resource_uri"]}


def _task(client: httpx.Client, obj: dict[str, Any]) -> httpx.Response:
    return client.post(f"{API}/task", json={"type": "image_to_model", "face_limit": 20_000,
                                            "file": {"type": "png", "object": obj}})


def test_an_sts_upload_becomes_the_tasks_image(server: Server) -> None:
    with server.client(server.create_key()) as client:
        obj = _sts_upload(client, DUCK.read_bytes())
        assert obj["key"].startswith("site1/sts-uploads/")
        r = _task(client, obj)
        assert r.status_code == 200 and r.json()["code"] == 0, r.text
        task_id = r.json()["data"]["task_id"]
        wait_for(client, task_id, {"success"}, timeout=300)
        model = client.get(client.get(f"{API}/task/{task_id}").json()["data"]["output"]["model"])
    assert model.status_code == 200 and model.content[:4] == b"glTF"


def test_file_object_refuses_other_keys_objects_missing_ones_and_other_buckets(
        server: Server) -> None:
    with server.client(server.create_key()) as owner, \
            server.client(server.create_key()) as other:
        obj = _sts_upload(owner, DUCK.read_bytes())
        for bad in (obj, obj | {"key": obj["key"] + ".gone"}, obj | {"bucket": "elsewhere"}):
            r = _task(other if bad is obj else owner, bad)
            assert r.status_code == 400 and r.json()["code"] == 1004, r.text


def test_an_empty_sts_upload_is_2003_and_a_non_image_2004(server: Server) -> None:
    with server.client(server.create_key()) as client:
        assert _task(client, _sts_upload(client, b"")).json()["code"] == 2003
        assert _task(client, _sts_upload(client, b"not an image")).json()["code"] == 2004
