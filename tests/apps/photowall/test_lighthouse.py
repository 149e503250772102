"""Lighthouse on the landing page (tests/lighthouse_check.py), mobile and desktop, with Debian's chromium.

Accessibility, best practices and SEO must be 100: they do not depend on how busy the machine is.
Performance is printed, not asserted (it is a timing, simulated from this machine's CPU): the documented
command `.venv/bin/python tests/lighthouse_check.py` checks all four, and docs/benchmarks.md has the figures.
Skipped unless Lighthouse is installed (npm install --prefix var/lighthouse lighthouse@13.5.0).
"""

from __future__ import annotations

import pytest

from tests import lighthouse_check

pytestmark = [
    pytest.mark.browser,
    pytest.mark.embedded_default,
    pytest.mark.skipif(lighthouse_check.lighthouse_executable() is None, reason=lighthouse_check.INSTALL),
]


def test_the_landing_page_scores_100_where_the_machine_does_not_matter():
    results = lighthouse_check.run()
    for form_factor, result in results.items():
        scores = lighthouse_check.scores(result)
        print(form_factor, scores)
        lost = [line for line in lighthouse_check.lost_points(result) if not line.startswith("performance")]
        assert {name: scores[name] for name in ("accessibility", "best-practices", "seo")} == {
            "accessibility": 100,
            "best-practices": 100,
            "seo": 100,
        }, (form_factor, lost)
