"""The real server process starts, answers /health, and stops cleanly."""

import json
import urllib.request


def test_health_over_real_http(server):
    with urllib.request.urlopen(server.url + "/health", timeout=5) as response:
        body = json.loads(response.read())
    assert response.status == 200
    assert body["status"] == "ok"
    assert body["quads"] > 0
