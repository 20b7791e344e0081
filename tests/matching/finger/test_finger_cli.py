"""`guardid finger compare / extract` and `guardid eval finger` as a user runs them."""

from __future__ import annotations

import json

import cv2

from matching.finger import FingerprintTemplate
from tests.matching.face.test_face_cli import guardid


def test_eval_finger_on_a_small_fvc_style_folder(synthetic, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    for (f, i), img in synthetic.items():
        if f < 4:
            cv2.imwrite(str(folder / f"{f + 1}_{i + 1}.png"), img)
    proc = guardid("eval", "finger", "--dataset", folder, "--json",
                   "--save-thresholds", tmp_path / "t.json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["genuine_pairs"] == 4 * 3 and r["impostor_pairs"] == 6
    assert set(r["fnmr_at_fmr"]) == {"0.01", "0.001", "0.0001"} and r["fte_rate"] == 0
    assert r["eer"] < 0.2 and "first impressions" in r["protocol"]
    assert "finger_fmr_1e-2" in r["thresholds"]
    assert json.loads((tmp_path / "t.json").read_text())["model_id"] == r["model_id"]


def test_compare_and_extract(synthetic, tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.bmp", tmp_path / "c.png"
    cv2.imwrite(str(a), synthetic[(0, 0)])
    cv2.imwrite(str(b), synthetic[(0, 1)])
    cv2.imwrite(str(c), synthetic[(5, 0)])
    same = json.loads(guardid("finger", "compare", a, b, "--json", tmp_path=tmp_path).stdout)
    other = json.loads(guardid("finger", "compare", a, c, "--json", tmp_path=tmp_path).stdout)
    assert same["decision"] == "match" and other["decision"] == "no_match"
    assert same["threshold_name"] == "finger_fmr_1e-3"
    iso = tmp_path / "a.iso"
    out = json.loads(guardid("finger", "extract", a, "--iso", iso, "--json",
                             tmp_path=tmp_path).stdout)
    assert out["quality"] > 0 and len(out["minutiae"]) > 10
    assert len(FingerprintTemplate.from_iso19794_2(iso.read_bytes()).minutiae) == len(
        out["minutiae"])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    refused = guardid("finger", "extract", bad, tmp_path=tmp_path)
    assert refused.returncode == 2 and "image_unreadable" in refused.stderr
