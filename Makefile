.PHONY: demo backoffice test lint bench translations up down clean

demo:  ## push the source documents' registrations to "paid" and print their timelines
	scripts/bootstrap
	scripts/ensure-services
	scripts/ensure-fonts
	.venv/bin/regflow demo

backoffice:  ## the demo stopped before its last session, then the back-office page on http://127.0.0.1:8080/
	scripts/bootstrap
	scripts/ensure-services
	.venv/bin/regflow demo --serve

test:  ## lint, type-check, unit + integration + end-to-end tests on the real broker and database
	scripts/test

lint:
	scripts/bootstrap
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache
	.venv/bin/mypy schemas workflow consumers producers regflow bench

bench:  ## the end-to-end benchmark: raw limit, 2,000 registrations to paid, steady load (figures + plot in var/bench)
	scripts/bootstrap
	scripts/ensure-services
	.venv/bin/python -m pip install --quiet -e '.[bench]'
	.venv/bin/python -m bench.benchmark $(BENCH_ARGS)

translations:  ## the back office's French catalogue: new messages added, old ones dropped, .mo compiled
	.venv/bin/python -m regflow.web.i18n_messages

up:  ## a laptop with Docker: the broker and the database
	docker compose up -d rabbitmq postgres

down:
	docker compose down

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
