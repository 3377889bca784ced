# Production image: the app with its locked dependencies, served by `athena serve` as a non-root user.
# Two stages: uv and the build cache stay in the first; the second holds Python, the virtual
# environment and the code. Dependencies are installed before the code is copied, so a code change
# rebuilds only the last layers.

FROM python:3.11-slim AS build
# The same uv as the README's install line (keep them in step).
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/srv/athena/.venv
WORKDIR /srv/athena
# 1. Dependencies only (cached until pyproject.toml or uv.lock change). clients/python is a uv
#    workspace member the app depends on (athena simulate), so uv needs it to resolve the lock.
COPY pyproject.toml uv.lock ./
COPY clients/python ./clients/python
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev --no-install-project
# 2. The project itself (editable: app/asgi.py finds templates/ and static/ beside app/).
COPY README.md ./
COPY app ./app
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/srv/athena/.venv/bin:$PATH"
RUN groupadd --system --gid 10001 athena \
    && useradd --system --uid 10001 --gid athena --home-dir /srv/athena --no-create-home athena \
    && mkdir -p /srv/athena/data && chown athena:athena /srv/athena/data
WORKDIR /srv/athena
COPY --from=build /srv/athena/.venv ./.venv
COPY --from=build /srv/athena/app ./app
# athena-client is installed editable from its workspace directory, like the app.
COPY --from=build /srv/athena/clients ./clients
COPY templates ./templates
COPY static ./static
# Code and dependencies stay root-owned and read-only to the app; the only writable directory is
# data/ (the working directory: an embedded SQLite database, when DATABASE_URL is not set, lands there).
WORKDIR /srv/athena/data
USER athena
EXPOSE 8000
CMD ["athena", "serve", "--host", "0.0.0.0", "--port", "8000"]
