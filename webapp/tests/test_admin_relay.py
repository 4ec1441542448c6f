"""The sync screen of a box whose cloud relay cannot be reached: the uplink's state, its last
error and the counts it does not know yet are shown, in the person's language."""
import pytest
from playwright.sync_api import expect

from conftest import start_box
from clients_admin_helpers import open_app


@pytest.fixture
def box():
    """A demo box told to use a relay nobody listens on (port 9, discard)."""
    started = start_box(environment={"EDGENODE_RELAY_URL": "http://127.0.0.1:9"})
    yield started
    started.stop()


@pytest.mark.parametrize("language, unreachable", [("en", "unreachable"), ("ru", "недоступен")])
def test_sync_screen_shows_an_unreachable_relay(box, tablet, screenshot, check_accessibility, language, unreachable):
    page = open_app(tablet, box, role="owner", language=language, path="/sync")
    uplink = page.get_by_test_id("uplink")
    expect(uplink).to_contain_text("http://127.0.0.1:9")
    expect(uplink).to_contain_text(unreachable, timeout=10000)
    expect(uplink).to_contain_text("Connection refused", timeout=10000)
    screenshot(page, f"sync-relay-{language}")
    check_accessibility(page, f"sync-relay-{language}")
