"""Finger codes built in spawned processes (a big rebuild) are the bytes built in-process."""

from __future__ import annotations

from biometrics.codes import CodeBuilder
from matching.finger import FingerprintEngine
from matching.finger.index import CYLINDERS_PER_FINGER, codes
from tests.biometrics.test_snapshots import _fingers


def test_codes_built_in_processes_are_the_bytes_built_in_process():
    engine = FingerprintEngine()
    templates = _fingers(41)
    with CodeBuilder(engine.params, processes=2) as builder:
        got = builder.codes(templates, CYLINDERS_PER_FINGER)
    want = [codes(engine, t, CYLINDERS_PER_FINGER) for t in templates]
    assert len(got) == len(want) == 41
    assert all(g.shape == w.shape and g.tobytes() == w.tobytes()
               for g, w in zip(got, want, strict=True))
    assert sum(len(w) for w in want) > 41 * 10  # real codes, not empty arrays
