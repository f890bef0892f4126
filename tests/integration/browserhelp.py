"""Browser tests: Debian's Chromium driven by Playwright (never ``playwright
install``), and a page script that records Content-Security-Policy
violations in ``window.__violations``."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || ''));
});
"""
