"""One person, one ID number: every spelling of an identifier reaches the same record."""

import datetime as dt
import io

from openpyxl import Workbook

from registry import idnumber
from tests.enrollment.conftest import face_jpeg  # noqa: F401  (fixture)
from tests.helpers import auth

ASCII_ID = "120103198503041110"
FULL_WIDTH_ID = "１２０１０３１９８５０３０４１１１0"  # registered a second guard before (issue 18)
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _guard(client, token, number, name="一号", district="和平区"):
    return client.post("/guards", headers=auth(token),
                       json={"name": name, "id_number": number, "district": district})


def test_a_full_width_spelling_is_the_same_guard(client, keys):
    admin = keys["admin"]
    first = _guard(client, admin, ASCII_ID)
    assert first.status_code == 201, first.text
    second = _guard(client, admin, FULL_WIDTH_ID, name="二号")
    assert second.status_code == 409 and second.json()["code"] == "conflict"
    wide_x = _guard(client, admin, "\u3000" + ASCII_ID.translate(WIDE) + " ", name="三号")
    assert wide_x.status_code == 409
    for spelling in (FULL_WIDTH_ID, " 120103 19850304 1110 "):
        found = client.get("/guards", headers=auth(admin), params={"id_number": spelling})
        assert found.status_code == 200 and found.json()["total"] == 1
        assert found.json()["items"][0]["id"] == first.json()["id"]
    assert client.get("/guards", headers=auth(admin)).json()["total"] == 1


def test_digits_nfkc_does_not_fold_are_refused_everywhere(client, keys):
    arabic = ASCII_ID[:17].translate(ARABIC_INDIC) + ASCII_ID[17]  # old `\d` took it
    r = _guard(client, keys["admin"], arabic)
    assert r.status_code == 422 and r.json()["code"] == "invalid_id_number"
    r = client.post("/enrollments", headers=auth(keys["station"]),
                    json={"guard": {"name": "甲", "id_number": arabic, "district": "和平区"}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_id_number"
    r = client.get("/guards", headers=auth(keys["admin"]), params={"id_number": arabic})
    assert r.status_code == 422 and r.json()["code"] == "invalid_id_number"
    assert client.get("/guards", headers=auth(keys["admin"])).json()["total"] == 0


def test_enrolment_with_a_full_width_id_opens_the_existing_guard(client, keys):
    gid = _guard(client, keys["admin"], ASCII_ID).json()["id"]
    r = client.post("/enrollments", headers=auth(keys["station"]),
                    json={"guard": {"name": "一号", "id_number": FULL_WIDTH_ID,
                                    "district": "和平区"}})
    assert r.status_code == 201, r.text
    assert r.json()["guard_id"] == gid


def test_csv_and_xlsx_imports_canonicalise_id_and_licence_numbers(client, keys):
    admin = auth(keys["admin"])
    org = client.post("/organisations", headers=admin, json={
        "name": "津安保安", "org_type": "security_company", "licence_no": "ＴＪ－Ｌ－９",
        "licence_status": "licensed", "district": "和平区"})
    assert org.status_code == 201 and org.json()["licence_no"] == "TJ-L-9"
    again = client.post("/organisations", headers=admin, json={
        "name": "另一家", "org_type": "security_company", "licence_no": "tj-l-9",
        "licence_status": "licensed", "district": "和平区"})
    assert again.status_code == 409
    second = client.post("/organisations", headers=admin, json={
        "name": "另一家", "org_type": "security_company", "licence_no": "TJ-L-10",
        "licence_status": "licensed", "district": "和平区"}).json()
    patched = client.patch(f"/organisations/{second['id']}", headers=admin,
                           json={"licence_no": " ｔｊ－ｌ－９"})
    assert patched.status_code == 409
    _guard(client, keys["admin"], ASCII_ID)
    other = idnumber.make("120101", dt.date(1990, 5, 6), 12, male=True)
    csv = "\n".join(["姓名,身份证号,单位许可证号", f"甲,{FULL_WIDTH_ID},TJ-L-9",
                     f"乙,{other.translate(WIDE)},ｔｊ－ｌ－９"]).encode()
    report = client.post("/guards/import", headers=admin,
                         files={"file": ("g.csv", csv, "text/csv")}).json()
    assert (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["code"] == "conflict"
    wb = Workbook()
    wb.active.append(["name", "id_number", "district"])
    wb.active.append(["丙", other, "和平区"])  # the row above, now in ASCII
    buf = io.BytesIO()
    wb.save(buf)
    report = client.post("/guards/import", headers=admin, files={
        "file": ("g.xlsx", buf.getvalue(), "application/octet-stream")}).json()
    assert (report["created"], report["failed"]) == (0, 1)
    found = client.get("/guards", headers=admin, params={"id_number": other}).json()
    assert found["total"] == 1 and found["items"][0]["employer_id"] == org.json()["id"]


def test_certificate_numbers_have_one_spelling_in_every_lookup(client, keys):
    admin = auth(keys["admin"])
    gid = _guard(client, keys["admin"], ASCII_ID).json()["id"]
    r = client.post("/certificates", headers=admin,
                    json={"number": "tj-2026-00501", "guard_id": gid, "issue_date": "2026-01-05"})
    assert r.status_code == 201 and r.json()["number"] == "TJ-2026-00501"
    dup = client.post("/certificates", headers=admin,
                      json={"number": "ＴＪ－２０２６－００５０１", "guard_id": gid,
                            "issue_date": "2026-01-05"})
    assert dup.status_code == 409
    for spelling in ("ＴＪ－２０２６－００５０１", "tj-2026-00501", "TJ\u20132026\u201300501"):
        got = client.get(f"/certificates/{spelling}", headers=admin)
        assert got.status_code == 200 and got.json()["guard_id"] == gid, spelling
        assert client.get(f"/certificates/{spelling}/events", headers=admin).status_code == 200
    bad = client.get("/certificates/TJ-٢٠٢٦", headers=admin)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_certificate_number"
    token = client.post("/certificates/tj-2026-00501/ecert", headers=admin)
    assert token.status_code == 200 and token.json()["payload"]["cn"] == "TJ-2026-00501"
    suspended = client.post("/certificates/ｔｊ－２０２６－００５０１/suspend", headers=admin,
                            json={"reason": "核查"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"


def test_a_spot_check_finds_the_certificate_under_any_spelling(client, keys, face_jpeg):  # noqa: F811
    admin = auth(keys["admin"])
    gid = _guard(client, keys["admin"], ASCII_ID).json()["id"]
    client.post("/certificates", headers=admin,
                json={"number": "TJ-2026-00777", "guard_id": gid, "issue_date": "2026-01-05"})
    r = client.post("/inspections/verify", headers=auth(keys["inspector"]),
                    data={"certificate_number": "ｔｊ－２０２６－００７７７"},
                    files={"face": ("p.jpg", face_jpeg, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert "no_certificate" not in r.json()["failed_checks"]
    assert r.json()["certificate_number"] == "TJ-2026-00777"
