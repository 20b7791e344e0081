"""Reports on a small known world: every coverage figure and every table cell, today and on a
past day; frozen weeks reproduced byte for byte; exports read back; cells traced."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from fixtures import world
from tests.helpers import auth


@pytest.fixture
def ids(runtime):
    with runtime.sessions() as s:
        return world.build(s, runtime.vault)


def get(client, key, path, **params):
    r = client.get(path, headers=auth(key), params=params)
    assert r.status_code == 200, r.text
    return r


def test_coverage_now_and_on_a_past_day(client, keys, ids):
    past = get(client, keys["police"], "/reports/coverage", date="2026-11-10").json()
    assert past["total"] == {"on_duty": 6, "face": 3, "fingerprints": 2, "both": 2,
                             "rate": round(2 / 6, 4)}
    later = get(client, keys["police"], "/reports/coverage", date="2026-11-20").json()
    assert later["total"] == {"on_duty": 5, "face": 4, "fingerprints": 3, "both": 3,
                              "rate": 0.6}
    assert later["by_district"]["蓟州区"]["both"] == 2
    assert later["by_district"]["和平区"] == {"on_duty": 1, "face": 1, "fingerprints": 1,
                                            "both": 1, "rate": 1.0}
    assert later["by_employer_type"]["self_recruiting"]["both"] == 0
    missing = {m["guard_id"]: m["missing"] for m in later["missing"]}
    assert missing == {ids["g3"]: ["face", "fingerprints"], ids["g4"]: ["fingerprints"]}
    # Today and a past day come from the same dated spans: with no change since, they agree.
    today = get(client, keys["police"], "/reports/coverage").json()
    assert today["total"] == later["total"] and today["missing"] == later["missing"]
    assert today["by_employer"] == later["by_employer"]
    # before the exception was approved (day 10, 08:00) guard 2 lacked a finger
    early = get(client, keys["police"], "/reports/coverage", date="2026-11-09").json()
    assert early["total"]["fingerprints"] == 1
    mine = get(client, keys["district_police"], "/reports/coverage", date="2026-11-20").json()
    assert mine["unit"] == "蓟州区" and mine["total"]["on_duty"] == 4
    assert client.get("/reports/coverage", headers=auth(keys["district_police"]),
                      params={"district": "和平区"}).status_code == 403
    assert client.get("/reports/coverage", headers=auth(keys["inspector"])).status_code == 403


CITY_1120 = {1: 4, 2: 1, 3: 1, 4: 1, 5: 1, 6: 7, 7: 2, 8: 1, 9: 0, 10: 1, 11: 1, 12: 1, 13: 0,
             14: 0, 15: 1, 16: 3, 17: 0, 18: 0, 19: 5, 20: 2, 21: 1, 22: 0}
CITY_1110 = {**CITY_1120, 7: 3, 15: 0, 19: 0, 20: 0, 21: 0}
JIZHOU_1120 = {**CITY_1120, 1: 3, 5: 0, 6: 6, 8: 0, 19: 0}


@pytest.mark.parametrize(("date", "district", "expected"), [
    ("2026-11-20", None, CITY_1120), ("2026-11-10", None, CITY_1110),
    ("2026-11-20", "蓟州区", JIZHOU_1120)])
def test_every_cell_of_the_campaign_table(client, keys, ids, date, district, expected):
    params = {"date": date, **({"district": district} if district else {})}
    t = get(client, keys["police"], "/reports/campaign", **params).json()
    assert {int(k): v for k, v in t["cells"].items() if k != "23"} == expected
    assert t["period"] == {"from": "2026-11-01", "to": date}
    assert t["cells"]["23"] == ""  # 备注 is the filing unit's: no developer note in it
    assert t["unit"] == (district or "全市") and t["district"] == district


def test_cells_are_traceable_to_records(client, keys, ids):
    c = get(client, keys["police"], "/reports/campaign/cells/11", date="2026-11-20").json()
    assert c["value"] == 1 and c["records"] == [{"type": "violation",
                                                 "id": ids["v_unfiled_unit"]}]
    c16 = get(client, keys["police"], "/reports/campaign/cells/16", date="2026-11-20").json()
    assert c16["value"] == 3 and len(c16["records"]) == 1  # one record of three persons
    c7 = get(client, keys["police"], "/reports/campaign/cells/7", date="2026-11-20").json()
    assert {r["id"] for r in c7["records"]} == {ids["g1"], ids["g4"]}
    bad = client.get("/reports/campaign/cells/40", headers=auth(keys["police"]))
    assert bad.status_code == 404 and bad.json()["code"] == "unknown_column"


def test_frozen_week_is_reproduced_byte_for_byte(client, keys, ids, runtime):
    f = client.post("/reports/campaign/freeze", headers=auth(keys["police"]),
                    params={"date": "2026-11-22"}).json()
    assert f == {**f, "as_of": "2026-11-20", "new": True}  # the Friday before
    first = get(client, keys["police"], "/reports/campaign", date="2026-11-20")
    assert first.headers["x-guardid-frozen"] == "true"
    again = client.post("/reports/campaign/freeze", headers=auth(keys["police"]),
                        params={"date": "2026-11-20"}).json()
    assert again["new"] is False and again["sha256"] == f["sha256"]
    # A late record dated inside the frozen week changes the live table, not the frozen one.
    from violations.models import Violation, ViolationCategory, ViolationSource

    with runtime.sessions() as s:
        s.add(Violation(category=ViolationCategory.uniform, source=ViolationSource.manual,
                        district="蓟州区", persons=2, found_at=world.day(19),
                        recorded_by="late"))
        s.commit()
    frozen = get(client, keys["police"], "/reports/campaign", date="2026-11-20")
    assert frozen.content == first.content
    live = get(client, keys["police"], "/reports/campaign", date="2026-11-21").json()
    assert live["cells"]["16"] == 5


def test_exports_read_back_equal(client, keys, ids):
    t = get(client, keys["police"], "/reports/campaign", date="2026-11-20").json()
    book = load_workbook(io.BytesIO(get(client, keys["police"], "/reports/campaign",
                                        date="2026-11-20", format="xlsx").content))
    ws = book.active
    assert ws["A1"].value == "保安服务市场清理整顿专项行动统计表"
    assert "2026-11-20" in ws["A2"].value and "A1:X1" in {str(r) for r in ws.merged_cells}
    assert ws["B3"].value == "辖区摸底情况" and ws["I3"].value == "发现违法违规行为情况"
    assert ws["B4"].value == "使用保安单位（家）" and ws["Q4"].value.endswith("（人）")
    assert [ws.cell(row=5, column=n + 1).value for n in range(1, 23)] == [
        t["cells"][str(n)] for n in range(1, 23)]
    assert ws.cell(row=5, column=24).value is None  # 备注 left empty
    assert ws["A5"].value == "全市" and "填报单位：全市" in ws["A2"].value
    csv_rows = get(client, keys["police"], "/reports/campaign", date="2026-11-20",
                   format="csv").content.decode("utf-8-sig").splitlines()
    assert csv_rows[1].split(",")[2:24] == [str(t["cells"][str(n)]) for n in range(1, 23)]
    assert csv_rows[1].split(",")[0] == "全市"  # the unit's name, not "*"
    cov = get(client, keys["police"], "/reports/coverage", date="2026-11-20",
              format="csv").content.decode("utf-8-sig")
    assert "合计,5,4,3,3,0.6" in cov and "填报单位：全市" in cov
    assert "人像、指纹,2026-11-05 09:00\r\n" in cov  # no English, no seconds


def test_daily_snapshots_make_the_trend(client, keys, ids):
    for d in ("2026-11-10", "2026-11-20", "2026-11-20"):
        client.post("/reports/coverage/snapshot", headers=auth(keys["police"]),
                    params={"date": d})
    trend = get(client, keys["police"], "/reports/trend").json()
    assert [(p["as_of"], p["rate"]) for p in trend] == [("2026-11-10", round(2 / 6, 4)),
                                                        ("2026-11-20", 0.6)]


def test_report_cli_freezes_idempotently(ids, runtime, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS

    s = runtime.settings
    env = {**os.environ, "GUARDID_DATABASE_URL": s.database_url,
           "GUARDID_VAR_DIR": str(s.var_dir), "GUARDID_KEYRING_FILE": str(s.keyring_file),
           "GUARDID_ENV": "test",
           "GUARDID_FINGER_THRESHOLDS_FILE": str(SYNTHETIC_FINGER_THRESHOLDS)}
    cmd = [sys.executable, "-m", "cli.main", "report", "freeze", "--date", "2026-11-21"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["new"] and not b["new"] and a["sha256"] == b["sha256"]
    snap = subprocess.run([sys.executable, "-m", "cli.main", "report", "snapshot", "--date",
                           "2026-11-21"], env=env, capture_output=True, text=True, timeout=120)
    assert snap.returncode == 0 and json.loads(snap.stdout)["as_of"] == "2026-11-21"
    with runtime.sessions() as session:
        session.execute(text("DELETE FROM guard_spans"))
        session.commit()
    rebuilt = subprocess.run([sys.executable, "-m", "cli.main", "report", "rebuild"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["spans"] > 0
    with runtime.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM guard_spans")) == \
            json.loads(rebuilt.stdout)["spans"]


def test_trend_over_a_range_is_computed_from_history_without_snapshots(client, keys, ids):
    r = get(client, keys["police"], "/reports/trend", start="2026-11-09", end="2026-11-20")
    points = {p["as_of"]: p for p in r.json()}
    assert len(points) == 12 and not any(p["frozen"] for p in points.values())
    assert points["2026-11-10"]["rate"] == round(2 / 6, 4)
    assert points["2026-11-20"]["rate"] == 0.6
    year = get(client, keys["police"], "/reports/trend", start="2025-11-20",
               end="2026-11-20").json()
    assert len(year) <= 31 and year[-1] == points["2026-11-20"]
    assert year[0]["as_of"] == "2025-11-20" and year[0]["on_duty"] == 0
    client.post("/reports/coverage/snapshot", headers=auth(keys["police"]),
                params={"date": "2026-11-10"})
    again = get(client, keys["police"], "/reports/trend", start="2026-11-10",
                end="2026-11-10").json()
    assert again == [{**points["2026-11-10"], "frozen": True}]
    back = client.get("/reports/trend", headers=auth(keys["police"]),
                      params={"start": "2026-11-20", "end": "2026-11-09"})
    assert back.status_code == 422 and back.json()["code"] == "bad_range"
