"""ASGI entry point for uvicorn: ``uvicorn api.asgi:app``. The port is bound at once: the
application is imported and started in the background (api/starting.py)."""

from api.starting import StartingApp
from registry.files import restrict_umask


def _create_app():  # noqa: ANN202 - the FastAPI application, imported only here
    """Import and build the application."""
    from api.app import create_app

    return create_app()


restrict_umask()  # run directly under uvicorn too, every file the service writes is owner-only
app = StartingApp(_create_app)
