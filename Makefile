# The two commands: `make run` (set up and run the whole platform) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.requirements-installed

.PHONY: run test setup ffmpeg lint bench lock hadolint image image-test secrets flower chaos

run: setup
	$(VENV)/bin/python manage.py run_platform

test: setup
	$(VENV)/bin/python tests/run.py $(ARGS)

setup: ffmpeg $(STAMP)

# --- Lock files (issue 13) ------------------------------------------------------------------------
# requirements/base.txt and dev.txt hold the hand-edited pins; `make lock` resolves them (pip-tools,
# with hashes) into base.lock (runtime: the image) and dev.lock (make/CI). dev.lock starts from
# base.lock, so the runtime versions are the same in both. A lock is the whole closure: installed with
# --no-deps (pip resolves nothing) and --require-hashes.
$(STAMP): requirements/dev.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.lock
	touch $(STAMP)

PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-header
lock:
	test -x $(VENV)/bin/pip-compile || $(VENV)/bin/pip install --quiet pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements/base.lock requirements/base.txt
	cp requirements/base.lock requirements/dev.lock
	$(PIP_COMPILE) -o requirements/dev.lock requirements/dev.txt

# ffmpeg from apt when we are root and it is missing; otherwise the imageio-ffmpeg wheel's
# static build is used (see apps/media/ffmpeg.py), so this never needs root.
ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng >/dev/null) \
		|| echo "ffmpeg not installed system-wide: using the imageio-ffmpeg static build"; }

# ruff (check --fix, format), mypy and import-linter: the hooks of .pre-commit-config.yaml, run the way a
# commit runs them, over every file.
lint: setup hadolint
	$(VENV)/bin/pre-commit run --all-files

bench: setup
	$(VENV)/bin/python tests/benchmarks/run_all.py

# --- Production shape (issue 13): image, image test, secrets -------------------------------------
hadolint: setup
	$(VENV)/bin/hadolint Dockerfile

IMAGE ?= vibi-platform:latest
# The host's CA bundle, handed to the build's pip as a secret (see the Dockerfile).
PIP_CA ?= /etc/ssl/certs/ca-certificates.crt
# crun refuses this machine's hybrid cgroup layout; runc (Debian's package) works.
PODMAN ?= podman $(shell command -v runc >/dev/null 2>&1 && echo --runtime runc)
# The base image comes from debootstrap (no registry needed), cached in podman once made.
image:
	deploy/base-image.sh
	$(PODMAN) build --format docker --network host --secret id=pip_ca,src=$(PIP_CA) -t $(IMAGE) .

# Builds the image, then runs migrate, web, a worker per queue and beat as containers against this
# machine's Postgres and Redis, moto's S3 server and the simulators, and pushes jobs through them.
image-test: setup image
	VIBI_IMAGE_TEST=$(IMAGE) VIBI_PODMAN="$(PODMAN)" $(VENV)/bin/python tests/run.py tests/image -q

# The secret files compose.yaml mounts (never committed: secrets/ is git- and docker-ignored).
secrets:
	@mkdir -p secrets && chmod 700 secrets
	@for name in django_secret_key auth_jwt_secret signing_secret s3_secret_key; do \
		[ -s secrets/$$name ] || { $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > secrets/$$name; \
		chmod 600 secrets/$$name; echo "secrets/$$name made"; }; done
	@[ -s secrets/s3_config.json ] || { printf '{"identities":[{"name":"vibi","credentials":[{"accessKey":"vibi","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' "$$(cat secrets/s3_secret_key)" > secrets/s3_config.json; chmod 600 secrets/s3_config.json; echo "secrets/s3_config.json made"; }
	@[ -s secrets/tls_certificate.pem ] || { openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$${PUBLIC_HOST:-localhost}" \
		-keyout secrets/tls_private_key.pem -out secrets/tls_certificate.pem 2>/dev/null; chmod 600 secrets/tls_*.pem; \
		echo "secrets/tls_*.pem: a self-signed stand-in; put the real certificate and key there"; }
	@for name in perso_api_key gemini_api_key; do \
		[ -e secrets/$$name ] || { : > secrets/$$name; chmod 600 secrets/$$name; \
		echo "secrets/$$name is empty: put the key from the provider in it"; }; done
# --- Ops (issue 18) -------------------------------------------------------------------------------
# Flower on loopback (task events are on in workers/config.py); FLOWER_PORT to move it.
flower: setup
	$(VENV)/bin/celery -A vibi flower --address=127.0.0.1 --port=$${FLOWER_PORT:-5555}
# --- i17: the chaos run (docs/faults.md): make chaos SEED=7 N=200 [KILLS=56]
SEED ?= 1
N ?= 200
KILLS ?=
chaos: setup
	mkdir -p data/chaos
	$(VENV)/bin/python -m tests.chaos --seed $(SEED) --jobs $(N) $(if $(KILLS),--kills $(KILLS)) \
		--report data/chaos/report-$(SEED)-$(N).json
# --- end i17
