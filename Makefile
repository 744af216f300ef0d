# `make serve` and `make test` are all a fresh machine needs; each installs what it uses first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: install serve lint format test test-sqlite test-postgres services browser benchmarks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/aibt serve

# PostgreSQL and Redis must run on 127.0.0.1; start them when they are down, or say why not.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start \
		|| { echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started." >&2; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 \
		--port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
		|| { echo "Redis is not running on 127.0.0.1:6379 and could not be started." >&2; exit 1; }

# The single-page app test drives Debian's Chromium at /usr/bin/chromium (test tools never download a browser).
# Installed here when missing; without root and apt-get the test is skipped and says why.
browser:
	@test -x /usr/bin/chromium || if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the single-page app test..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "No /usr/bin/chromium, and apt-get as root is unavailable to install it: the single-page app test will be skipped." >&2; fi

# ruff, configured in pyproject.toml: the lint rules and the format, checked (`make format` rewrites).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Lint first, then the same suite on each database, in separate processes (Tortoise keeps one dialect per process).
test: install lint services browser test-sqlite test-postgres

test-sqlite: install browser
	AIBT_TEST_DATABASE=sqlite $(VENV)/bin/pytest

test-postgres: install services browser
	AIBT_TEST_DATABASE=postgres $(VENV)/bin/pytest

benchmarks: install services
	$(VENV)/bin/pytest tests/benchmarks -s
