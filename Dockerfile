# Production image: the app with its locked dependencies, served by `athena serve`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /srv/athena
COPY pyproject.toml uv.lock README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN uv sync --frozen --no-dev
ENV PATH="/srv/athena/.venv/bin:$PATH"
EXPOSE 8000
CMD ["athena", "serve", "--host", "0.0.0.0", "--port", "8000"]
