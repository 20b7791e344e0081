"""/docs works offline: Swagger UI from the installed package (no CDN), "Authorize" takes an
API key, every operation names its roles and documents its errors as {code, message}."""

from __future__ import annotations

import re

from tests.browser import Browser


def test_docs_page_and_assets_are_served_by_the_app(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?'([^']+)'""", r.text)
    used = {u for pair in urls for u in pair if u}
    assert used and all(u.startswith("/") for u in used), used  # nothing from another host
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 500_000
    assert js.headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/docs/assets/../../app.py").status_code == 404
    assert client.get("/docs/assets/index.html").json()["code"] == "not_found"
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_every_operation_names_its_roles_and_error_shape(client):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-Api-Key"
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op["description"].startswith("**Roles:**"), where
            if path in ("/healthz", "/readyz"):
                assert op["security"] == [], where
                continue
            assert op["security"] == [{"bearer": []}, {"apiKey": []}], where
            for status in ("401", "403", "422"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), where
    missing = doc["paths"]["/reports/missing"]["get"]
    assert missing["x-roles"] == ["admin", "police"]
    assert missing["description"].startswith("**Roles:** admin, police.")


def test_swagger_ui_runs_offline_and_authorize_takes_a_key(server, keys, client, tmp_path):
    # Every host but the test server is unresolvable: a CDN asset could not load.
    page = Browser(("--window-size=1200,1400",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
    try:
        page.navigate(server + "/docs")
        page.wait_for("document.querySelector('.swagger-ui .info .title') !== null && "
                      "document.querySelectorAll('.opblock').length > 50", 60)
        page.eval("document.querySelector('.btn.authorize').click()")
        page.wait_for("document.querySelector('.modal-ux input[type=text], "
                      ".modal-ux input[type=password]') !== null")
        page.eval(f"window.guardidKey = {keys['police']!r}")
        page.eval("""(() => {
          const input = document.querySelector('.modal-ux .auth-container input');
          const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
          set.call(input, window.guardidKey);
          input.dispatchEvent(new Event('input', { bubbles: true }));
          document.querySelector('.modal-ux .auth-container button.authorize').click();
        })()""")
        authorized = page.wait_for("ui.authSelectors.authorized().toJS().bearer && "
                                   "ui.authSelectors.authorized().toJS().bearer.value")
        assert authorized == keys["police"]
        page.screenshot("docs-authorized.png")
    finally:
        page.close()
    _readme_commands_work(server, keys, client, tmp_path)


def _readme_commands_work(server, keys, client, tmp_path) -> None:  # noqa: ANN001
    """Every `curl` block of the README runs as written against the server (the demo keys
    file in its place, the server's address for the default one)."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    if not shutil.which("curl"):
        import pytest

        pytest.skip("curl is not installed")
    org = client.post("/organisations", headers={"Authorization": f"Bearer {keys['admin']}"},
                      json={"name": "甲保安公司", "org_type": "security_company",
                            "licence_status": "licensed", "district": "蓟州区"}).json()["id"]
    from tests.api.conftest import new_id

    client.post("/guards", headers={"Authorization": f"Bearer {keys['admin']}"},
                json={"name": "张测试", "id_number": new_id(77), "employer_id": org})
    here = tmp_path / "clone"
    (here / "var").mkdir(parents=True)
    (here / "var" / "demo-keys.txt").write_text(
        "".join(f"{role}\t{keys[role]}\n" for role in
                ("admin", "station", "inspector", "police", "auditor")))
    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", readme, flags=re.S) if "curl " in b]
    assert blocks, "the README has no curl example"
    for block in blocks:
        out = subprocess.run(["bash", "-euo", "pipefail", "-c",
                              block.replace("http://127.0.0.1:8000", server)],
                             cwd=here, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        assert [g["name"] for g in body["items"]] == ["张测试"], body


def test_guardid_help_is_written_for_a_user():
    from cli.main import build_parser

    text = build_parser().format_help()
    assert "biometric identity for licensed security guards" in text
    assert "guardid migrate" in text and "guardid serve" in text and "/docs" in text
    assert "``" not in text and "COMMANDS" not in text  # not the module's docstring
