"""Capture devices: Camera and FingerprintScanner protocols and their drivers."""

from devices.autocapture import AutoCapture, auto_capture
from devices.base import Camera, FingerprintScanner
from devices.folder import FolderCamera, FolderScanner
from devices.libfprint import LibfprintScanner
from devices.opencv_camera import OpenCVCamera

__all__ = ["AutoCapture", "Camera", "FingerprintScanner", "FolderCamera", "FolderScanner",
           "LibfprintScanner", "OpenCVCamera", "auto_capture"]
