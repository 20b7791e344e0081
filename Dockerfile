# guardid service image. Build: docker build -t guardid .
# Run (production refuses generated secrets and the default SQLite path):
#   docker run -p 8000:8000 \
#     -e GUARDID_DATABASE_URL=postgresql+psycopg://guardid:...@db:5432/guardid \
#     -v /srv/guardid/keyring.json:/run/secrets/guardid-keyring.json:ro \
#     -v /srv/guardid/var:/app/var guardid
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md bootstrap.py ./
COPY api api
COPY biometrics biometrics
COPY cli cli
COPY devices devices
COPY enrollment enrollment
COPY fixtures fixtures
COPY inspection inspection
COPY matching matching
COPY registry registry
COPY reporting reporting
COPY violations violations
# dlib comes as the prebuilt dlib-bin wheel (no compiler, no 10-minute source build);
# the model weights come from the face-recognition-models wheel.
RUN python -m venv /opt/guardid \
 && /opt/guardid/bin/pip install --upgrade pip \
 && /opt/guardid/bin/pip install .

FROM python:3.11-slim-bookworm
# A font that prints Chinese for the PDF exports (archive, reports).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /app guardid
COPY --from=build /opt/guardid /opt/guardid
ENV PATH=/opt/guardid/bin:$PATH \
    GUARDID_ENV=production \
    GUARDID_VAR_DIR=/app/var \
    GUARDID_KEYRING_FILE=/run/secrets/guardid-keyring.json \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER guardid
RUN mkdir -p /app/var
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Worker processes: WEB_CONCURRENCY (the ASGI servers' usual name; not a guardid setting).
CMD ["sh", "-c", "guardid migrate && exec guardid serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-1}"]
