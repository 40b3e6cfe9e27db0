# guanjia: one image for the web app, the Celery workers, beat and the migration job.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GUANJIA_MODE=production \
    GUANJIA_INSTANCE_DIR=/var/lib/guanjia

WORKDIR /app
RUN useradd --system --home-dir /var/lib/guanjia --create-home guanjia

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY server/__init__.py server/__init__.py
COPY workers/__init__.py workers/__init__.py
RUN pip install --upgrade pip && pip install .

COPY server server
COPY workers workers
COPY processes processes
COPY forms forms
RUN pip install --no-deps . && chown -R guanjia /var/lib/guanjia

USER guanjia
EXPOSE 8000
# The web app by default; compose overrides the command for workers, beat and migrations.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", \
     "--access-logfile", "-", "server:create_app()"]
