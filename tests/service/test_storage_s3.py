"""S3 storage against moto's S3 emulator (``moto_server``) on loopback: the same boto3 calls
as against AWS S3."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.service.scale_services import bucket, moto_endpoint
from tests.service.server import free_port

from meshsmith.errors import ConfigurationError, ServiceUnavailableError
from meshsmith.service.settings import Settings
from meshsmith.service.storage import make_storage
from meshsmith.service.storage_s3 import S3Storage

__all__ = ["bucket", "moto_endpoint"]


def s3_settings(endpoint: str, bucket: str, **extra: object) -> Settings:
    return Settings(storage="s3", s3_endpoint_url=endpoint, s3_bucket=bucket,
                    s3_access_key_id="testing", s3_secret_access_key="testing", **extra)


def test_s3_storage_round_trips_streams_and_deletes_by_prefix(
        moto_endpoint: str, bucket: str, tmp_path: Path) -> None:
    storage = make_storage(s3_settings(moto_endpoint, bucket, s3_prefix="deploy1"))
    assert isinstance(storage, S3Storage)
    source = tmp_path / "model.glb"
    source.write_bytes(b"glTF" + bytes(range(256)) * 5000)
    storage.put_bytes("tasks/t1/a.txt", b"hello")
    storage.put_file("tasks/t1/model.glb", source)
    storage.put_bytes("tasks/t2/b.txt", b"kept")
    assert storage.read_bytes("tasks/t1/a.txt") == b"hello"
    assert storage.local_path("tasks/t1/a.txt") is None
    fetched = storage.fetch_to("tasks/t1/model.glb", tmp_path / "copy")
    assert fetched.read_bytes() == source.read_bytes()
    size, chunks = storage.stream("tasks/t1/model.glb")
    assert size == source.stat().st_size and b"".join(chunks) == source.read_bytes()
    listed = storage.client.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"] for o in listed} == {"deploy1/tasks/t1/a.txt", "deploy1/tasks/t1/model.glb",
                                          "deploy1/tasks/t2/b.txt"}
    storage.delete_prefix("tasks/t1")
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("tasks/t1/a.txt")
    with pytest.raises(FileNotFoundError):
        storage.fetch_to("tasks/t1/model.glb", tmp_path / "again")
    assert storage.read_bytes("tasks/t2/b.txt") == b"kept"


def test_presigned_url_downloads_the_object_without_credentials(
        moto_endpoint: str, bucket: str) -> None:
    storage = make_storage(s3_settings(moto_endpoint, bucket))
    storage.put_bytes("tasks/t/model.obj", b"v 0 0 0\n")
    url = storage.presigned_url("tasks/t/model.obj", 60, "model.obj")
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    assert "response-content-disposition=attachment" in url  # (moto does not echo it back)
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"v 0 0 0\n"
    # (moto's emulator does not verify signatures, so a forged URL is not tested here)


def test_check_names_a_missing_bucket_and_an_unreachable_endpoint(moto_endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="'no-such-bucket' does not exist"):
        make_storage(s3_settings(moto_endpoint, "no-such-bucket")).check()
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        make_storage(s3_settings(dead, "any")).check()


def test_s3_keys_that_escape_the_prefix_are_refused(moto_endpoint: str, bucket: str) -> None:
    storage = make_storage(s3_settings(moto_endpoint, bucket))
    with pytest.raises(ValueError, match="unsafe"):
        storage.put_bytes("../other/x", b"")
