import io

from openpyxl import Workbook

from tests.api.conftest import new_id
from tests.helpers import auth


def test_csv_import_reports_bad_rows_and_keeps_good_ones(client, keys, world):
    good1, good2 = new_id(101), new_id(103)
    csv = "\n".join([
        "姓名,身份证号,单位许可证号,在岗状态,岗位",
        f"甲,{good1},JA-1,on_duty,北门",
        "乙,110105194912310021,JA-1,on_duty,南门",          # bad check digit
        f"丙,{new_id(105)},NO-SUCH,on_duty,东门",            # unknown employer
        f"丁,{good2},BA-2,off_duty,西门",
        f"戊,{new_id(1)},JA-1,on_duty,北门",                # already registered (world)
        f"己,{new_id(107)},JA-1,sleeping,北门",             # unknown enum
        f"庚,{good1},JA-1,on_duty,北门",                    # duplicate inside the file
    ]).encode("gb18030")  # how Excel in China saves CSV
    r = client.post("/guards/import", headers=auth(keys["admin"]),
                    files={"file": ("guards.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["total"], report["created"], report["failed"]) == (7, 2, 5)
    assert {e["row"]: e["code"] for e in report["errors"]} == {
        3: "invalid_id_number", 4: "unknown_employer", 6: "conflict", 7: "validation_failed",
        8: "conflict"}
    listed = client.get("/guards", headers=auth(keys["admin"])).json()
    assert listed["total"] == 3 + 2  # nothing half-written
    by_id = client.get("/guards", headers=auth(keys["admin"]), params={"id_number": good2})
    assert by_id.json()["items"][0]["name"] == "丁"


def test_xlsx_import_of_organisations(client, keys):
    wb = Workbook()
    ws = wb.active
    ws.append(["name", "org_type", "licence_no", "licence_status", "district"])
    ws.append(["甲公司", "security_company", "L-1", "licensed", "蓟州区"])
    ws.append(["乙公司", "nonsense", "L-2", "licensed", "蓟州区"])
    ws.append(["丙物业", "property_management", "L-1", "filed", "蓟州区"])  # licence taken
    ws.append(["丁单位", "self_recruiting", None, "unfiled", "和平区"])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/organisations/import", headers=auth(keys["admin"]),
                    files={"file": ("orgs.xlsx", buf.getvalue(), "application/octet-stream")})
    report = r.json()
    assert (report["created"], report["failed"]) == (2, 2)
    assert [e["row"] for e in report["errors"]] == [3, 4]
    assert client.get("/organisations", headers=auth(keys["admin"])).json()["total"] == 2


def test_unreadable_import_file_is_a_clear_error(client, keys):
    r = client.post("/organisations/import", headers=auth(keys["admin"]),
                    files={"file": ("x.xlsx", b"PK\x03\x04garbage", "application/octet-stream")})
    assert r.status_code == 400 and r.json()["code"] == "import_file_invalid"
    r = client.post("/organisations/import", headers=auth(keys["admin"]),
                    files={"file": ("x.csv", b"", "text/csv")})
    assert r.status_code == 422 and r.json()["code"] == "file_empty"
