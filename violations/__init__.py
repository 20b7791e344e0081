"""Violation and rectification records: the campaign table's columns 8-22."""
