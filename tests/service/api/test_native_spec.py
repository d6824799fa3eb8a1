"""The native request body becomes the internal spec: every field reaches it."""

from __future__ import annotations

from meshsmith.service.api.native import TaskRequest, build_spec
from meshsmith.spec import spec_to_options


def test_pbr_and_seeds_reach_the_spec_and_its_stored_options() -> None:
    body = TaskRequest(views={"front": "t"}, faces=2_000, pbr=False, model_seed=3,
                       texture_seed=4)
    options = spec_to_options(build_spec(body))
    assert (options["faces"], options["pbr"]) == (2_000, False)
    assert (options["model_seed"], options["texture_seed"]) == (3, 4)


def test_defaults_are_a_lit_pbr_material_and_no_seeds() -> None:
    options = spec_to_options(build_spec(TaskRequest(views={"front": "t"})))
    assert options["pbr"] is True and options["model_seed"] is None
