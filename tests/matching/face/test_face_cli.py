"""`guardid eval face` and `guardid face compare` as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[3]


def guardid(*args, tmp_path):
    from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS

    env = {**os.environ, "GUARDID_VAR_DIR": str(tmp_path / "var"), "GUARDID_ENV": "test",
           "GUARDID_FINGER_THRESHOLDS_FILE": str(SYNTHETIC_FINGER_THRESHOLDS)}
    return subprocess.run([sys.executable, "-m", "cli.main", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def small_lfw(datasets, tmp_path):
    """Eight LFW identities with 3+ photos each, linked into a folder of their own."""
    images = datasets / "faces" / "lfw-dev" / "images"
    chosen = [d for d in sorted(images.iterdir()) if len(list(d.iterdir())) >= 3][:8]
    root = tmp_path / "faces"
    for d in chosen:
        (root / d.name).mkdir(parents=True)
        for f in sorted(d.iterdir())[:3]:
            (root / d.name / f.name).symlink_to(f)
    return root, chosen


def test_eval_face_json(small_lfw, tmp_path):
    """24 genuine pairs are reported, but calibrate no threshold: nothing is written."""
    root, chosen = small_lfw
    out = tmp_path / "cal.json"
    proc = guardid("eval", "face", "--dataset", root, "--impostors", 200, "--gate", "lenient",
                   "--json", "--save-thresholds", out, tmp_path=tmp_path)
    assert proc.returncode == 2 and "no threshold calibrated" in proc.stderr
    r = json.loads(proc.stdout)
    assert r["genuine_pairs"] == 8 * 3 and r["impostor_pairs"] == 200
    assert set(r["fnmr_at_fmr"]) == {"0.01", "0.001", "0.0001"}
    assert 0 <= r["fte_rate"] < 0.2 and r["eer"] < 0.15
    assert all(v is None for v in r["thresholds"].values())
    assert "genuine pairs, 100 needed" in r["calibration"]["refused"]["face_fmr_1e-2"]
    assert not out.exists()


def test_eval_face_refuses_a_gate_that_enrols_nothing(small_lfw, tmp_path):
    """The enrolment gate refuses every 150 px LFW photo: no -1.0 thresholds are written."""
    root, _ = small_lfw
    out = tmp_path / "cal.json"
    proc = guardid("eval", "face", "--dataset", root, "--impostors", 200,
                   "--save-thresholds", out, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert "no threshold calibrated" in proc.stderr and "nothing written" in proc.stderr
    assert "failure to enrol: 100.00%" in proc.stdout
    assert not out.exists()


def test_eval_face_with_pairs_file(small_lfw, tmp_path):
    root, chosen = small_lfw
    names = [d.name for d in chosen]
    lines = ["2\t4"]
    for fold in range(2):
        group = names[fold * 4:(fold + 1) * 4]
        lines += [f"{n}\t1\t2" for n in group]
        lines += [f"{group[i]}\t1\t{group[(i + 1) % 4]}\t2" for i in range(4)]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    proc = guardid("eval", "face", "--dataset", root, "--pairs", pairs, "--gate", "lenient",
                   "--json", tmp_path=tmp_path)
    assert proc.returncode == 2 and "no threshold calibrated" in proc.stderr  # 8 pairs
    r = json.loads(proc.stdout)
    assert r["genuine_pairs"] == 8 and r["impostor_pairs"] == 8
    assert r["lfw_accuracy"]["mean"] >= 0.75 and len(r["lfw_accuracy"]["folds"]) == 2


def test_face_compare(astronaut_big, tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.png"
    cv2.imwrite(str(a), cv2.cvtColor(astronaut_big, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(b), cv2.cvtColor(cv2.resize(astronaut_big, (900, 900)), cv2.COLOR_RGB2BGR))
    proc = guardid("face", "compare", a, b, "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["decision"] == "match" and r["threshold_name"] == "face_fmr_1e-3"
    small = tmp_path / "small.jpg"
    cv2.imwrite(str(small), cv2.cvtColor(cv2.resize(astronaut_big, (512, 512)),
                                         cv2.COLOR_RGB2BGR))
    refused = guardid("face", "compare", a, small, tmp_path=tmp_path)
    assert refused.returncode == 2 and "face_too_small" in refused.stderr
