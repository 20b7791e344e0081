"""/readyz says not ready, with a reason, while a gallery lags beyond the stated bound (time
or number of changes), and ready again once it catches up; /metrics shows the lag.

The writer is a second runtime on the same database (another replica, or the CLI importing
while the server runs); the app's listener is off, so only the pull would catch it up.
"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from api.app import create_app
from bootstrap import Runtime, session_factory
from fixtures.gallery_seed import seed_face_gallery
from tests.helpers import auth


def _app_runtime(runtime: Runtime, **bounds) -> Runtime:  # noqa: ANN003
    """A second runtime on the same database and keys, with its own galleries."""
    settings = runtime.settings.model_copy(update={"replica_listen": False, **bounds})
    return Runtime(settings=settings, engine=runtime.engine,
                   sessions=session_factory(runtime.engine), vault=runtime.vault)


def test_readyz_not_ready_while_a_gallery_lags_beyond_the_time_bound(runtime, keys):
    served = _app_runtime(runtime, replica_lag_max_s=0.2, replica_lag_max_changes=1000)
    with TestClient(create_app(runtime=served)) as c:
        assert c.get("/readyz").status_code == 200
        with runtime.sessions() as s:  # another process enrols 3 guards
            seed_face_gallery(s, runtime.vault, 3, seed=41)
        # Just committed: within the bound, no flapping.
        assert c.get("/readyz").status_code == 200
        time.sleep(0.3)
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["galleries"] == "lagging"
        assert "face gallery has not applied a change" in r.json()["reason"]
        text = c.get("/metrics", headers=auth(keys["admin"])).text
        assert 'guardid_gallery_lag_changes{modality="face"} 3.0' in text
        assert 'guardid_gallery_size{modality="face"} 0.0' in text
        with served.sessions() as s:  # the backstop pull (as before a search)
            served.face_gallery.catch_up(s, served.vault)
        r = c.get("/readyz")
        assert r.status_code == 200, r.json()
        text = c.get("/metrics", headers=auth(keys["admin"])).text
        assert 'guardid_gallery_size{modality="face"} 3.0' in text
        assert 'guardid_gallery_lag_changes{modality="face"} 0.0' in text


def test_readyz_not_ready_beyond_the_change_bound(runtime):
    served = _app_runtime(runtime, replica_lag_max_s=3600, replica_lag_max_changes=2)
    with TestClient(create_app(runtime=served)) as c:
        with runtime.sessions() as s:
            seed_face_gallery(s, runtime.vault, 2, seed=42)
        assert c.get("/readyz").status_code == 200  # at the bound, not beyond it
        with runtime.sessions() as s:
            seed_face_gallery(s, runtime.vault, 1, seed=43)
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["reason"] == "the face gallery is 3 changes behind (bound 2)"
