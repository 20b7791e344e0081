"""ASGI entry point for uvicorn: ``uvicorn api.asgi:app``."""

from api.app import create_app
from registry.files import restrict_umask

restrict_umask()  # run directly under uvicorn too, every file the service writes is owner-only
app = create_app()
