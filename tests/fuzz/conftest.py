"""Property-based fuzz tests (Hypothesis) for ingress, rule-file validation and mapping.

Every test here runs with a fixed seed (`derandomize=True`) and never reads or writes the
`.hypothesis` example database, so `make test` is reproducible and stays fast. The profile is
registered here but deliberately *not loaded* (other suites keep Hypothesis' defaults); each fuzz
module applies it per test with `settings(settings.get_profile(PROFILE), max_examples=N)`.

Exploring harder on a workstation (not in CI):

    HYPOTHESIS_FUZZ_SCALE=20 HYPOTHESIS_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/fuzz -q

multiplies every test's example budget by 20 and uses a random seed.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = "braze-webhook-adapter-fuzz"

settings.register_profile(
    PROFILE,
    derandomize=os.environ.get("HYPOTHESIS_FUZZ_RANDOM") != "1",
    database=None,  # never depend on (or pollute) .hypothesis/
    deadline=None,  # timing varies on shared CI machines; the whole folder has a wall-clock budget instead
    print_blob=True,
)
