FROM python:3.11-slim
# The invoice PDFs embed DejaVu Sans (PDF/A-3): Debian's fonts-dejavu-core.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
ENV PYTHONUNBUFFERED=1
WORKDIR /app
# The locked runtime dependencies first, every file hash-checked (requirements.lock, written by scripts/lock at
# the versions CI tests): a layer that changes only with the lock. Then the project alone, resolving nothing.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY workflow workflow
COPY consumers consumers
COPY producers producers
COPY regflow regflow
# var/ holds what the processes write (REGFLOW_DOCUMENTS_DIR, REGFLOW_CHORUS_DROP_DIR, the page's users file, the
# intake API's keys), owned by the user they run as: docker compose mounts named volumes on these folders, and a
# new volume takes the owner of the image's folder (a folder missing from the image would come up owned by root,
# unwritable).
RUN pip install --no-cache-dir --no-deps . && useradd --create-home regflow \
    && mkdir -p var/documents var/chorus-pro var/web var/api && chown -R regflow:regflow var
USER regflow
# 9100: /metrics, /healthz and /readyz of a consumer or the relay (REGFLOW_HTTP_PORT in docker-compose.yml);
# 8080: the back-office page (`regflow web --port 8080`).
EXPOSE 9100 8080
CMD ["regflow", "--help"]
