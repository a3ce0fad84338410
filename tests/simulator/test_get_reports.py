"""getReports: the cheap read `rtsales doctor` makes to learn whether the app may read these reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .helpers import REPORTS, T0, Api

Check = Callable[[str, Any], None]
SALES = "GET_VENDOR_REAL_TIME_SALES_REPORT"


def _list(api: Api, **params: str) -> Any:
    return api.client.get(f"{REPORTS}/reports", params=params, headers=api.headers)


def test_get_reports_lists_newest_first_one_page(api: Api, check: Check) -> None:
    first = api.create(T0 - timedelta(hours=5), T0 - timedelta(hours=4)).json()["reportId"]
    api.clock.advance(timedelta(seconds=10))
    second = api.create(T0 - timedelta(hours=3), T0 - timedelta(hours=2)).json()["reportId"]
    response = _list(api, reportTypes=SALES, pageSize="1")
    assert response.status_code == 200, response.text
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0222"
    check("GetReportsResponse", response.json())
    assert [r["reportId"] for r in response.json()["reports"]] == [second]
    everything = _list(api, reportTypes=SALES).json()["reports"]
    assert [r["reportId"] for r in everything] == [second, first]
    assert _list(api, reportTypes="GET_VENDOR_REAL_TIME_TRAFFIC_REPORT").json() == {"reports": []}


def test_get_reports_refuses_what_amazon_refuses(api: Api) -> None:
    assert _list(api).status_code == 400  # neither reportTypes nor nextToken
    assert _list(api, reportTypes=SALES, pageSize="0").status_code == 400
    assert _list(api, reportTypes=SALES, pageSize="101").status_code == 400
    no_token = api.client.get(f"{REPORTS}/reports", params={"reportTypes": SALES})
    assert no_token.status_code == 403


def test_get_reports_has_its_own_usage_plan(api: Api) -> None:
    answers = [_list(api, reportTypes=SALES, pageSize="1").status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]
    assert api.create(T0 - timedelta(hours=2), T0 - timedelta(hours=1)).status_code == 202  # createReport untouched
