"""The docs hold together: a short README, links that lead to files, configs that ship, and a BENCHMARKS.md that
opens with a summary whose every row leads to its section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightning_spectra.runtime.shipped_files import CONFIGS

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MOST_LINES = 200

# [text](target) and [text](target "title"); images too. Reference-style links are not used in these docs.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", flags=re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# The misspelt names docs/reliability.md runs on purpose, to show the line that lists the shipped ones.
MISSPELT = {"cnnn", "configs/paper/cnnn.yaml"}
# --config NAME and --config=NAME in a command
CONFIG_ARG = re.compile(r"--config[ =](\S+)")


def relative_links(text: str) -> list[str]:
    """The targets of a page's links that name a file of the repository: no scheme, no bare anchor, no mail."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))  # a link shown as code is an example, not a link
    targets = [m.group(1) for m in LINK.finditer(prose)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page.read_text()):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    return broken


def code_blocks(text: str) -> str:
    """Every fenced block and inline code span of a page, one after another."""
    return "\n".join([m.group(0) for m in FENCE.finditer(text)] + INLINE_CODE.findall(FENCE.sub("", text)))


def config_names(text: str) -> list[str]:
    """The values of ``--config`` in a page's code that name a shipped config: a bare name (``cnn``,
    ``paper/lstm``) or a path under ``configs/``. A shell variable, a placeholder (``<name>``), inline YAML and a
    user's own file (``logs/.../config.yaml``, ``sweeps/studies/.../best.yaml``, ``my.yaml``) are skipped."""
    names = []
    for raw in CONFIG_ARG.findall(code_blocks(text)):
        value = raw.strip("`'\",;)")
        if not value or "..." in value or any(c in value for c in "$<>{}[]*") or value in MISSPELT:
            continue
        if value.startswith("configs/") or not value.endswith((".yaml", ".yml")):
            names.append(value)
    return names


def test_the_readme_reads_in_five_minutes() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MOST_LINES, f"README.md has {len(lines)} lines; move details to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_finder_sees_links_and_skips_code_and_web_addresses() -> None:
    text = "See [a](docs/a.md#x), [b](https://example.org) and [c](#top).\n`[d](nowhere.md)`\n```\n[e](gone.md)\n```\n"
    assert relative_links(text) == ["docs/a.md#x"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_config_a_page_names_is_shipped(page: Path) -> None:
    unknown = [
        name for name in config_names(page.read_text()) if CONFIGS.find(name, base=ROOT / "no-such-folder") is None
    ]
    assert unknown == [], f"not shipped configs: {unknown} (known: {CONFIGS.names()})"


def test_the_config_finder_skips_placeholders_and_users_files() -> None:
    text = (
        "```bash\ntrain.py fit --config configs/cnn.yaml\nlightning-spectra fit --config=paper/lstm\n"
        "train.py fit --config $CONFIG\ntrain.py fit --config <name>\ncv --config ... --folds 5\n"
        "train.py predict --config logs/files_csv/version_0/config.yaml\n```\n"
        "and `lightning-spectra-cv --config examples/files_csv`, not --config prose\n"
    )
    assert config_names(text) == ["configs/cnn.yaml", "paper/lstm", "examples/files_csv"]


# ------------------------------------------------------------------------------------------------ BENCHMARKS.md
def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens and underscores dropped, spaces to
    hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def summary_table(text: str) -> list[str]:
    """The rows of the first table of BENCHMARKS.md, which must come before its first ``##`` section."""
    head = text.split("\n## ", 1)[0]
    rows = [line for line in head.splitlines() if line.startswith("|")]
    return rows[2:]  # past the header and its rule


def test_benchmarks_open_with_a_summary_whose_links_are_its_sections() -> None:
    text = (ROOT / "BENCHMARKS.md").read_text()
    rows = summary_table(text)
    assert len(rows) >= 5, "BENCHMARKS.md must open with a summary table, one row per claim"
    sections = {anchor(h) for h in re.findall(r"^## (.+)$", text, flags=re.M)}
    for row in rows:
        targets = re.findall(r"\]\(#([^)]+)\)", row)
        assert targets, f"a summary row without a link to its section: {row}"
        assert set(targets) <= sections, f"no ## section for {set(targets) - sections}: {row}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_into_benchmarks_name_a_section(page: Path) -> None:
    """A link to BENCHMARKS.md#section from the README or a docs page leads to a heading of that name."""
    benchmarks = (ROOT / "BENCHMARKS.md").read_text()
    sections = {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", benchmarks, flags=re.M)}
    links = [t.partition("#") for t in relative_links(page.read_text())]
    wanted = {section for path, _, section in links if path.endswith("BENCHMARKS.md") and section}
    assert wanted <= sections, sorted(wanted - sections)
