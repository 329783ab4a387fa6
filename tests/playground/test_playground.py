"""The gate playground: its arithmetic is gatelab's cell (float64, 1e-9), and a real headless browser can drive it
offline — sliders by keyboard, variant switches, a phone-width viewport, no console error."""

from __future__ import annotations

import json
import random
import shutil

import pytest
import torch

import gatelab
from gatelab.diagnostics import gate_statistics
from gatelab.playground import SWITCHES, build_playground
from gatelab.playground.page import MAX_BYTES, page_data, render

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                reason="Debian's chromium and chromium-driver are not installed")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    return build_playground(tmp_path_factory.mktemp("playground") / "playground.html")


def random_weights(units: int, inputs: int, seed: int) -> dict:
    rng = random.Random(seed)
    w = {}
    for g in ("z", "r", "h"):
        w[f"W_{g}"] = [[rng.uniform(-2, 2) for _ in range(inputs)] for _ in range(units)]
        w[f"U_{g}"] = [[rng.uniform(-1.5, 1.5) for _ in range(units)] for _ in range(units)]
        w[f"b_{g}"] = [rng.uniform(-1, 1) for _ in range(units)]
    w["b_hh"] = [rng.uniform(-1, 1) for _ in range(units)]
    return w


def gatelab_run(weights: dict, xs: list, variant: str, reset: str):
    """h, z, r of gatelab.GRU in float64 with the page's weights (the blocks this variant has)."""
    units, inputs = len(weights["b_h"]), len(xs[0])
    layer = gatelab.GRU(inputs, units, batch_first=True, variant=variant, reset=reset, dtype=torch.float64)
    with torch.no_grad():
        for name, view in layer.seed_params().items():
            view.copy_(torch.tensor(weights[name], dtype=torch.float64))
    x = torch.tensor([xs], dtype=torch.float64)
    stats = gate_statistics(layer, x)
    with torch.no_grad():
        h = layer(x)[0][0]
    return h, stats.gates.get("z"), stats.gates.get("r")


@pytest.mark.parametrize("reset", ["before", "after"])
@pytest.mark.parametrize("variant", [name for name, _ in SWITCHES])
def test_the_page_computes_what_gatelab_computes(browser, page, variant, reset):
    browser.get(page.as_uri())
    for inputs, units, seed in ((1, 3, 0), (2, 4, 1)):
        weights = random_weights(units, inputs, seed)
        xs = [[random.Random(seed + t).uniform(-1, 1) for _ in range(inputs)] for t in range(25)]
        out = browser.execute_script("return gatelab.simulate(arguments[0], arguments[1], arguments[2], "
                                     "arguments[3]);", weights, xs, variant, reset)
        h, z, r = gatelab_run(weights, xs, variant, reset)
        torch.testing.assert_close(torch.tensor(out["h"], dtype=torch.float64), h, atol=1e-9, rtol=0)
        for name, values in (("z", z), ("r", r)):
            if values is None:
                assert out[name][0] is None, f"{variant} has no {name}"
            else:
                torch.testing.assert_close(torch.tensor(out[name], dtype=torch.float64), values[:, 0], atol=1e-9,
                                           rtol=0)


def test_sensitivity_is_the_product_of_step_jacobians(browser, page):
    browser.get(page.as_uri())
    weights, xs = random_weights(3, 1, 5), [[0.3 * (t % 4) - 0.4] for t in range(12)]
    sens = browser.execute_script("return gatelab.sensitivity(arguments[0], arguments[1], 'gru', 'before');",
                                  weights, xs)
    layer = gatelab.GRU(1, 3, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, view in layer.seed_params().items():
            view.copy_(torch.tensor(weights[name], dtype=torch.float64))
    from gatelab.diagnostics import state_sensitivity

    u = torch.full((1, 3), 1 / 3 ** 0.5, dtype=torch.float64)
    expected = state_sensitivity(layer, torch.tensor([xs], dtype=torch.float64), direction=u)
    torch.testing.assert_close(torch.tensor(sens, dtype=torch.float64), expected, atol=1e-7, rtol=1e-6)


def console_errors(browser) -> list:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_a_learner_moves_a_slider_and_switches_a_variant(browser, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(1280, 800)
    browser.get(page.as_uri())
    before = browser.execute_script("return gatelabPage.state.last.h;")
    slider = browser.find_element(By.ID, "s-W_z-0")
    slider.send_keys(Keys.ARROW_RIGHT * 5)                           # the keyboard moves it
    params = browser.execute_script("return gatelabPage.state.params;")
    assert params["W_z"][0][0] == pytest.approx(2.5)
    after = browser.execute_script("return gatelabPage.state.last.h;")
    xs = browser.execute_script("return gatelabPage.state.xs;")
    h, _, _ = gatelab_run(params, xs, "gru", "before")
    torch.testing.assert_close(torch.tensor(after, dtype=torch.float64), h, atol=1e-9, rtol=0)
    assert after != before, "the plot follows the slider"
    drawn = browser.find_element(By.CSS_SELECTOR, '#plot-h polyline[data-series="h0"]').get_attribute("points")
    assert len(drawn.split()) == len(xs)
    browser.find_element(By.ID, "v-gru_reset_zero").click()
    assert "they coincide: this unit is exponential smoothing" in browser.find_element(By.ID, "smooth-note").text
    assert "off" in browser.find_element(By.CSS_SELECTOR, '[data-eq="Uh"]').get_attribute("class")
    browser.find_element(By.ID, "v-gru").click()
    assert "they coincide" not in browser.find_element(By.ID, "smooth-note").text, "gru's candidate reads h"
    browser.save_screenshot(str(tmp_path / "playground.png"))              # an artefact of the test
    assert (tmp_path / "playground.png").stat().st_size > 10_000
    assert not console_errors(browser)


def test_a_phone_width_viewport_has_no_horizontal_scroll(browser, page):
    browser.set_window_size(390, 844)
    browser.get(page.as_uri())
    width, view = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    assert width <= view + 1
    sliders, plots = browser.execute_script(
        "return [document.getElementById('sliders').getBoundingClientRect().top,"
        " document.getElementById('plot-x').getBoundingClientRect().top];")
    assert plots > sliders, "one column: the controls stack above the plots"
    assert not console_errors(browser)
    browser.set_window_size(1280, 800)


def test_the_page_is_self_contained_and_small():
    html = render(page_data())
    assert len(html.encode()) < MAX_BYTES
    assert "http://" not in html and "https://" not in html and "<script src" not in html
    data = json.loads(html.split('id="gatelab-data">')[1].split("</script>")[0])
    assert [name for name, _ in SWITCHES] == list(data["variants"])


def test_a_studys_trained_units_are_replayed(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from gatelab.config import ModelConfig, TaskConfig
    from gatelab.store import Store
    from gatelab.study.driver import run_study
    from gatelab.study.spec import StudySpec
    from gatelab.train import TrainConfig

    spec = StudySpec("replay", ("gru",), (TaskConfig("parity", (("length", 6), ("test_length", 12))),), seeds=1,
                     model=ModelConfig(hidden_size=6), train=TrainConfig(steps=20, batch_size=8, eval_every=10,
                                                                          eval_size=16))
    with Store(tmp_path / "runs.sqlite") as store:
        run_study(spec, store, workers=1)
    page = build_playground(tmp_path / "playground.html", tmp_path)
    browser.get(page.as_uri())
    Select(browser.find_element(By.ID, "study")).select_by_index(1)
    replay = browser.execute_script("return gatelabPage.state.replay;")
    assert replay["label"].startswith("gru on parity (seed 0") and len(replay["inputs"][0]) == 2
    assert "Isolates whether the candidate must depend on h" in browser.find_element(By.ID, "replay-note").text
    shown = browser.execute_script("return gatelabPage.state.last.h;")
    h, _, _ = gatelab_run(replay["weights"], replay["inputs"], "gru", replay["reset"])
    torch.testing.assert_close(torch.tensor(shown, dtype=torch.float64), h, atol=1e-9, rtol=0)
    assert not console_errors(browser)
