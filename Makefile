# The two commands: `make run` (set up and run the whole platform) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.requirements-installed

.PHONY: run test setup ffmpeg lint bench chaos

run: setup
	$(VENV)/bin/python manage.py run_platform

test: setup
	$(VENV)/bin/python tests/run.py $(ARGS)

setup: ffmpeg $(STAMP)

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $(STAMP)

# ffmpeg from apt when we are root and it is missing; otherwise the imageio-ffmpeg wheel's
# static build is used (see apps/media/ffmpeg.py), so this never needs root.
ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng >/dev/null) \
		|| echo "ffmpeg not installed system-wide: using the imageio-ffmpeg static build"; }

lint: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: setup
	$(VENV)/bin/python tests/benchmarks/run_all.py

# --- i17: the chaos run (docs/faults.md): make chaos SEED=7 N=200 [KILLS=56]
SEED ?= 1
N ?= 200
KILLS ?=
chaos: setup
	mkdir -p data/chaos
	$(VENV)/bin/python -m tests.chaos --seed $(SEED) --jobs $(N) $(if $(KILLS),--kills $(KILLS)) \
		--report data/chaos/report-$(SEED)-$(N).json
# --- end i17
