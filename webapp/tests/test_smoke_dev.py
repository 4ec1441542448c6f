"""The app starts and shows its shell (development check of the harness)."""


def test_shell_shows_branch(tablet):
    page = tablet(role="owner")
    page.get_by_text("Atyrau Beauty").first.wait_for()
