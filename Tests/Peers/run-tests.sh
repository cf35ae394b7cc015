#!/usr/bin/env bash
# Tests of the UDP/DTLS device test peer: installs its requirements into .venv/ (adding to an existing venv,
# never deleting it), then runs the vectors (--self-test) and the pytest suite. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import cryptography, pytest' 2>/dev/null; then
    .venv/bin/pip install -q --disable-pip-version-check -r Tests/Peers/requirements.txt
fi
.venv/bin/python Tests/Peers/particle_udp_device.py --self-test | tail -1
exec .venv/bin/python -m pytest -q -p no:cacheprovider Tests/Peers/test_vectors.py "$@"
