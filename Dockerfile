# The vibi platform image: one image, every role (web, worker <queue…>, beat, migrate, createsuperuser).
# Build: podman build --format docker -t vibi-platform . (or docker build). `make image-test` builds
# and runs it here. Base: Debian bookworm with Debian's own Python 3.11 and ffmpeg 5.1 (the version
# typed-ffmpeg-v5 binds to); fonts-noto-cjk so Korean and Japanese subtitles burn in with real glyphs.

# ---- build: wheels from the lock file, installed into a venv that the runtime stage copies ----------
FROM debian:bookworm-slim AS build
# Debian stable only ships security/point updates for these; pinning exact versions would break
# the build at every point release (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/base.lock /build/base.lock
# Optional build secret `pip_ca`: the CA bundle of a TLS-intercepting proxy between the build and PyPI
# (`make image` passes the host's bundle); never part of a layer.
RUN --mount=type=secret,id=pip_ca,required=false \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-cache-dir --require-hashes --no-deps -r /build/base.lock -w /build/wheels \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /build/wheels/*.whl \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -c "import ffmpeg_core.common.cache"  # makes its cache folder (read-only at run time)

# ---- runtime: no compiler, no pip cache, a non-root user ---------------------------------------------
FROM debian:bookworm-slim
# dpkg leaves out what the image never uses (Debian's way of slimming images): documentation and
# translations, and the Mesa GPU drivers with their LLVM (about 165 MB) that ffmpeg's SDL/Vulkan
# dependencies pull in; the ffmpeg command line never loads them (they are dlopen()ed for GPU contexts).
COPY deploy/dpkg-slim.cfg /etc/dpkg/dpkg.cfg.d/vibi-slim
# Same reason as above for not pinning Debian package versions (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ffmpeg fonts-noto-cjk fontconfig ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && fc-cache -f \
    && groupadd --system --gid 10001 vibi \
    && useradd --system --uid 10001 --gid vibi --home-dir /var/lib/vibi --create-home --shell /usr/sbin/nologin vibi
COPY --from=build /opt/venv /opt/venv
COPY deploy/entrypoint.sh /usr/local/bin/vibi
COPY . /app
RUN python3 -m compileall -q /app /opt/venv >/dev/null
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=vibi.settings.base \
    VIBI_DATA_DIR=/var/lib/vibi \
    PORT=8000
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Role-aware: web answers /healthz, a worker answers a ping to its own node, beat's process is alive.
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 CMD ["vibi", "healthcheck"]
ENTRYPOINT ["tini", "--", "vibi"]
CMD ["web"]
