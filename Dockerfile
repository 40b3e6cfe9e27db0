# guanjia: one image for the web app, the Celery workers, beat and the migration job.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GUANJIA_MODE=production \
    GUANJIA_INSTANCE_DIR=/var/lib/guanjia

WORKDIR /src
RUN useradd --system --home-dir /var/lib/guanjia --create-home guanjia

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY server/__init__.py server/__init__.py
COPY workers/__init__.py workers/__init__.py
RUN pip install --upgrade pip "setuptools>=70.1" && pip install .

# The application as a wheel, installed non-editable: the shipped processes, forms and browser
# bundles (frontend/dist) travel inside it (<prefix>/share/guanjia), so nothing is read from a
# checkout (tests/test_packaging.py installs the same wheel in a fresh venv outside the
# checkout, runs a case there and fetches a bundle).
COPY server server
COPY workers workers
COPY processes processes
COPY forms forms
COPY frontend/dist frontend/dist
RUN pip wheel --no-deps --no-build-isolation -w /tmp/wheels . \
    && pip install --no-deps --force-reinstall /tmp/wheels/guanjia-*.whl \
    && rm -rf /tmp/wheels /src && chown -R guanjia /var/lib/guanjia

WORKDIR /var/lib/guanjia
USER guanjia
EXPOSE 8000
# The web app by default; compose overrides the command for workers, beat and migrations.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", \
     "--workers", "4", "--blocking-threads", "4", "--respawn-failed-workers", \
     "--access-log", "--factory", "server:create_app"]
