"""S3-compatible object storage (``MESHSMITH_STORAGE=s3``), through boto3.

The same code path serves AWS S3 and any S3-compatible server (MinIO, Ceph, R2, or moto's
emulator in the tests): only ``MESHSMITH_S3_ENDPOINT_URL`` differs. Keys are the storage keys
of :mod:`meshsmith.service.storage` under an optional ``MESHSMITH_S3_PREFIX``. boto3 is
imported when an :class:`S3Storage` is built, never by the embedded default.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meshsmith.errors import ConfigurationError, ServiceUnavailableError
from meshsmith.service.settings import Settings
from meshsmith.service.storage import check_key

_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class S3Storage:
    """Blobs as objects in one bucket. Thread-safe (boto3 clients are)."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        assert settings.s3_bucket is not None  # the settings validator requires it
        self.bucket, self.prefix = settings.s3_bucket, settings.s3_prefix.strip("/")
        config = Config(s3={"addressing_style": settings.s3_addressing_style},
                        signature_version="s3v4",
                        connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
        self.client: Any = boto3.client(
            "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key, config=config)
        self.sts: Any = boto3.client(
            "sts", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key)
        #: ``host[:port]`` of the endpoint, as Tripo's STS answer names it (``s3_host``).
        self.host = urlsplit(settings.s3_endpoint_url or
                             f"https://s3.{settings.s3_region}.amazonaws.com").netloc

    def _key(self, key: str) -> str:
        name = check_key(key).as_posix()
        return f"{self.prefix}/{name}" if self.prefix else name

    def object_key(self, key: str) -> str:
        """The S3 object key of storage ``key`` (under ``MESHSMITH_S3_PREFIX``)."""
        return self._key(key)

    def storage_key(self, object_key: str) -> str | None:
        """The storage key of an S3 object key of this storage, or ``None`` for one
        outside its prefix."""
        if not self.prefix:
            return object_key
        head = f"{self.prefix}/"
        return object_key[len(head):] if object_key.startswith(head) else None

    def session_credentials(self, ttl_s: int) -> dict[str, str]:
        """Temporary credentials (STS ``GetSessionToken``, at the storage's endpoint) that a
        client may upload with: ``access_key_id``, ``secret_access_key``, ``session_token``.
        Raises :class:`ServiceUnavailableError` when the STS endpoint refuses or is down."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.sts.get_session_token(DurationSeconds=max(900, ttl_s))
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailableError(f"no upload credentials from STS: {exc}") from exc
        creds = answer["Credentials"]
        return {"access_key_id": creds["AccessKeyId"],
                "secret_access_key": creds["SecretAccessKey"],
                "session_token": creds["SessionToken"]}

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        self.client.upload_file(str(source), self.bucket, self._key(key))

    def read_bytes(self, key: str) -> bytes:
        return bytes(self._get(key)["Body"].read())

    def local_path(self, key: str) -> Path | None:
        return None

    def fetch_to(self, key: str, dest: Path) -> Path:
        """Download ``key`` to ``dest``; raises :class:`FileNotFoundError` if it is absent."""
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.bucket, self._key(key), str(dest))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise
        return dest

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix/`` (1000 per request)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix) + "/")
        for page in pages:
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": objects, "Quiet": True})

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        response = self._get(key)
        body = response["Body"]
        return int(response["ContentLength"]), body.iter_chunks(1 << 20)

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> str | None:
        """A presigned GET URL that downloads the object as ``filename``."""
        params = {"Bucket": self.bucket, "Key": self._key(key),
                  "ResponseContentDisposition": f'attachment; filename="{filename}"'}
        return str(self.client.generate_presigned_url("get_object", Params=params,
                                                      ExpiresIn=ttl_s))

    def check(self) -> None:
        """The bucket exists and these credentials reach it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ConfigurationError(
                    f"the S3 bucket {self.bucket!r} does not exist (create it first)") from exc
            raise ConfigurationError(f"the S3 bucket {self.bucket!r} is not usable: "
                                     f"{_code(exc)}") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailableError(f"S3 storage is unreachable: {exc}") from exc

    def _get(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return dict(self.client.get_object(Bucket=self.bucket, Key=self._key(key)))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(key) from exc
            raise


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))
