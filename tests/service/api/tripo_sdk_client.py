"""Drives the official Tripo SDK (tripo3d 0.3.x, unmodified) against a Meshsmith server.

Run as a script: ``python tripo_sdk_client.py BASE_URL API_KEY FRONT BACK OUT_DIR``; prints
one JSON object with what the SDK returned. It runs in its own process so that the SDK sees
the environment the acceptance test promises: ``TRIPO_DISABLE_GEO_DETECTION=1`` before the
import (no IP lookups), and no boto3 (the plain ``/upload`` path, as a ``pip install tripo3d``
without boto3 gives), whatever else the test environment has installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

os.environ["TRIPO_DISABLE_GEO_DETECTION"] = "1"
sys.modules["boto3"] = None  # type: ignore[assignment]  # import boto3 -> ImportError


async def main(base_url: str, api_key: str, front: str, back: str, out_dir: str
               ) -> dict[str, Any]:
    from tripo3d import TripoClient

    TripoClient.BASE_URL = base_url  # the SDK's only way to point elsewhere
    result: dict[str, Any] = {}
    async with TripoClient(api_key=api_key) as client:
        single = await client.image_to_model(front, face_limit=20_000)
        task = await client.wait_for_task(single, timeout=300)
        result["single"] = {"id": single, "status": str(task.status.value),
                            "progress": task.progress,
                            "files": await client.download_task_models(task, out_dir)}
        multi = await client.multiview_to_model([front, None, back, None], face_limit=20_000)
        task = await client.wait_for_task(multi, timeout=300)
        result["multi"] = {"id": multi, "status": str(task.status.value),
                           "files": await client.download_task_models(task, out_dir)}
        balance = await client.get_balance()
        result["balance"] = {"balance": balance.balance, "frozen": balance.frozen}
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:6]))))
