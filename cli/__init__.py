"""The guardid command line."""
