"""Shared helpers of the simulator tests: constants, an API client wrapper, and a small
JSON-schema validator (the draft-07 subset Amazon's schemas use)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from rtsales.clock import FrozenClock, iso
from rtsales.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, Simulator

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
REPORTS = "/reports/2021-06-30"
SPAPI_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "spapi"


class Api:
    """Thin calls to the simulator through httpx, as a client would make them."""

    def __init__(self, client: httpx.Client, clock: FrozenClock, sim: Simulator) -> None:
        self.client, self.clock, self.sim = client, clock, sim
        self._token: str | None = None

    def login(self, **overrides: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **overrides}
        return self.client.post("/auth/o2/token", data=form)

    @property
    def headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = self.login().json()["access_token"]
        return {"x-amz-access-token": self._token}

    def relogin(self) -> None:
        """Forget the access token (e.g. after simulated time passed its expiry)."""
        self._token = None

    def create(self, start: datetime | str, end: datetime | str, marketplace_id: str = US,
               **extra: Any) -> httpx.Response:
        body = {"reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "marketplaceIds": [marketplace_id],
                "dataStartTime": start if isinstance(start, str) else iso(start),
                "dataEndTime": end if isinstance(end, str) else iso(end), **extra}
        return self.client.post(f"{REPORTS}/reports", json=body, headers=self.headers)

    def report(self, report_id: str) -> httpx.Response:
        return self.client.get(f"{REPORTS}/reports/{report_id}", headers=self.headers)

    def document(self, document_id: str) -> httpx.Response:
        return self.client.get(f"{REPORTS}/documents/{document_id}", headers=self.headers)

    def finished_report(self, start: datetime, end: datetime, marketplace_id: str = US) -> dict[str, Any]:
        """Create a report, let 90 simulated seconds pass, return the Report object."""
        created = self.create(start, end, marketplace_id)
        assert created.status_code == 202, created.text
        self.clock.advance(timedelta(seconds=90))
        report: dict[str, Any] = self.report(created.json()["reportId"]).json()
        return report

    def download(self, document_id: str) -> httpx.Response:
        return self.client.get(self.document(document_id).json()["url"])


def gunzip_json(content: bytes) -> Any:
    return json.loads(gzip.decompress(content))


# -- the schema validator ---------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),),
}


def schema_errors(instance: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$") -> list[str]:
    """Errors of `instance` against `schema` for: $ref (#/definitions/...), type, enum,
    required, properties, items, minItems, maxItems."""
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/definitions/"), f"unsupported $ref {ref}"
        return schema_errors(instance, root["definitions"][ref.split("/")[-1]], root, where)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if isinstance(instance, bool) and "boolean" not in names:
            return [f"{where}: {instance!r} is not {schema['type']}"]
        if not any(isinstance(instance, _TYPES[name]) for name in names):
            return [f"{where}: {instance!r} is not {schema['type']}"]
    errors: list[str] = []
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{where}: {instance!r} not in {schema['enum']}")
    if isinstance(instance, dict):
        errors += [f"{where}: missing {name!r}" for name in schema.get("required", []) if name not in instance]
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                errors += schema_errors(instance[name], sub, root, f"{where}.{name}")
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0) or len(instance) > schema.get("maxItems", len(instance)):
            errors.append(f"{where}: {len(instance)} items is out of range")
        for index, item in enumerate(instance):
            errors += schema_errors(item, schema.get("items", {}), root, f"{where}[{index}]")
    return errors
