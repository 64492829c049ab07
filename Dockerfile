# syntax=docker/dockerfile:1
# The production image: the casework wheel and its runtime dependencies (no `dev` extra), run
# by a non-root user. The source tree stays in the build stage; only wheels cross over.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Explicit paths rather than `COPY . .`: a developer's .venv, .casework data and .git stay out.
COPY pyproject.toml README.md ./
COPY casework ./casework
COPY models ./models
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY bench ./bench
COPY templates ./templates
# The wheel and every wheel it needs, so the final stage installs without the source tree.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
# Inside a container the API must listen on every interface to be reachable at all.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CASEWORK_API_HOST=0.0.0.0 \
    CASEWORK_API_PORT=8000
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels casework \
    && useradd --system --uid 10001 --create-home --home-dir /home/casework \
        --shell /usr/sbin/nologin casework
USER casework
WORKDIR /home/casework
EXPOSE 8000
CMD ["casework", "api"]
