"""The station agent: capture a guard's face and fingers, queue them, forward them.

Forwarding replays a bundle as the station API's steps (open, face, each finger, commit),
each with an idempotency key made from the bundle id, so a forward interrupted at any step
(server gone, station restarted) is simply run again: the server answers the steps it has
already done from its records and enrols nobody twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from devices.autocapture import auto_capture
from devices.queue import Bundle, OfflineQueue

TIMEOUT_S = 60.0


class ServerRefused(Exception):
    """The server answered a step with an error that a retry will not fix."""


@dataclass(frozen=True)
class Forwarded:
    """The outcome of forwarding one bundle."""

    bundle_id: str
    status: str  # committed | review | blocked
    guard_id: int
    session_id: int


class Forwarder:
    """Sends queued bundles to the server with idempotency keys."""

    def __init__(self, server: str, api_key: str, queue: OfflineQueue,
                 transport: httpx.BaseTransport | None = None):
        self.queue = queue
        self.client = httpx.Client(base_url=server, timeout=TIMEOUT_S, transport=transport,
                                   headers={"Authorization": f"Bearer {api_key}"})

    def _post(self, path: str, key: str, **kwargs: Any) -> dict:
        """POST one step; raise httpx errors for an unreachable server, ServerRefused on 4xx."""
        r = self.client.post(path, headers={"Idempotency-Key": key}, **kwargs)
        if r.status_code >= 500:
            raise httpx.HTTPStatusError("server error", request=r.request, response=r)
        if r.status_code >= 400:
            body = r.json()
            raise ServerRefused(f"{path}: {body.get('code')}: {body.get('message')}")
        return r.json()

    def forward(self, bundle: Bundle) -> Forwarded:
        """Run one bundle's steps; every step is safe to repeat."""
        k = bundle.id
        body = {"guard_id": bundle.guard_id} if bundle.guard_id else {"guard": bundle.guard}
        session = self._post("/enrollments", f"{k}:open", json=body)
        sid = session["id"]
        if bundle.face:
            self._post(f"/enrollments/{sid}/face", f"{k}:face",
                       files={"file": ("face.jpg", bundle.face)})
        for position, image in sorted(bundle.fingers.items()):
            self._post(f"/enrollments/{sid}/fingers/{position}", f"{k}:finger:{position}",
                       files={"file": (f"finger{position}.png", image)})
        out = self._post(f"/enrollments/{sid}/commit", f"{k}:commit")
        return Forwarded(k, out["status"], out["guard_id"], sid)

    def flush(self) -> tuple[list[Forwarded], int]:
        """Forward every queued bundle in order; return the results and how many remain.

        Stops at the first unreachable-server error (the rest wait for the next flush); a
        bundle the server refuses is set aside in ``failed/`` with the reason.
        """
        results = []
        for path in self.queue.pending():
            bundle = self.queue.load(path)
            try:
                results.append(self.forward(bundle))
            except (httpx.TransportError, httpx.HTTPStatusError):
                break
            except ServerRefused as exc:
                self.queue.fail(path, str(exc))
                continue
            self.queue.done(path)
        return results, len(self.queue.pending())


def capture_bundle(*, camera: Any, scanner: Any, face_engine: Any, finger_engine: Any,
                   guard: dict | None, guard_id: int | None, positions: list[int],
                   encode: Callable[[Any], bytes], encode_finger: Callable[[Any], bytes],
                   say: Callable[[str], None], timeout_s: float = 20.0) -> Bundle:
    """Capture the face (auto-capture with live feedback) and each finger into a bundle."""
    def feedback(analysis: Any) -> None:
        if analysis.template is None:
            say("face: " + "; ".join(r.advice for r in analysis.verdict.reasons))

    shot = auto_capture(camera, face_engine, timeout_s=timeout_s, on_frame=feedback)
    say(f"face: {'captured' if shot.passed else 'best frame kept (did not pass)'} "
        f"after {shot.frames_seen} frame(s)")
    bundle = Bundle(guard=guard, guard_id=guard_id, face=encode(shot.frame))
    for position in positions:
        image = scanner.capture(timeout_s=timeout_s)
        quality = finger_engine.analyze(image).template.quality
        say(f"finger {position}: quality {quality:.0f}")
        bundle.fingers[position] = encode_finger(image)
    return bundle
