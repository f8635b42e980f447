#!/usr/bin/env python3
"""The HTML report in a real browser: what a reader sees.

Drives the distribution's Chromium through its WebDriver (/usr/bin/chromium,
/usr/bin/chromedriver, Debian's `chromium` and `chromium-driver`) with
Selenium, given both paths explicitly so that Selenium Manager never runs (it
would download a browser of its own; here it is made to fail if called).

On the report rendered from a results file, it checks, as a reader would:

- the overview heat map is on screen before anything is opened;
- every folded section opens with a click on its heading;
- every chart's box (each <svg class="chart ...">) has a non-zero size;
- every scenario of the results file has its section, heading and three
  charts;
- at 820 px wide the page does not scroll sideways.

Then it shows that the check can fail: copies of the report with a chart
forced to zero size, a scenario section missing, and an element wider than
the page must each be reported, and only for what was broken.

Usage (see tests/browser/run.sh, which CI runs):

    check_report.py --report DIR/report.html --results tests/fixtures/small.json \
        [--shots DIR]

--shots writes screenshots (the top at 1280 px and at 820 px, a scenario
opened at 820 px) for a person to look at. The last line is "N passed, N
failed"; the exit status is 1 if any check failed.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common import selenium_manager
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NARROW = 820
WIDE = 1280


def refuse_selenium_manager(*_args, **_kwargs):
    raise RuntimeError("Selenium Manager was asked for a browser: it must never run here")


# Belt and braces: with both paths given Selenium skips its manager; were a
# later Selenium to call it anyway, the check stops instead of downloading.
selenium_manager.SeleniumManager.binary_paths = refuse_selenium_manager


def slug(name):
    """The report's anchor for a name (src/report/doc.rs, `slug`)."""
    out = ""
    for c in name:
        if c.isascii() and c.isalnum():
            out += c.lower()
        elif not out.endswith("-"):
            out += "-"
    return out.strip("-")


def scenarios_of(results_path):
    """Every scenario a results file names, in the report's order."""
    with open(results_path, encoding="utf-8") as f:
        r = json.load(f)
    names = []
    for n in (r["settings"]["workloads"] + [w["name"] for w in r["workloads"]]
              + [run["workload"] for run in r["runs"]]):
        if n not in names:
            names.append(n)
    return names


def start_browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 f"--window-size={WIDE},900"]:
        opts.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(service=service, options=opts)


def set_width(driver, width, height=1000):
    """An exact viewport (the window's outer size is not the page's)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


CHART_BOXES = """
return Array.from(document.querySelectorAll('svg.chart')).map(function (s) {
  var r = s.getBoundingClientRect();
  var kind = Array.from(s.classList).filter(function (c) { return c !== 'chart'; }).join(' ');
  return {kind: kind, workload: s.getAttribute('data-workload') || '',
          w: r.width, h: r.height};
});
"""

# Elements that stick out on the right, outside any box that scrolls on its
# own (a wide table scrolls inside its wrapper, which is fine).
OVERFLOW = """
var doc = document.documentElement;
var out = [];
if (doc.scrollWidth > doc.clientWidth) {
  var all = document.querySelectorAll('main *');
  for (var i = 0; i < all.length && out.length < 5; i++) {
    var e = all[i], r = e.getBoundingClientRect();
    if (r.right <= doc.clientWidth + 0.5) continue;
    var p = e.parentElement, inside = false;
    while (p && p !== document.body) {
      var o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { inside = true; break; }
      p = p.parentElement;
    }
    if (!inside) out.push(e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
      ? '.' + String(e.className).split(' ').join('.') : '') + ' to ' + Math.round(r.right) + ' px');
  }
}
return {scroll: doc.scrollWidth, client: doc.clientWidth, culprits: out};
"""


def open_all_folds(driver):
    """Clicks every folded section's heading, as a reader would; returns the
    headings that did not open."""
    closed = []
    for d in driver.find_elements(By.CSS_SELECTOR, "details.fold"):
        if d.get_attribute("open") is None:
            summary = d.find_element(By.CSS_SELECTOR, ":scope > summary")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
            summary.click()
        if d.get_attribute("open") is None:
            closed.append(d.get_attribute("id") or d.text[:40])
    return closed


def check(driver, url, scenarios):
    """Every problem a reader would see on the report at `url`, as text."""
    problems = []
    set_width(driver, WIDE)
    driver.get(url)
    heat = driver.find_elements(By.CSS_SELECTOR, "svg.chart.heatmap")
    if not heat:
        problems.append("no overview heat map")
    else:
        r = driver.execute_script("var r = arguments[0].getBoundingClientRect();"
                                  "return [r.width, r.height, r.top];", heat[0])
        if r[0] <= 0 or r[1] <= 0:
            problems.append(f"the heat map's box is {r[0]:.0f}x{r[1]:.0f} before any click")
        elif r[2] > 1600:
            problems.append(f"the heat map starts {r[2]:.0f} px down: not the first thing seen")
    for what in open_all_folds(driver):
        problems.append(f"section {what} did not open on a click")
    for width in (WIDE, NARROW):
        set_width(driver, width)
        for box in driver.execute_script(CHART_BOXES):
            if box["w"] <= 0 or box["h"] <= 0:
                problems.append(f"{box['kind']} chart of {box['workload'] or 'the overview'} "
                                f"has a {box['w']:.0f}x{box['h']:.0f} box at {width} px")
    for name in scenarios:
        sid = "scenario-" + slug(name)
        found = driver.find_elements(By.ID, sid)
        if not found:
            problems.append(f"no section for scenario {name} (#{sid})")
            continue
        sec = found[0]
        if not sec.is_displayed():
            problems.append(f"the section of {name} is not displayed")
        if name not in sec.find_element(By.CSS_SELECTOR, "h2").text:
            problems.append(f"the heading of #{sid} does not name {name}")
        charts = sec.find_elements(By.CSS_SELECTOR, "svg.chart")
        if len(charts) != 3:
            problems.append(f"scenario {name} has {len(charts)} charts, not 3")
    set_width(driver, NARROW)
    o = driver.execute_script(OVERFLOW)
    if o["scroll"] > o["client"]:
        problems.append(f"at {NARROW} px the page scrolls sideways: {o['scroll']} px of content "
                        f"in {o['client']} px ({', '.join(o['culprits']) or 'no single culprit'})")
    return problems


def shots(driver, url, out_dir, scenario):
    os.makedirs(out_dir, exist_ok=True)
    for width, height in ((WIDE, 2000), (NARROW, 2400)):
        set_width(driver, width, height)
        driver.get(url)
        driver.save_screenshot(os.path.join(out_dir, f"top-{width}.png"))
    set_width(driver, NARROW, 2400)
    open_all_folds(driver)
    driver.execute_script("document.getElementById(arguments[0]).scrollIntoView();",
                          "scenario-" + slug(scenario))
    driver.save_screenshot(os.path.join(out_dir, f"scenario-{slug(scenario)}-{NARROW}.png"))


def broken_copies(html, scenario, tmp):
    """Copies of the report, each broken in one way a reader would notice,
    with the problem the check must report for it."""
    chart = f'<svg class="chart latency" data-workload="{scenario}"'
    assert chart in html, chart
    sid = f'id="scenario-{slug(scenario)}"'
    assert sid in html, sid
    cases = {
        # A chart drawn into a zero-size box (a bad viewBox or CSS does it).
        "zero-size chart": (html.replace(chart, '<svg style="width:0;height:0" '
                                         + chart[len('<svg '):], 1),
                            rf"^latency chart of {re.escape(scenario)} has a 0x0 box"),
        # A scenario's section lost.
        "missing section": (html.replace(sid, 'id="renamed"', 1),
                            rf"^no section for scenario {re.escape(scenario)}"),
        # Something wider than a narrow window, outside any scrolling box.
        "too wide": (html.replace("<main>", '<main><div style="width:1200px">wide</div>', 1),
                     rf"^at {NARROW} px the page scrolls sideways"),
    }
    out = {}
    for name, (text, expected) in cases.items():
        path = os.path.join(tmp, name.replace(" ", "-") + ".html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out[name] = ("file://" + path, expected)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--report", required=True, help="the report.html to check")
    ap.add_argument("--results", required=True, help="the results file it was rendered from")
    ap.add_argument("--shots", help="a folder for screenshots")
    args = ap.parse_args()
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print(f"{path} is missing: apt-get install -y chromium chromium-driver",
                  file=sys.stderr)
            return 2
    scenarios = scenarios_of(args.results)
    report = os.path.abspath(args.report)
    with open(report, encoding="utf-8") as f:
        html = f.read()
    passed = failed = 0

    def verdict(name, ok, detail=""):
        nonlocal passed, failed
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        if ok:
            passed += 1
        else:
            failed += 1

    profile = tempfile.mkdtemp(prefix="heaplab-chromium-")
    tmp = tempfile.mkdtemp(prefix="heaplab-broken-")
    started = time.monotonic()
    driver = start_browser(profile)
    try:
        problems = check(driver, "file://" + report, scenarios)
        verdict(f"the report as a reader sees it ({len(scenarios)} scenarios, "
                f"charts, {NARROW} px)", not problems, "; ".join(problems))
        for name, (url, expected) in broken_copies(html, scenarios[-1], tmp).items():
            found = check(driver, url, scenarios)
            hit = [p for p in found if re.search(expected, p)]
            # Reported, and nothing else: the check names what broke.
            verdict(f"a report with a {name} fails the check", hit and len(hit) == len(found),
                    f"reported {found!r}")
        if args.shots:
            shots(driver, "file://" + report, args.shots, scenarios[-1])
            print(f"screenshots in {args.shots}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"browser: {time.monotonic() - started:.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
