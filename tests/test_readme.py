"""The README stays true: its configuration table names every setting, and the commands it
promises exist."""

import re
from pathlib import Path

from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_configuration_table():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `GUARDID_([A-Z0-9_]+)` \|", readme, flags=re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from README's configuration table"
    assert documented - fields == set(), "README documents settings that do not exist"


def test_quick_start_commands_exist():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
