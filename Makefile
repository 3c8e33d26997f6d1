.PHONY: demo test lint up down clean

demo:  ## push the source documents' registrations to "paid" and print their timelines
	scripts/bootstrap
	scripts/ensure-services
	.venv/bin/regflow demo

test:  ## lint, type-check, unit + integration + end-to-end tests on the real broker and database
	scripts/test

lint:
	scripts/bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy schemas workflow consumers producers regflow

up:  ## a laptop with Docker: the broker and the database
	docker compose up -d rabbitmq postgres

down:
	docker compose down

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
