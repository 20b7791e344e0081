"""Enrolled biometrics: the one owner of templates, images, the change feed and galleries."""
