"""`guardid enrol import`: the same gate and de-duplication as a station, a per-item report,
and a run killed in the middle resumes without enrolling anyone twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

from sqlalchemy import func, select

from biometrics.models import Biometric
from registry.models import Guard
from tests.api.conftest import new_id
from tests.enrollment.conftest import finger_png
from tests.servers import ROOT


def write_batch(folder, face_jpeg, small_face_jpeg, rows=4):
    """A folder of files and mapping.csv: good rows, a bad photo, a duplicate person."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.jpg").write_bytes(face_jpeg)
    (folder / "small.jpg").write_bytes(small_face_jpeg)
    lines = []
    for i in range(rows):
        person = 900 + i
        for pos in (2, 7):
            (folder / f"p{i}_f{pos}.png").write_bytes(finger_png(10_000 + 10 * person + pos, 1))
        lines.append({"name": f"导入{i}", "id_number": new_id(101 + 2 * i), "district": "蓟州区",
                      "face": "good.jpg" if i != 1 else "small.jpg",
                      "finger_2": f"p{i}_f2.png", "finger_7": f"p{i}_f7.png"})
    with (folder / "mapping.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lines[0]))
        w.writeheader()
        w.writerows(lines)
    return folder / "mapping.csv"


def run(env, *args, wait=True):
    cmd = [sys.executable, "-m", "cli.main", "enrol", "import", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def count(runtime, table):
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_import_report_and_gate(env, runtime, tmp_path, face_jpeg, small_face_jpeg):
    mapping = write_batch(tmp_path / "batch", face_jpeg, small_face_jpeg, rows=3)
    proc = run(env, mapping)
    assert proc.returncode == 0, proc.stderr
    report = list(csv.DictReader((tmp_path / "batch" / "mapping.import-report.csv").open()))
    assert [r["status"] for r in report] == ["committed", "rejected", "review"]
    assert "face_too_small" in report[1]["detail"] or "incomplete" in report[1]["detail"]
    assert "possible duplicate" in report[2]["detail"]  # the same face as row 1
    assert report[0]["id_number_masked"].count("*") == 8
    assert count(runtime, Biometric) == 3  # one face + two fingers, row 1 only
    again = run(env, mapping)  # a re-run skips finished rows
    assert again.returncode == 0 and count(runtime, Guard) == 3


def test_killed_import_resumes_without_duplicates(env, runtime, tmp_path, face_jpeg,
                                                  small_face_jpeg):
    folder = tmp_path / "zipped"
    write_batch(folder, face_jpeg, small_face_jpeg, rows=4)
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"batch/{f.name}")
    state = tmp_path / "state.json"
    proc = run(env, archive, "--state", state, wait=False)
    for _ in range(600):  # kill -9 as soon as the first row is on record
        if state.exists() and json.loads(state.read_text() or "{}"):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done_before = len(json.loads(state.read_text()))
    assert 1 <= done_before < 4
    finished = run(env, archive, "--state", state)
    assert finished.returncode == 0, finished.stderr
    assert len(json.loads(state.read_text())) == 4
    assert count(runtime, Guard) == 4  # nobody twice, even for the row cut mid-way
    assert "4 rows" in finished.stdout
    report = list(csv.DictReader((tmp_path / "batch.import-report.csv").open()))
    assert len(report) == 4 and report[1]["status"] == "rejected"


def test_hostile_archive_is_refused(env, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escape.csv", "name\n")
    proc = run(env, archive)
    assert proc.returncode != 0 and "escapes" in proc.stderr
