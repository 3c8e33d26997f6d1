FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY workflow workflow
COPY consumers consumers
COPY producers producers
COPY regflow regflow
RUN pip install --no-cache-dir . && useradd --create-home regflow
USER regflow
CMD ["regflow", "--help"]
