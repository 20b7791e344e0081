"""Encryption purposes of biometric blobs: each names what a ciphertext holds.

The purpose is bound into the envelope (registry.crypto), so a template can never be
decrypted as an image or a face as a finger. The strings are stored with every blob:
changing one makes the rows already written unreadable.
"""

FACE_TEMPLATE_PURPOSE = "biometric.face.template"
FACE_IMAGE_PURPOSE = "biometric.face.image"
FINGER_TEMPLATE_PURPOSE = "biometric.finger.template"
FINGER_IMAGE_PURPOSE = "biometric.finger.image"
# A gallery snapshot file (biometrics/snapshots.py): each chunk's purpose also names the file,
# the chunk's place and the chunk count, so chunks cannot be reordered, dropped or swapped.
GALLERY_SNAPSHOT_PURPOSE = "biometric.gallery.snapshot"
