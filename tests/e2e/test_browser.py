"""The demo site and the local console in a real headless Chromium, on a rolled-out local cloud.

Opened through the global entry the site names the region the routing chose, a write made in the
page is read back through every region's own API, a 412 is shown with a choice, item data never
runs as markup, and the console's outage button fails the open page over to another region.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.e2e.browser import NO_CHROMIUM, Tab, browser, chromium_path, tab  # noqa: F401 - fixtures
from tests.e2e.conftest import http, rolled_out, wait_until

# Decided before any fixture runs: without a browser no local cloud is started for nothing.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(chromium_path() is None, reason=NO_CHROMIUM)]
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    yield from rolled_out(tmp_path_factory, "browser")


def expect(target: Any):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def routed_region(app, location: str | None = None) -> str:
    """Where the local Route 53 sends a client from `location` now (the entry's default: home)."""
    from globalctl import topology

    record = topology.load(app.config).routing.parameters["RecordName"]
    body = {"name": record, **({"from": location} if location else {})}
    return app.control("resolve", body)["region"]


def replica(app, region: str, item_id: str) -> dict | None:
    found = app.client("dynamodb", region).get_item(TableName="global-items", Key={"id": {"S": item_id}},
                                                    ConsistentRead=True)
    return found.get("Item")


def put(app, item_id: str, data: dict, if_match: int | None = None) -> Any:
    headers = {"If-Match": f'"{if_match}"'} if if_match else {}
    return http("PUT", f"{app.state['global_url']}/items/{item_id}", {"data": data}, headers)


def open_site(tab: Tab, app) -> Any:
    page = tab.open(app.state["global_url"] + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=15000)
    page.wait_for_load_state("load")
    assert not tab.failed_loads, f"the page's own resources failed: {tab.failed_loads}"  # assets, icon
    return page


def test_the_page_loads_from_the_global_entry_and_names_the_region_the_routing_chose(app, tab):
    expected = routed_region(app)
    page = open_site(tab, app)
    expect(page.locator("#served-region")).to_have_text(expected)
    expect(page.locator("#served-release")).to_have_text("v1")
    # Every call since is listed with the region that answered it.
    expect(page.locator("#calls tbody tr").first).to_have_attribute("data-region", expected)
    for region in REGIONS:  # each region's /health, read through its own API (CORS allowed)
        expect(page.locator(f'#health tr[data-region="{region}"]')).to_have_attribute("data-state", "healthy")
    tab.screenshot(page, "site")
    assert not tab.errors


def test_a_write_made_in_the_page_arrives_in_every_regions_replica(app, tab):
    page = open_site(tab, app)
    page.fill("#item-id", "from-the-browser")
    page.fill("#item-data", '{"city": "Lisbon", "n": 1}')
    page.click("#save")
    for region in REGIONS:
        row = page.locator(f'#replication tr[data-region="{region}"]')
        expect(row).to_have_attribute("data-state", "arrived", timeout=20000)
        expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^\d+ ms$"))
    # What the page saw is what every replica holds.
    for region in REGIONS:
        item = replica(app, region, "from-the-browser")
        assert item is not None and item["data"]["M"]["city"] == {"S": "Lisbon"}, region
    expect(page.locator('#item-list tr[data-item-id="from-the-browser"]')).to_be_visible()
    tab.screenshot(page, "site-replication")
    assert not tab.errors


def test_a_conflicting_edit_shows_the_current_version_and_lets_you_choose(app, tab):
    assert put(app, "contested", {"owner": "page"}).status == 201
    page = open_site(tab, app)
    page.locator('#item-list tr[data-item-id="contested"] button', has_text="Edit").click()
    expect(page.locator("#item-version")).to_have_value("1")
    assert put(app, "contested", {"owner": "someone else"}, if_match=1).status == 200  # meanwhile
    page.fill("#item-data", '{"owner": "page, again"}')
    page.click("#save")
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#conflict-version")).to_have_text("2")
    expect(page.locator("#conflict-theirs")).to_contain_text("someone else")
    expect(page.locator("#conflict-mine")).to_contain_text("page, again")
    tab.screenshot(page, "site-conflict")
    page.click("#conflict-overwrite")
    expect(page.locator("#conflict")).to_be_hidden()
    wait_until(lambda: (item := replica(app, "eu-west-1", "contested")) and item["version"]["N"] == "3",
               timeout=10, what="the chosen write at version 3")
    assert replica(app, "eu-west-1", "contested")["data"]["M"]["owner"] == {"S": "page, again"}
    assert not tab.errors


PAYLOADS = {
    "script": "<script>window.__pwned = 'script'</script>",
    "img": '<img src=x onerror="window.__pwned = \'img\'">',
    "svg": "<svg onload=\"window.__pwned = 'svg'\"></svg>",
}


def test_item_data_is_shown_as_text_and_never_runs(app, tab):
    for name, payload in PAYLOADS.items():
        assert put(app, f"xss-{name}", {"note": payload, payload: name}).status == 201
    page = open_site(tab, app)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for name, payload in PAYLOADS.items():
        row = page.locator(f'#item-list tr[data-item-id="xss-{name}"]')
        expect(row).to_be_visible()
        as_json = json.dumps(payload)[1:-1]  # the data is shown as JSON: the markup, as characters
        expect(row.locator("td.data")).to_contain_text(as_json)
        row.locator("button", has_text="Edit").click()
        expect(page.locator("#item-data")).to_have_value(re.compile(re.escape(as_json)))
    # The item ids themselves cannot carry markup (the API refuses them), so data is the vector.
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#item-list img, #item-list script, #item-list svg").count() == 0
    assert not dialogs and not tab.errors


def open_console(tab: Tab, app) -> Any:
    page = tab.open(app.state["console_url"])
    expect(page.locator("#connection")).to_have_attribute("data-state", "ok", timeout=15000)
    return page


def test_the_consoles_outage_button_fails_the_open_page_over_to_another_region(app, tab):
    site = open_site(tab, app)
    serving = site.locator("#served-region").inner_text()
    env = next(name for name, info in app.state["regions"].items() if info["region"] == serving)
    console = open_console(tab, app)
    expect(console.locator(f'#regions tr[data-region="{env}"]')).to_have_attribute("data-serves", "serving")
    tab.screenshot(console, "console")
    try:
        console.click(f'button[data-fault-button="outage"][data-env="{env}"]')
        expect(console.locator(f'#regions tr[data-region="{env}"]')).to_have_attribute("data-fault", "outage")
        expect(console.locator(f'#regions tr[data-region="{env}"]')).to_have_attribute(
            "data-route53", "unhealthy", timeout=20000)
        # The page, still open, refreshes through the global entry: another region answers it now.
        expect(site.locator("#current-region")).not_to_have_text(serving, timeout=30000)
        assert site.locator("#current-region").inner_text() in REGIONS
        expect(site.locator(f'#health tr[data-region="{serving}"]')).not_to_have_attribute(
            "data-state", "healthy", timeout=15000)
        tab.screenshot(site, "site-failover")
        console.click(f'button[data-fault-button="heal"][data-env="{env}"]')
        expect(console.locator(f'#regions tr[data-region="{env}"]')).to_have_attribute("data-fault", "none")
        expect(site.locator("#current-region")).to_have_text(serving, timeout=30000)  # and back
    finally:
        app.control("heal", {"env": "all"})
    assert not tab.errors


def test_a_location_picked_in_the_console_is_where_the_global_entry_routes_the_site_from(app, tab):
    console = open_console(tab, app)
    far = console.locator('#locations [data-location][data-routed-region="ap-southeast-1"]').first
    expect(far).to_be_visible(timeout=15000)
    location = far.get_attribute("data-location")
    far.locator("button[data-pick]").click()
    expect(far).to_have_attribute("data-picked", "true")
    assert any(c["name"] == "localcloud-client-location" and c["value"] == location for c in tab.context.cookies())
    site = open_site(tab, app)  # same browser context: the cookie goes to the global entry
    expect(site.locator("#served-region")).to_have_text("ap-southeast-1")
    assert not tab.errors
