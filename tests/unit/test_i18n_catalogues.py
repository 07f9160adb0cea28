"""The message catalogues against the code: every message marked in Python and templates
is in the ``en`` and ``zh_Hans`` catalogues, Chinese is complete and keeps every
placeholder, the compiled ``.mo`` files match the ``.po`` sources, and no template shows
text that is not wrapped in ``_()``."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
LOCALES = ("en", "zh_Hans")
SOURCE_DIRS = ("portal", "plugins", "templates")


# --- catalogues -----------------------------------------------------------------------


def _tuple(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _text(value: str | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else value or ""


Key = tuple[str, str]  # (context or "", singular msgid)


def _key(message_id: str | tuple[str, ...], context: str | None) -> Key:
    return (context or "", message_id[0] if isinstance(message_id, tuple) else message_id)


@pytest.fixture(scope="module")
def extracted() -> dict[Key, str | tuple[str, ...]]:
    """Every message the code marks, extracted in-process with the repository's babel.cfg
    (the same mapping ``pybabel extract -F babel.cfg`` uses)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)

    def only_sources(path: str) -> bool:
        relative = Path(path).relative_to(ROOT).parts
        return bool(relative) and relative[0] in SOURCE_DIRS and "__pycache__" not in relative

    found: dict[Key, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, directory_filter=only_sources
    ):
        found[_key(message, context)] = message
    assert len(found) > 500, "extraction found suspiciously few messages"
    return found


def _catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.fixture(scope="module", params=LOCALES)
def catalogue(request: pytest.FixtureRequest) -> Catalog:
    return _catalogue(request.param)


def test_every_marked_message_is_in_the_catalogue(extracted, catalogue: Catalog) -> None:
    in_catalogue = {_key(m.id, m.context): m.id for m in catalogue if m.id}
    missing = sorted(set(extracted) - set(in_catalogue))
    assert not missing, (
        f"{catalogue.locale}: {len(missing)} messages missing, run the README's "
        f"'Translations' commands: {missing[:10]}"
    )
    # A message that became plural (or stopped being) must be re-extracted too.
    changed = [
        k
        for k, v in extracted.items()
        if isinstance(v, tuple) != isinstance(in_catalogue[k], tuple)
    ]
    assert not changed, changed


def test_no_obsolete_or_stale_entries(extracted, catalogue: Catalog) -> None:
    assert not catalogue.obsolete, list(catalogue.obsolete)[:10]
    stale = sorted({_key(m.id, m.context) for m in catalogue if m.id} - set(extracted))
    assert not stale, f"{catalogue.locale}: entries no code uses any more: {stale[:10]}"


def test_plural_forms_header() -> None:
    assert _catalogue("en").plural_forms == "nplurals=2; plural=(n != 1);"
    assert _catalogue("zh_Hans").plural_forms == "nplurals=1; plural=0;"


PYTHON_FORMAT = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
BRACE_FIELD = re.compile(r"\{(\w+)")
HTML_TAG = re.compile(r"</?(?:a|abbr|b|br|code|em|kbd|small|span|strong)\b[^<>]*>")


def _shape(text: str) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """What a translation must keep: %(name)s fields, {name} fields, HTML tags, and %%."""
    return (
        Counter(PYTHON_FORMAT.findall(text)),
        Counter(BRACE_FIELD.findall(text)),
        Counter(HTML_TAG.findall(text)),
        text.count("%%"),
    )


def test_chinese_is_complete_and_keeps_placeholders() -> None:
    catalogue = _catalogue("zh_Hans")
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(("fuzzy", ids[0]))
        if not all(strings) or len(strings) != catalogue.num_plurals:
            problems.append(("untranslated", ids[0]))
            continue
        for string in strings:
            # Plural forms may drop the count (a one-form language uses the plural's).
            if _shape(string) != _shape(ids[-1]):
                problems.append(("placeholders differ", ids[0], string))
    assert not problems, problems[:10]


def test_english_entries_are_empty_or_the_source_text() -> None:
    for message in _catalogue("en"):
        if message.id and not message.fuzzy:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            assert all(s in ("", *ids) for s in strings), message.id


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_its_source(locale: str) -> None:
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), (
        f"{mo_path} is missing: `pip install -e .` builds it, or run "
        "`pybabel compile -d portal/translations`"
    )
    with mo_path.open("rb") as fh:
        # read_mo leaves contexts as bytes.
        compiled = {(_text(m.context), _tuple(m.id)): _tuple(m.string) for m in read_mo(fh) if m.id}
    source = {
        (_text(m.context), _tuple(m.id)): _tuple(m.string)
        for m in _catalogue(locale)
        if m.id and not m.fuzzy and all(_tuple(m.string))
    }
    # An untranslated entry and one "translated" to its own source text read the same.
    compiled = {k: v for k, v in compiled.items() if v != k[1]}
    source = {k: v for k, v in source.items() if v != k[1]}
    assert compiled == source, (
        f"{mo_path.name} is older than its .po: run `pybabel compile -d portal/translations`"
    )


# --- templates ------------------------------------------------------------------------

LETTER = re.compile(r"[^\W\d_]")  # any script's letters: English or Chinese alike
EXPRESSION = "\x00"  # stands for a {{ … }}: translated or data, never literal text
VISIBLE_ATTRIBUTES = frozenset(
    {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription"}
)
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
# Code samples (an HTTP header to send) are not language; everything else must be wrapped.
NOT_LANGUAGE = frozenset({"script", "style", "code", "kbd", "samp"})


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in NOT_LANGUAGE:
            self.skipping.append(tag)
        kind = (dict(attrs).get("type") or "").lower()
        for name, value in attrs:
            shown = name in VISIBLE_ATTRIBUTES or (
                name == "value" and tag == "input" and kind in BUTTON_INPUTS
            )
            if shown and value and LETTER.search(value.replace(EXPRESSION, "")):
                self.found.append(f'<{tag} {name}="{value}">')

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and LETTER.search(data.replace(EXPRESSION, "")):
            self.found.append(data.strip())


def untranslated_text(source: str) -> list[str]:
    """Visible text of a Jinja template that is written out instead of wrapped in
    ``_()``: comments and ``{% … %}`` tags are dropped, ``{{ … }}`` become a placeholder
    with no letters, then text nodes and visible attributes must not hold a letter."""
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}", " ", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}", EXPRESSION, source, flags=re.S)
    parser = _VisibleText()
    parser.feed(source)
    parser.close()
    return parser.found


def _templates() -> list[Path]:
    found = sorted((ROOT / "templates").rglob("*.html"))
    found += sorted((ROOT / "plugins").glob("**/templates/**/*.html"))
    assert len(found) > 50
    return found


def test_no_template_shows_untranslated_text() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in _templates()
        if (found := untranslated_text(path.read_text(encoding="utf-8")))
    }
    assert not offenders, offenders


@pytest.mark.parametrize(
    "template",
    [
        "<p>{{ _('Hello') }}</p><p>Welcome back</p>",
        "<button type='submit'>{{ _('Save') }}</button> or cancel",
        '<input type="submit" value="Send">',
        '<img src="x.png" alt="A logo">',
        '<a href="/" title="{{ _(\'Home\') }} page">x</a>',
        "<span aria-label='Close'>×</span>",
        "<p>{% if x %}已结算{% endif %}</p>",
    ],
)
def test_the_checker_catches_bare_text(template: str) -> None:
    assert untranslated_text(template)


@pytest.mark.parametrize(
    "template",
    [
        "<p>{{ _('Hello') }} · {{ name }} — 12 %</p>",
        '<input type="text" value="{{ form.x.data }}" placeholder="{{ _(\'Name\') }}">',
        '{# a comment in English #}<tr{% if me %} class="me"{% endif %}><td>{{ n }}</td></tr>',
        "<script>let english = 'fine';</script><code>Authorization: Bearer …</code>",
        '<input type="hidden" name="next" value="/me">',
    ],
)
def test_the_checker_lets_wrapped_text_and_data_pass(template: str) -> None:
    assert untranslated_text(template) == []
