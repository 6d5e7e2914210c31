"""Where run-failure alerts go: a JSON-lines log file, or an HTTP webhook when one is set."""

import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

from scheduling import settings

log = logging.getLogger("warehouse.alerts")

WEBHOOK_TIMEOUT_SECONDS = 10


def send_alert(alert: dict[str, Any]) -> str:
    """Deliver ``alert`` to the configured sink; return where it went (a URL or a file path).

    With ``WAREHOUSE_ALERT_WEBHOOK_URL`` set it is POSTed there as JSON (an error is raised if
    the endpoint does not accept it, so the sensor's tick shows the failure); else it is
    appended as one JSON line to ``WAREHOUSE_ALERT_LOG`` (``data/dagster/alerts.log``).
    """
    body = json.dumps(alert, sort_keys=True, default=str)
    url = settings.alert_webhook_url()
    if url:
        request = urllib.request.Request(
            url,
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            log.info("alert posted to %s (HTTP %s)", url, response.status)
        return url
    path: Path = settings.alert_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(body + "\n")
    return str(path)
