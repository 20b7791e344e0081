"""Dashboard speed in a real headless Chromium against a real `guardid serve` at city scale.

    python bench/dashboard_paint.py --guards 100000 --employers 2000 --events 1000000

Builds the city world (fixtures.world.large) in a SQLite file, starts the server on it (as the
tests do, tests/servers.py), opens
/dashboard, and measures (1) the page shell's first contentful paint, from the browser's
Paint Timing entry, and (2) for each view, the time from pressing "Show" to the frame after
the server-rendered coverage, charts, missing list and campaign table are in the page (the
moment the police see the numbers). Best and median of --repeats runs per view.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bootstrap import session_factory  # noqa: E402
from fixtures import world  # noqa: E402
from registry import apikeys, migrate  # noqa: E402
from registry.db import make_engine  # noqa: E402
from registry.models import Role  # noqa: E402
from tests.browser import Browser  # noqa: E402
from tests.servers import start  # noqa: E402

# Press Show, then note the time at the first frame after the fragment is in the page.
SHOW_JS = """(() => {
  const el = document.getElementById('content');
  el.dataset.loaded = ''; window.__painted = null;
  const t0 = performance.now();
  const obs = new MutationObserver(() => {
    if (el.dataset.loaded !== 'true') return;
    obs.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.__painted = performance.now() - t0; }));
  });
  obs.observe(el, { attributes: true });
  document.getElementById('show').click();
})()"""


def build(url: str, args: argparse.Namespace) -> tuple[str, list[str]]:
    """Create the world at ``url``; return a police API token and the district names."""
    engine = make_engine(url)
    migrate.load_models()
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        info = world.large(s, guards=args.guards, employers=args.employers,
                           events=args.events)
        token = apikeys.create(db_session=s, role=Role.police, name="bench").token
        s.commit()
    engine.dispose()
    return token, info["districts"]


def view(page: Browser, token: str, day: str, district: str) -> float:
    """Show one view; return ms from pressing Show to the painted numbers."""
    page.eval(f"document.getElementById('apikey').value = {json.dumps(token)};"
              f"document.getElementById('date').value = {json.dumps(day)};"
              f"document.getElementById('district').value = {json.dumps(district)}")
    page.eval(SHOW_JS)
    return float(page.wait_for("window.__painted", timeout=60))


def main() -> None:
    """Build, serve, measure; print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--guards", type=int, default=100_000)
    ap.add_argument("--employers", type=int, default=2_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/city.db"
        t = time.perf_counter()
        token, districts = build(url, args)
        out: dict = {"guards": args.guards, "events": args.events,
                     "build_s": round(time.perf_counter() - t, 1)}
        env = {**os.environ, "GUARDID_DATABASE_URL": url, "GUARDID_VAR_DIR": f"{tmp}/var",
               "GUARDID_KEYRING_FILE": f"{tmp}/var/keyring.json"}
        proc, base = start(env)
        page = Browser(("--window-size=1400,1800",))
        try:
            fcp = []
            for _ in range(args.repeats):
                page.navigate(base + "/dashboard")
                fcp.append(page.wait_for(
                    "(performance.getEntriesByName('first-contentful-paint')[0] || {})"
                    ".startTime"))
            out["shell_first_contentful_paint_ms"] = round(statistics.median(fcp), 1)
            today = dt.datetime.now(dt.UTC).date().isoformat()
            for name, day, district in (("city_today", today, ""),
                                        ("city_past", "2026-11-10", ""),
                                        ("district_past", "2026-11-10", districts[3])):
                runs = [view(page, token, day, district) for _ in range(args.repeats)]
                out[name + "_ms"] = {"best": round(min(runs), 1),
                                     "median": round(statistics.median(runs), 1)}
        finally:
            page.close()
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
