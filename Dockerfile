FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so source-only changes reuse this layer.
COPY pyproject.toml README.md* ./
RUN pip install . && pip uninstall -y casework

# Explicit paths rather than `COPY . .`: a developer's .venv, .casework data and .git
# must not end up in the image.
COPY casework ./casework
COPY models ./models
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY bench ./bench
COPY templates ./templates
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin casework

USER casework
EXPOSE 8000
CMD ["casework", "api"]
