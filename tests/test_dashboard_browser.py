"""The dashboard in a real browser: ``wasim dashboard`` serves it on 127.0.0.1 on a free port,
headless Chromium (Debian's, driven by playwright 1.64, whose bundled build is the same
Chromium 156: no browser is downloaded) opens the page and clicks Step: the plots are drawn and
change with the numbers of the text panel. Keys move two sliders, Reset starts a run with them,
▶ plays it and ❚❚ pauses it; the result-folder page draws a folder's bands; Ctrl-C stops the
server. Screenshots go to the test's temporary folder, and also to $WASIM_DASHBOARD_SCREENSHOT
(a folder) when it is set: that is how the README's picture is made. Skipped, saying why,
where no Chromium is found."""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import write_spec

from experiments.cli import main

CHROMIUM = next((path for path in ("/usr/bin/chromium", shutil.which("chromium"),
                                  shutil.which("chromium-browser")) if path and Path(path).is_file()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found: the browser test needs "
                                "Debian's chromium package (apt-get install chromium; .ci/run installs it)")
playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
pytest.importorskip("solara", reason='the dashboard needs the viz extra: pip install -e ".[viz]"')

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
"""Without the networking flags Chromium keeps calling Google's hosts, which this machine's
closed network refuses."""
START_S = 180
"""How long the server and the first page may take on a busy 2-core machine."""
DAY_S = 60_000
"""Milliseconds a Step may take to show on the page (the model's day, six plots, the panel)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def save(shot: Path, name: str) -> None:
    """Copy a screenshot to $WASIM_DASHBOARD_SCREENSHOT, when set."""
    folder = os.environ.get("WASIM_DASHBOARD_SCREENSHOT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``wasim dashboard`` on a free port, over a results folder with one small experiment
    that lost a run: (url, process, lines it printed)."""
    root = tmp_path_factory.mktemp("results")
    assert main(["run", str(write_spec(root, days=10, users=1000)), "--out", str(root / "tiny"),
                 "--workers", "1"]) == 0
    sorted((root / "tiny" / "runs").glob("*.parquet"))[0].unlink()
    port = free_port()
    log = open(root / "server.log", "w")  # noqa: SIM115 (closed below)
    # Ctrl-C as at a terminal: a test run started in the background (nohup, `&`) ignores SIGINT,
    # and an ignored signal stays ignored in the children it starts
    process = subprocess.Popen([sys.executable, "-m", "experiments.cli", "dashboard", "--port", str(port),
                                "--host", "127.0.0.1", "--results", str(root)],
                               stdout=subprocess.PIPE, stderr=log, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=START_S)
    except queue.Empty:
        process.kill()
        pytest.fail(f"wasim dashboard printed nothing in {START_S} s; its stderr: "
                    f"{(root / 'server.log').read_text()}")
    assert first.startswith(f"wasim dashboard: http://127.0.0.1:{port}/"), first
    yield f"http://127.0.0.1:{port}/", process, lines
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_stepping_draws_the_plots_and_changes_their_numbers(server, browser, tmp_path):
    url, _, _ = server
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.goto(url)
    panel = page.locator(".wasim-today")
    playwright.expect(panel).to_contain_text("Day 0", timeout=START_S * 1000)
    plots = page.locator("img.widget-image")
    playwright.expect(plots).to_have_count(6, timeout=DAY_S)

    step = page.get_by_role("button", name="Step")
    seen, pictures = [], []
    for day in range(1, 6):
        step.click()
        playwright.expect(panel).to_contain_text(f"Day {day}", timeout=DAY_S)
        playwright.expect(step).to_be_enabled(timeout=DAY_S)
        seen.append(panel.inner_text())
        pictures.append(plots.first.screenshot())
    assert len(set(seen)) == 5, "the panel's figures change from day to day"
    assert "active users" in seen[-1] and "revenue today" in seen[-1]
    assert pictures[0] != pictures[-1], "the users' plot is redrawn as days pass"
    drawn = plots.evaluate_all("images => images.map(image => image.complete && image.naturalWidth > 100)")
    assert drawn == [True] * 6, "every plot is a decoded image"

    page.close()


def test_a_slider_and_reset_start_a_new_run_that_plays(server, browser, tmp_path):
    """Keys move the media-shock slider to day 10 and the render interval to 5 days; Reset
    starts a run with the shock; ▶ plays it past day 40 (a screenshot), ❚❚ pauses it."""
    url, _, _ = server
    page = browser.new_page(viewport={"width": 1600, "height": 1700})
    page.goto(url)
    panel = page.locator(".wasim-today")
    playwright.expect(panel).to_contain_text("Day 0", timeout=START_S * 1000)
    for label, value in (("media shock day", 10), ("Render Interval (steps)", 5)):
        slider = page.locator(".v-input", has_text=label).get_by_role("slider")
        slider.focus()
        for _ in range(50):
            if int(slider.get_attribute("aria-valuenow")) >= value:
                break
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(300)  # each value reaches the server before the next
        assert int(slider.get_attribute("aria-valuenow")) == value, label
        page.keyboard.press("Tab")
    page.wait_for_timeout(1000)  # the sliders' last values reach the server
    page.get_by_role("button", name="Step").click()
    playwright.expect(panel).to_contain_text("Day 5", timeout=DAY_S)  # five days a render now
    page.get_by_role("button", name="Reset").click()
    playwright.expect(panel).to_contain_text("Day 0", timeout=DAY_S)
    playwright.expect(panel).to_contain_text("events: media shock on day 10")

    page.get_by_role("button", name="▶").click()
    page.wait_for_function("() => +(document.querySelector('.wasim-today').innerText.match(/Day (\\d+)/) "
                           "|| [0, 0])[1] >= 40", timeout=4 * DAY_S)
    page.get_by_role("button", name="❚❚").click()
    playwright.expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=DAY_S)
    page.wait_for_timeout(3000)  # the days already under way when ❚❚ was pressed show
    paused = panel.inner_text()
    page.wait_for_timeout(3000)
    assert panel.inner_text() == paused, "❚❚ stops the run"
    assert "media attention" in paused and "0.000" not in paused.split("media attention")[1][:20]

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=shot)
    assert shot.stat().st_size > 10_000
    save(shot, "dashboard.png")
    page.close()


def test_the_result_folder_page_draws_a_folder_s_bands_and_says_what_is_missing(server, browser, tmp_path):
    url, _, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url + "results")
    missing = page.get_by_text("showing 3 of 4 runs; 1 missing")
    playwright.expect(missing).to_be_visible(timeout=START_S * 1000)
    figure = page.locator("img.widget-image")
    playwright.expect(figure).to_have_count(1, timeout=DAY_S)
    assert figure.evaluate("image => image.complete && image.naturalWidth > 300")
    playwright.expect(page.get_by_text("3 of 4 runs finished")).to_be_visible()
    shot = tmp_path / "results.png"
    page.screenshot(path=shot, full_page=True)
    save(shot, "dashboard_results.png")
    page.close()


def test_ctrl_c_stops_the_server_cleanly(server):
    url, process, lines = server
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert lines.get(timeout=5).strip() == "wasim dashboard: stopped"
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
