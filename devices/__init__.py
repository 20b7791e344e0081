"""Capture devices: Camera and FingerprintScanner protocols and drivers."""
