"""Settings: MESHSMITH_* variables, and refusing the default secret in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from meshsmith.service.settings import DEFAULT_SECRET, Settings


def test_production_mode_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="MESHSMITH_SECRET_KEY"):
        Settings(mode="production", secret_key=DEFAULT_SECRET)
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(mode="production", secret_key="short")
    assert Settings(mode="production", secret_key="x" * 40).mode == "production"


def test_environment_variables_are_read_with_the_meshsmith_prefix(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MESHSMITH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MESHSMITH_TASK_TIMEOUT_S", "120")
    monkeypatch.setenv("MESHSMITH_FETCH_ALLOW", '["127.0.0.1"]')
    settings = Settings()
    assert settings.data_dir == tmp_path and settings.task_timeout_s == 120
    assert settings.fetch_allow == ["127.0.0.1"]
    assert settings.db_url == f"sqlite:///{tmp_path.resolve() / 'meshsmith.db'}"


def test_embedded_defaults_stay_local_and_migrate_on_start() -> None:
    settings = Settings()
    assert (settings.queue, settings.storage, settings.broker_url) == ("local", "local", None)
    assert settings.auto_migrate


def test_scale_out_settings_need_their_broker_and_bucket() -> None:
    with pytest.raises(ValidationError, match="MESHSMITH_BROKER_URL"):
        Settings(queue="celery")
    with pytest.raises(ValidationError, match="redis://"):
        Settings(queue="celery", broker_url="amqp://127.0.0.1")
    with pytest.raises(ValidationError, match="MESHSMITH_S3_BUCKET"):
        Settings(storage="s3")
    scaled = Settings(queue="celery", broker_url="redis://127.0.0.1:6379/0")
    assert not scaled.auto_migrate  # `meshsmith db upgrade` migrates in scale-out mode
    assert Settings(queue="celery", broker_url="redis://h", migrate_on_start=True).auto_migrate
