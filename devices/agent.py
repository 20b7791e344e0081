"""The station agent: capture a guard's face and fingers, queue them, forward them.

Forwarding replays a bundle as the station API's steps (open, face, each finger, commit),
each with an idempotency key made from the bundle id and revision, so a forward interrupted
at any step (server gone, station restarted) is simply run again: the server answers the
steps it has already done from its records and enrols nobody twice. A step the server
refuses sets the bundle aside in ``failed/`` with the server's code and message and
abandons the server session; the fixed bundle is re-queued as its next revision, whose new
keys open a new session for the same guard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from devices.autocapture import DEFAULT_MAX_FRAMES, auto_capture
from devices.exceptions import DeviceError
from devices.queue import Bundle, OfflineQueue
from matching.exceptions import ImageError

TIMEOUT_S = 60.0
# Impressions taken per finger before the capture is given up (the server allows as many).
FINGER_ATTEMPTS = 3


class ServerRefused(Exception):
    """The server answered a step with an error that a retry will not fix."""

    def __init__(self, step: str, status: int, code: str, message: str):
        super().__init__(f"{step}: {code}: {message}")
        self.step, self.status, self.code, self.message = step, status, code, message
        self.session_id: int | None = None
        self.session_abandoned = False

    def reason(self) -> dict:
        """Return the refusal as stored beside the failed bundle."""
        return {"step": self.step, "status": self.status, "code": self.code,
                "message": self.message, "session_id": self.session_id,
                "session_abandoned": self.session_abandoned}


class CaptureFailed(DeviceError):
    """No capture passed the gate within the attempts allowed; nothing was queued."""

    code = "capture_failed"


@dataclass(frozen=True)
class Forwarded:
    """The outcome of forwarding one bundle."""

    bundle_id: str
    status: str  # committed | review | blocked
    guard_id: int
    session_id: int
    review_case_id: int | None = None


@dataclass(frozen=True)
class Failed:
    """A bundle the server refused, set aside with the reason."""

    bundle_id: str
    reason: dict


@dataclass
class FlushReport:
    """What a flush sent, what the server refused, and how many still wait (offline)."""

    sent: list[Forwarded] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    remaining: int = 0


class Forwarder:
    """Sends queued bundles to the server with idempotency keys."""

    def __init__(self, server: str, api_key: str, queue: OfflineQueue,
                 transport: httpx.BaseTransport | None = None):
        self.queue = queue
        self.client = httpx.Client(base_url=server, timeout=TIMEOUT_S, transport=transport,
                                   headers={"Authorization": f"Bearer {api_key}"})

    def _post(self, path: str, key: str, step: str, **kwargs: Any) -> dict:
        """POST one step; raise httpx errors for an unreachable server, ServerRefused on 4xx."""
        r = self.client.post(path, headers={"Idempotency-Key": key}, **kwargs)
        if r.status_code >= 500:
            raise httpx.HTTPStatusError("server error", request=r.request, response=r)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {}
            raise ServerRefused(step, r.status_code, str(body.get("code", r.status_code)),
                                str(body.get("message", r.reason_phrase)))
        return r.json()

    def forward(self, bundle: Bundle) -> Forwarded:
        """Run one bundle's steps; every step is safe to repeat."""
        k = bundle.key
        body = {"guard_id": bundle.guard_id} if bundle.guard_id else {"guard": bundle.guard}
        sid = self._post("/enrollments", f"{k}:open", "open", json=body)["id"]
        try:
            if bundle.face:
                self._post(f"/enrollments/{sid}/face", f"{k}:face", "face",
                           files={"file": ("face.jpg", bundle.face)})
            for position, image in sorted(bundle.fingers.items()):
                self._post(f"/enrollments/{sid}/fingers/{position}", f"{k}:finger:{position}",
                           f"finger {position}",
                           files={"file": (f"finger{position}.png", image)})
            out = self._post(f"/enrollments/{sid}/commit", f"{k}:commit", "commit")
        except ServerRefused as exc:
            exc.session_id = sid
            exc.session_abandoned = self.abandon(sid, k, exc.code)
            raise
        return Forwarded(bundle.id, out["status"], out["guard_id"], sid,
                         out.get("review_case_id"))

    def abandon(self, session_id: int, key: str, reason: str) -> bool:
        """Close the server session of a refused bundle; False when that did not happen."""
        try:
            self._post(f"/enrollments/{session_id}/abandon", f"{key}:abandon", "abandon",
                       json={"reason": reason[:200]})
        except (httpx.TransportError, httpx.HTTPStatusError, ServerRefused):
            return False
        return True

    def flush(self) -> FlushReport:
        """Forward every queued bundle in order; report what was sent, refused and left.

        Stops at the first unreachable-server error (the rest wait for the next flush); a
        bundle the server refuses is set aside in ``failed/`` with the reason.
        """
        report = FlushReport()
        for path in self.queue.pending():
            bundle = self.queue.load(path)
            try:
                report.sent.append(self.forward(bundle))
            except (httpx.TransportError, httpx.HTTPStatusError):
                break
            except ServerRefused as exc:
                self.queue.fail(path, exc.reason())
                report.failed.append(Failed(bundle.id, exc.reason()))
                continue
            self.queue.done(path)
        report.remaining = len(self.queue.pending())
        return report


def capture_face(*, camera: Any, face_engine: Any, encode: Callable[[Any], bytes],
                 status: Callable[[str], None], timeout_s: float,
                 max_frames: int | None = None) -> bytes:
    """Auto-capture a face that passes the gate; raise CaptureFailed with the advice if none."""
    def feedback(analysis: Any) -> None:
        if analysis.template is None:
            status("face: " + "; ".join(r.advice for r in analysis.verdict.reasons))

    shot = auto_capture(camera, face_engine, timeout_s=timeout_s,
                        max_frames=max_frames or DEFAULT_MAX_FRAMES, on_frame=feedback)
    if not shot.passed:
        advice = "; ".join(r.advice for r in shot.analysis.verdict.reasons)
        raise CaptureFailed(f"no face photo passed the quality gate in {shot.frames_seen} "
                            f"frame(s): {advice}")
    status(f"face: captured after {shot.frames_seen} frame(s)")
    return encode(shot.frame)


def capture_fingers(*, scanner: Any, finger_engine: Any, positions: list[int],
                    encode_finger: Callable[[Any], bytes], say: Callable[[str], None],
                    timeout_s: float) -> dict[int, bytes]:
    """Capture one impression of each finger (the server judges them at forwarding); an
    impression with no print on it is taken again, FINGER_ATTEMPTS times at most."""
    out = {}
    for position in positions:
        for attempt in range(1, FINGER_ATTEMPTS + 1):
            image = scanner.capture(timeout_s=timeout_s)
            try:
                template = finger_engine.analyze(image, position=position).template
                break
            except ImageError as exc:
                say(f"finger {position}: {exc.message} (attempt {attempt} of "
                    f"{FINGER_ATTEMPTS}): place the finger flat on the glass")
        else:
            raise CaptureFailed(f"finger {position}: no print in {FINGER_ATTEMPTS} attempts")
        say(f"finger {position}: quality {template.quality:.0f}, "
            f"{len(template.minutiae)} minutiae")
        out[position] = encode_finger(image)
    return out


def capture_bundle(*, camera: Any, scanner: Any, face_engine: Any, finger_engine: Any,
                   guard: dict | None, guard_id: int | None, positions: list[int],
                   encode: Callable[[Any], bytes], encode_finger: Callable[[Any], bytes],
                   say: Callable[[str], None], status: Callable[[str], None],
                   timeout_s: float = 20.0, max_frames: int | None = None) -> Bundle:
    """Capture the face (auto-capture, live status line) and each finger into a bundle."""
    face = capture_face(camera=camera, face_engine=face_engine, encode=encode, status=status,
                        timeout_s=timeout_s, max_frames=max_frames)
    fingers = capture_fingers(scanner=scanner, finger_engine=finger_engine,
                              positions=positions, encode_finger=encode_finger, say=say,
                              timeout_s=timeout_s)
    return Bundle(guard=guard, guard_id=guard_id, face=face, fingers=fingers)
