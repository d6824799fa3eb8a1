"""The price table applied to task options."""

from __future__ import annotations

from meshsmith.service.pricing import task_cost
from meshsmith.service.settings import PriceTable
from meshsmith.spec import GeometryOptions, TaskSpec, TextureOptions, spec_to_options


def _options(**kw: object) -> dict[str, object]:
    geometry = GeometryOptions(resolution=kw.pop("resolution", "1024"))  # type: ignore[arg-type]
    texture = TextureOptions(**kw)  # type: ignore[arg-type]
    return spec_to_options(TaskSpec(views={"front": "f.png"}, geometry=geometry,  # type: ignore[dict-item]
                                    texture=texture))


def test_default_prices_match_the_readme() -> None:
    prices = PriceTable()
    assert task_cost(_options(), prices) == 30
    assert task_cost(_options(enabled=False), prices) == 20
    assert task_cost(_options(size=4096), prices) == 40
    assert task_cost(_options(resolution="1536pro", size=4096), prices) == 60


def test_price_table_is_configurable_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from meshsmith.service.settings import Settings

    monkeypatch.setenv("MESHSMITH_PRICE__BASE", "5")
    monkeypatch.setenv("MESHSMITH_PRICE__TEXTURE", "1")
    assert task_cost(_options(), Settings().price) == 6
