"""The catalogues: no key missing in any language, plural entries with every form their language
needs, and every key the sources use defined (webapp/tools/check-locales.mjs, run by node)."""
import os, subprocess

from conftest import REPO


def test_catalogues_are_complete():
    result = subprocess.run(["node", os.path.join(REPO, "webapp", "tools", "check-locales.mjs")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_a_missing_key(tmp_path):
    """The check itself can fail: a copy of the sources with one Kazakh text removed is refused."""
    import shutil
    copy = tmp_path / "webapp"
    shutil.copytree(os.path.join(REPO, "webapp", "src"), copy / "src")
    shutil.copytree(os.path.join(REPO, "webapp", "tools"), copy / "tools")
    core = copy / "src" / "locales" / "core.js"
    text = core.read_text()
    marker = "'pairing.ask': 'Қосылуды сұрау',"
    assert marker in text
    core.write_text(text.replace(marker, ""))
    result = subprocess.run(["node", str(copy / "tools" / "check-locales.mjs")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and '"pairing.ask" is missing in kk' in result.stdout, result.stdout + result.stderr
