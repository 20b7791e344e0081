"""Device errors: every capture device fails in one of these few, typed ways."""

from __future__ import annotations

from matching.exceptions import GuardidError


class DeviceError(GuardidError):
    """A capture device failed."""

    code = "device_error"


class DeviceNotConnected(DeviceError):
    """The device is absent, unplugged, or could not be opened."""

    code = "device_not_connected"


class CaptureTimeout(DeviceError):
    """No usable capture arrived within the timeout."""

    code = "capture_timeout"


class DeviceBusy(DeviceError):
    """Another capture is already running on this device."""

    code = "device_busy"
