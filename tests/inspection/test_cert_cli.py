"""`guardid cert sync` against a running server, then `guardid cert verify` with no server."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import auth
from tests.servers import ROOT


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
