# Tradewind image: built by users from this repository (`docker build -t tradewind .`); no image
# is published. Two stages: the first builds a virtualenv, the second is slim and runs as a
# non-root user with only that virtualenv (the bundled real data and the demo are inside it).
# CI runs the same build steps without Docker: deploy/docker-build-steps.sh.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/tradewind \
    && /opt/tradewind/bin/pip install --no-cache-dir . \
    && /opt/tradewind/bin/tradewind --version

FROM python:3.11-slim-bookworm
ENV PATH=/opt/tradewind/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRADEWIND_KEYSTORE=/var/lib/tradewind/keystore.twk
RUN groupadd --system --gid 10001 tradewind \
    && useradd --system --uid 10001 --gid tradewind --home-dir /var/lib/tradewind \
       --create-home --shell /usr/sbin/nologin tradewind \
    && chmod 0700 /var/lib/tradewind
COPY --from=build /opt/tradewind /opt/tradewind
USER 10001:10001
WORKDIR /var/lib/tradewind
ENTRYPOINT ["tradewind"]
CMD ["demo", "--run-dir", "/var/lib/tradewind/runs/demo"]
