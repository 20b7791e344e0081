"""`guardid cert sync` against a running server, then `guardid cert verify` with no server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import auth

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(runtime):
    s = runtime.settings
    return {**os.environ, "GUARDID_DATABASE_URL": s.database_url,
            "GUARDID_VAR_DIR": str(s.var_dir), "GUARDID_KEYRING_FILE": str(s.keyring_file),
            "GUARDID_ENV": "test"}


@pytest.fixture
def server(env):
    """A real `guardid serve` process on a free port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the server did not start: " + proc.stderr.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_offline_verification_follows_the_synced_revocation_list(client, keys, posted, server,
                                                                   env, tmp_path):
    token = client.post(f"/certificates/{posted.number}/ecert",
                        headers=auth(keys["station"])).json()["token"]
    state = tmp_path / "verifier"
    early = cli("cert", "verify", token, "--dir", str(state), env=env)
    assert early.returncode == 2 and "cert sync" in early.stderr
    synced = cli("cert", "sync", "--server", server, "--api-key", keys["inspector"],
                 "--dir", str(state), env=env)
    assert synced.returncode == 0, synced.stderr
    ok = cli("cert", "verify", token, "--dir", str(state), "--json", env=env)
    assert ok.returncode == 0 and '"valid": true' in ok.stdout
    client.post(f"/certificates/{posted.number}/revoke", headers=auth(keys["police"]),
                json={"reason": "dismissed"})
    stale = cli("cert", "verify", token, "--dir", str(state), env=env)
    assert stale.returncode == 0  # offline, it cannot know until it syncs
    assert cli("cert", "sync", "--server", server, "--api-key", keys["inspector"],
               "--dir", str(state), env=env).returncode == 0
    revoked = cli("cert", "verify", token, "--dir", str(state), env=env)
    assert revoked.returncode == 1 and "revoked" in revoked.stdout
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    bad = cli("cert", "verify", forged, "--dir", str(state), env=env)
    assert bad.returncode == 1 and "bad_signature" in bad.stdout
