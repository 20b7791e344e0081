"""The service's logging configuration: every logger writes JSON lines to stderr. Light to
import: `guardid serve` configures logging before the application is imported."""

from __future__ import annotations

import logging.config

# Loggers that get the one JSON handler; uvicorn's access log is off (AccessLogMiddleware
# logs each request by route template, never with its query string or the client address).
LOGGERS = ("guardid", "uvicorn", "uvicorn.error", "uvicorn.access")


def log_config(level: str) -> dict:
    """Return the logging configuration (dictConfig): every logger writes JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.middleware.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {name: {"handlers": ["stderr"], "propagate": False,
                           "level": level if name == "guardid" else "WARNING"}
                    for name in LOGGERS},
    }


def configure_logging(level: str) -> None:
    """Send every log record (guardid's, uvicorn's, libraries') to stderr as JSON lines."""
    logging.config.dictConfig(log_config(level))
