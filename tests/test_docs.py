"""Documentation keeps up with the code: every setting the code reads is in the README."""
import re
from pathlib import Path

from governance.config import SETTINGS_DOC

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _env_names_read_by_code() -> set[str]:
    names = set()
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        src = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"env(?:iron)?\.get\(\s*\"([A-Z_]+)\"", src))
        names |= set(re.findall(r"environ\[\"([A-Z_]+)\"\]", src))
    return names


def test_every_setting_read_is_declared():
    read = _env_names_read_by_code()
    assert "DATABASE_URL" in read  # the scan itself works
    assert read <= set(SETTINGS_DOC)


def test_every_declared_setting_is_documented_in_readme():
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in README]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    block = README.split("```")[1]
    assert "make run" in block and "make test" in block
