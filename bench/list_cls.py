"""Cumulative layout shift of /executions, untouched, against a running demo (issue 19 item 5).

    uv run athena demo --port 8000 &
    uv run python bench/list_cls.py --url http://127.0.0.1:8000 --seconds 60

Signs in as operator@demo.local, opens /executions, leaves the pointer off the table and sums every
'layout-shift' entry not caused by input (PerformanceObserver) over the window. Also counts rows
replaced and inserted in #execution-rows, htmx:oobErrorNoTarget events and console errors
(observers in bench/list_cls.js).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from playwright.async_api import async_playwright

OBSERVE = (Path(__file__).parent / "list_cls.js").read_text()


async def measure(url: str, seconds: float, email: str, password: str) -> dict[str, object]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)  # a loaded machine signs in slowly
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(f"{url}/executions")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", password)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/executions**")
        await page.wait_for_function("() => document.querySelector('#conn').dataset.state === 'live'")
        await page.mouse.move(2, 2)
        await page.wait_for_timeout(1500)
        await page.evaluate(OBSERVE)
        await page.wait_for_timeout(seconds * 1000)
        result = await page.evaluate(
            "() => { const m = window.__still; m.biggest = m.biggest.sort((a, b) => b[0] - a[0]).slice(0, 5);"
            " return m; }"
        )
        result["console_errors"] = len(errors)
        await browser.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--email", default="operator@demo.local")
    parser.add_argument("--password", default="athena-demo")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.url, args.seconds, args.email, args.password)), indent=1))


if __name__ == "__main__":
    main()
