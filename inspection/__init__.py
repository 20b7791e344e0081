"""Duty-post spot verification, electronic certificates, violation records."""
