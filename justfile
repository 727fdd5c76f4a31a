# Recipes for developers; CI runs .ci/run (the README's test command).
venv := ".venv/bin"

# Install with test extras
install:
    python3 -m venv .venv && {{venv}}/pip install -q -e '.[test]'

# Run the test suite
test *args:
    {{venv}}/python -m pytest {{args}}

# ruff and mypy
lint:
    {{venv}}/ruff check twophase tests bench
    {{venv}}/ruff format --check twophase tests bench
    {{venv}}/mypy twophase

# Benchmarks: pytest-benchmark per phase, then the worker-scaling script
bench:
    {{venv}}/python -m pytest bench --benchmark-enable -q
    {{venv}}/python bench/scaling.py

# Run `twophase all` on the example corpus
demo:
    TWOPHASE_PASSPHRASE=demo {{venv}}/twophase all examples/corpus --out demo-out --vault demo-vault.db
