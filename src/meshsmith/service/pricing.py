"""What a task costs, from the configurable price table (``MESHSMITH_PRICE__*``).

* ``base`` for every task;
* ``texture`` when the model is textured;
* ``detailed_texture`` for a 4096 px texture;
* ``detailed_geometry`` for the ``1536pro`` resolution.

``quad``, ``smart_low_poly`` and ``parts`` are priced for the options that add them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshsmith.service.settings import PriceTable


def task_cost(options: Mapping[str, Any], prices: PriceTable) -> int:
    """Credits for a task with these stored options (see :func:`meshsmith.spec.spec_to_options`)."""
    cost = prices.base
    if options["texture"]:
        cost += prices.texture
        cost += prices.detailed_texture if options["texture_size"] >= 4096 else 0
    cost += prices.detailed_geometry if options["resolution"] == "1536pro" else 0
    cost += prices.quad if options.get("quad") else 0
    cost += prices.smart_low_poly if options.get("smart_low_poly") else 0
    cost += prices.parts if options.get("parts") else 0
    return cost
