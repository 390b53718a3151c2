# One image for the three services: `expo ingest`, `expo aggregator`, `expo api`
# (and `expo migrate`, `expo rebuild`, `expo token create`).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# The same uv as the Makefile pins; the dependency set is the one in uv.lock.
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check uv==${UV_VERSION}
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/expo/venv
WORKDIR /src
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 expo \
    && useradd --system --uid 10001 --gid expo --home-dir /var/lib/expo --create-home expo
COPY --from=build /opt/expo/venv /opt/expo/venv
ENV PATH=/opt/expo/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EXPO_BIND_HOST=0.0.0.0 \
    HEALTHCHECK_PORT=8000
WORKDIR /var/lib/expo
USER expo
EXPOSE 8000 8001 8002
# Liveness of whichever service runs here: set HEALTHCHECK_PORT to its port
# (8000 api, 8001 ingest, 8002 aggregator).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=4)" \
        "http://127.0.0.1:${HEALTHCHECK_PORT}/healthz" || exit 1
ENTRYPOINT ["expo"]
CMD ["api"]
