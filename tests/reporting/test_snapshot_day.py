"""A daily coverage snapshot is kept forever as exact bytes: only a day that has ended may be
frozen (today's figures still change), by the API and by `guardid report snapshot`."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from tests.helpers import auth
from tests.servers import ROOT


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize("offset_days", [0, 1, 400])
def test_a_day_that_has_not_ended_is_not_frozen(client, keys, offset_days):
    day = (_today() + dt.timedelta(days=offset_days)).isoformat()
    r = client.post("/reports/coverage/snapshot", headers=auth(keys["police"]),
                    params={"date": day})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "day_not_ended"
    assert client.get("/reports/trend", headers=auth(keys["police"])).json() == []


def test_the_default_snapshot_is_yesterday(client, keys):
    r = client.post("/reports/coverage/snapshot", headers=auth(keys["police"]))
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == (_today() - dt.timedelta(days=1)).isoformat()


def test_cli_snapshot_defaults_to_the_last_ended_day(env):
    out = subprocess.run([sys.executable, "-m", "cli.main", "report", "snapshot"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["as_of"] == (_today() - dt.timedelta(days=1)).isoformat()
    today = subprocess.run([sys.executable, "-m", "cli.main", "report", "snapshot", "--date",
                            _today().isoformat()], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert today.returncode == 2 and "day_not_ended" in today.stderr
