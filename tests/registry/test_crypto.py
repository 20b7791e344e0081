import json
import os
import stat

import pytest

from cli.main import main as cli
from registry.crypto import Keyring, Vault
from registry.exceptions import ConfigurationError, CryptoError


def test_round_trip_and_purpose_binding(session, runtime):
    blob = runtime.vault.encrypt(session, b"secret face", purpose="face.image")
    assert b"secret face" not in blob
    assert runtime.vault.decrypt(session, blob, purpose="face.image") == b"secret face"
    with pytest.raises(CryptoError):
        runtime.vault.decrypt(session, blob, purpose="finger.image")


def test_tampered_or_truncated_ciphertext_is_refused(session, runtime):
    blob = bytearray(runtime.vault.encrypt(session, b"x" * 100, purpose="p"))
    blob[-5] ^= 1
    with pytest.raises(CryptoError):
        runtime.vault.decrypt(session, bytes(blob), purpose="p")
    with pytest.raises(CryptoError):
        runtime.vault.decrypt(session, bytes(blob[:10]), purpose="p")


def test_keyring_file_is_private(settings):
    ring = Keyring.open(settings.var_dir / "ring.json", create=True)
    mode = stat.S_IMODE(os.stat(ring.path).st_mode)
    assert mode == 0o600
    assert json.loads(ring.path.read_text())["active"] == "k1"


def test_production_refuses_a_missing_keyring(tmp_path):
    with pytest.raises(ConfigurationError):
        Keyring.open(tmp_path / "absent.json", create=False)


def test_master_rotation_rewraps_and_old_data_still_decrypts(session, runtime):
    blob = runtime.vault.encrypt(session, b"before rotation", purpose="p")
    session.commit()
    ring = runtime.vault.keyring
    old = ring.active
    ring.add_master_key()
    ring.save()
    fresh = Vault(Keyring.load(ring.path))
    assert fresh.rewrap_all(session) == 1
    session.commit()
    # Drop the old master key entirely: data must still decrypt through the re-wrapped DEK.
    ring.keys.pop(old)
    ring.save()
    after = Vault(Keyring.load(ring.path))
    assert after.decrypt(session, blob, purpose="p") == b"before rotation"


def test_rotation_commands_keep_the_service_data_readable(session, runtime, monkeypatch):
    blob = runtime.vault.encrypt(session, b"payload", purpose="p")
    session.commit()
    monkeypatch.setenv("GUARDID_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("GUARDID_KEYRING_FILE", str(runtime.settings.keyring_file))
    monkeypatch.setenv("GUARDID_VAR_DIR", str(runtime.settings.var_dir))
    from registry.settings import get_settings
    get_settings.cache_clear()
    try:
        assert cli(["keys", "rotate-master", "--retire-old"]) == 0
        assert cli(["keys", "rotate-data-key"]) == 0
    finally:
        get_settings.cache_clear()
    ring = Keyring.load(runtime.settings.keyring_file)
    assert list(ring.keys) == ["k2"]
    assert Vault(ring).decrypt(session, blob, purpose="p") == b"payload"
