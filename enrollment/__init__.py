"""Enrollment stations: sessions, quality gate, 1:N de-duplication, review, archive."""
