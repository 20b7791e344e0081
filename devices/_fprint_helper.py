"""libfprint 2 captures, run by the system Python that has GObject introspection (python3-gi).

Kept to the standard library and ``gi`` on purpose: guardid's own virtualenv does not carry
PyGObject (it builds from source), so ``devices.libfprint`` starts this file with the system
interpreter and talks to it over pipes. Protocol, one request per line on stdin:

    capture <timeout_s>   ->  {"ok": true, "width": W, "height": H, "ppmm": P, "bytes": N}
                              followed by N bytes of 8-bit grey pixels, or {"error": code, ...}
    close                 ->  exits
On start it prints {"ok": true, "driver": ..., "name": ...} or {"error": ...}.
"""

import json
import sys
import threading


def _say(obj, payload=b""):
    out = sys.stdout.buffer
    out.write(json.dumps(obj).encode() + b"\n" + payload)
    out.flush()


def main():
    try:
        import gi

        gi.require_version("FPrint", "2.0")
        from gi.repository import FPrint, Gio, GLib
    except (ImportError, ValueError) as exc:
        _say({"error": "device_not_connected", "message": f"libfprint 2 not available: {exc}"})
        return 2
    ctx = FPrint.Context()
    ctx.enumerate()
    devices = [d for d in ctx.get_devices() if d.has_feature(FPrint.DeviceFeature.CAPTURE)]
    if not devices:
        _say({"error": "device_not_connected", "message": "no fingerprint reader that can "
              "capture images was found"})
        return 2
    dev = devices[0]
    try:
        dev.open_sync(None)
    except GLib.Error as exc:
        code = "device_busy" if "busy" in exc.message.lower() else "device_not_connected"
        _say({"error": code, "message": exc.message})
        return 2
    _say({"ok": True, "driver": dev.get_driver(), "name": dev.get_name()})
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "close":
            break
        cancel = Gio.Cancellable()
        timer = threading.Timer(float(words[1]) if len(words) > 1 else 15.0, cancel.cancel)
        timer.start()
        try:
            img = dev.capture_sync(True, cancel)
            data = bytes(img.get_data())
            _say({"ok": True, "width": img.get_width(), "height": img.get_height(),
                  "ppmm": img.get_ppmm(), "bytes": len(data)}, data)
        except GLib.Error as exc:
            code = "capture_timeout" if cancel.is_cancelled() else "device_error"
            _say({"error": code, "message": exc.message})
        finally:
            timer.cancel()
    dev.close_sync(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
