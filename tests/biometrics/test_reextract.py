"""Templates of an older extraction model are re-made from the stored images."""

import json
import os
import subprocess
import sys

from sqlalchemy import select

from biometrics.gallery import FingerGallery
from biometrics.models import Biometric, Modality, TemplateChange
from biometrics.purposes import FINGER_TEMPLATE_PURPOSE
from biometrics.reextract import stale
from matching.finger import MODEL_ID, FingerprintTemplate
from registry.models import AuditEntry
from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS
from tests.enrollment.conftest import finger_png, submit_fingers
from tests.enrollment.test_enrollment_api import face, open_for
from tests.helpers import auth

OLD_MODEL = "guardid_mcc_v1"


def _cli(runtime, *args):
    s = runtime.settings
    env = {**os.environ, "GUARDID_DATABASE_URL": s.database_url,
           "GUARDID_VAR_DIR": str(s.var_dir), "GUARDID_KEYRING_FILE": str(s.keyring_file),
           "GUARDID_ENV": "test",
           "GUARDID_FINGER_THRESHOLDS_FILE": str(SYNTHETIC_FINGER_THRESHOLDS)}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "finger", "reextract", "--json",
                           *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _fingers(runtime, guard_id):
    with runtime.sessions() as db:
        rows = db.scalars(select(Biometric).where(Biometric.guard_id == guard_id,
                                                  Biometric.modality == Modality.finger)
                          .order_by(Biometric.position)).all()
        return [(b.id, b.model_id, b.quality, FingerprintTemplate.from_bytes(
            runtime.vault.decrypt(db, b.template_enc, purpose=FINGER_TEMPLATE_PURPOSE)))
            for b in rows]


def test_old_model_templates_are_remade_from_their_images(client, keys, face_jpeg, runtime):
    st = keys["station"]
    s = open_for(client, st, 61)
    assert face(client, st, s["id"], face_jpeg).json()["passed"]
    submit_fingers(client, st, s["id"], 61)
    assert client.post(f"/enrollments/{s['id']}/commit", headers=auth(st)).json()[
        "status"] == "committed"
    fresh = _fingers(runtime, s["guard_id"])
    # Pretend the templates were made by the previous model: a few minutiae and its name.
    with runtime.sessions() as db:
        for bio_id, _, _, t in fresh:
            old = FingerprintTemplate(t.minutiae[:5], t.width, t.height, 1.0, OLD_MODEL,
                                      t.position)
            bio = db.get(Biometric, bio_id)
            bio.template_enc = runtime.vault.encrypt(db, old.to_bytes(),
                                                     purpose=FINGER_TEMPLATE_PURPOSE)
            bio.model_id, bio.quality = OLD_MODEL, 1.0
        db.commit()
        assert stale(db) == 2
        seq = db.scalar(select(TemplateChange.seq).order_by(TemplateChange.seq.desc()).limit(1))

    report = _cli(runtime, "--batch", "1")
    assert report == {"model_id": MODEL_ID, "reextracted": 2, "failed": {}, "remaining": 0}
    remade = _fingers(runtime, s["guard_id"])
    for (_, _, q0, t0), (_, model, q1, t1) in zip(fresh, remade, strict=True):
        assert model == MODEL_ID and q1 == q0
        assert t1.to_bytes() == t0.to_bytes()  # the same template a station would make now
    with runtime.sessions() as db:
        changes = db.scalars(select(TemplateChange).where(TemplateChange.seq > seq)).all()
        assert sorted(c.biometric_id for c in changes) == sorted(b[0] for b in fresh)
        assert {c.op for c in changes} == {"add"}
        audited = db.scalars(select(AuditEntry.resource_id).where(
            AuditEntry.action == "biometric.reextract")).all()
        assert sorted(audited) == sorted(str(b[0]) for b in fresh)
        # A gallery replaying the changes finds the guard with a new impression of a finger.
        gallery = FingerGallery(runtime.finger_engine)
        gallery.catch_up(db, runtime.vault)
    from matching.finger import decode_fingerprint

    probe = runtime.finger_engine.extract(decode_fingerprint(
        finger_png(10_000 + 10 * 61 + 2, 2), max_bytes=10**7, max_pixels=10**7))
    hits = gallery.index.search(probe, k=1)
    assert hits and gallery.owner[hits[0].id] == s["guard_id"]
    # Nothing left to do: a second run changes nothing.
    assert _cli(runtime) == {"model_id": MODEL_ID, "reextracted": 0, "failed": {},
                             "remaining": 0}
