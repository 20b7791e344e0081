"""The electronic guard certificate: signed tokens, QR codes, the printable card, the public
keys and the signed revocation list offline verifiers sync."""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import Literal

import segno
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.deps import Admin, RuntimeDep, SessionDep, VaultDep, role_dep
from inspection import certkeys
from inspection.schemas import TokenIn, TokenOut
from registry.fieldtypes import DbCount
from registry.models import Role

router = APIRouter(tags=["e-certificate"])
Issuer = role_dep(Role.admin, Role.station)
Reader = role_dep(Role.admin, Role.station, Role.inspector, Role.police)
# QR error correction "M" recovers ~15% damage: a worn printed card still scans.
QR_ERROR = "m"


@router.get("/certificates/keys")
def public_keys(session: SessionDep, actor: Reader):
    """Return the public keys that verify e-certificates (active and still-needed retired)."""
    return {"keys": certkeys.published_keys(session)}


@router.post("/certificates/keys/rotate")
def rotate_key(session: SessionDep, vault: VaultDep, actor: Admin):
    """Start signing with a new key; the old one stays published for its certificates."""
    row = certkeys.rotate(db_session=session, vault=vault, actor=actor)
    return {"kid": row.kid}


@router.get("/certificates/revocations")
def revocations(session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Reader,
                since: DbCount = 0):
    """Return the signed list of certificate status changes after event ``since``."""
    return certkeys.revocation_list(db_session=session, vault=vault,
                                    settings=runtime.settings, since=since)


@router.post("/certificates/verify-token")
def verify_token(body: TokenIn, session: SessionDep, actor: Reader):
    """Verify a token online: signature, expiry, and the certificate's current status
    (city-wide: a guard of another district on duty here verifies here)."""
    return certkeys.verify_online(db_session=session, token=body.token)


@router.post("/certificates/{number}/ecert", response_model=TokenOut)
def issue(number: str, session: SessionDep, vault: VaultDep, runtime: RuntimeDep,
          actor: Issuer):
    """Sign an e-certificate token for a valid certificate."""
    token, payload = certkeys.issue_token(db_session=session, vault=vault,
                                          settings=runtime.settings, actor=actor, number=number)
    return TokenOut(token=token, payload=payload)


@router.get("/certificates/{number}/qr")
def qr(number: str, session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Issuer,
       format: Literal["png", "svg"] = "png"):  # noqa: A002
    """Return a freshly signed e-certificate as a QR code (PNG or SVG)."""
    token, _ = certkeys.issue_token(db_session=session, vault=vault,
                                    settings=runtime.settings, actor=actor, number=number)
    buf = io.BytesIO()
    segno.make(token, error=QR_ERROR).save(buf, kind=format, scale=4, border=4)
    media = "image/png" if format == "png" else "image/svg+xml"
    return Response(buf.getvalue(), media_type=media)


@router.get("/certificates/{number}/card", response_class=HTMLResponse)
def card(number: str, session: SessionDep, vault: VaultDep, runtime: RuntimeDep,
         actor: Issuer):
    """Return a printable card: masked name, employer, validity and the QR code."""
    token, p = certkeys.issue_token(db_session=session, vault=vault,
                                    settings=runtime.settings, actor=actor, number=number)
    svg = segno.make(token, error=QR_ERROR).svg_inline(scale=3)
    until = dt.datetime.fromtimestamp(p["exp"], dt.UTC).date().isoformat()
    e = html.escape
    body = (f"<!doctype html><html lang='zh'><meta charset='utf-8'><title>保安员电子证</title>"
            "<style>body{font-family:sans-serif}.card{width:85.6mm;border:1px solid #333;"
            "border-radius:3mm;padding:4mm}h1{font-size:14pt;margin:0 0 2mm}"
            "p{margin:1mm 0;font-size:10pt}</style><div class='card'>"
            f"<h1>保安员电子证</h1><p>证号 <b id='number'>{e(p['cn'])}</b></p>"
            f"<p>姓名 {e(p['nm'])}</p><p>单位 {e(p['emp'] or '—')}</p>"
            f"<p>有效期至 {until}</p>{svg}</div></html>")
    return HTMLResponse(body)
