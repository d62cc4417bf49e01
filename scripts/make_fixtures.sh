#!/usr/bin/env bash
# Regenerates the PyTorch reference data in tests/fixtures/ (needs Debian's python3-torch).
# The C++ build and tests only read the committed JSON; they never need Python.
# One line per generator.
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 scripts/fixtures_ops.py
/usr/bin/python3 scripts/fixtures_batchnorm.py
/usr/bin/python3 scripts/fixtures_batchnorm_huge.py
/usr/bin/python3 scripts/fixtures_layers.py
/usr/bin/python3 scripts/fixtures_optim.py
/usr/bin/python3 scripts/fixtures_training.py
/usr/bin/python3 scripts/fixtures_layernorm.py
/usr/bin/python3 scripts/fixtures_engine.py
/usr/bin/python3 scripts/fixtures_activations.py
/usr/bin/python3 scripts/fixtures_pow.py
