"""Front matter, ids, titles and every kind of unreadable file."""

from __future__ import annotations

import pytest

from ingest.articles import parse_article
from rag.errors import ContentError


def test_front_matter_sets_id_title_and_keeps_extras() -> None:
    raw = b"---\nid: trust\ntitle: Building Trust\ntags: [a, b]\n---\nBody text.\n"
    article = parse_article(raw, "x/building.md")
    assert (article.id, article.title) == ("trust", "Building Trust")
    assert article.metadata == {"tags": ["a", "b"]}
    assert article.body == "Body text.\n"
    assert article.body_line == 6  # five lines of front matter above it


@pytest.mark.parametrize(
    ("raw", "source", "want_id", "want_title"),
    [
        (b"# Heading One\n\ntext\n", "team/onboarding.md", "team/onboarding", "Heading One"),
        (b"just text\n", "team/first-week.md", "team/first-week", "First week"),
        (b"---\ntitle: T\n---\n# H\ntext\n", "a.md", "a", "T"),
        (b"---\nid: 42\n---\ntext\n", "a.md", "42", "A"),
        (b"```\n# not a heading\n```\n## Real\n", "b.md", "b", "Real"),
        (b"\xef\xbb\xbf# With BOM\r\ntext\r\n", "c.md", "c", "With BOM"),
    ],
)
def test_id_and_title_defaults(raw: bytes, source: str, want_id: str, want_title: str) -> None:
    article = parse_article(raw, source)
    assert (article.id, article.title) == (want_id, want_title)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"---\nid: x\n---\n\n", "has no text after its front matter"),
        (b"#\n", "has only headings or markup"),
        (b"# Title\n\n## Section\n\n---\n", "has only headings or markup"),
        (b"---\nid: [unclosed\n---\ntext\n", "invalid YAML front matter on line"),
        (b"---\nid: x\ntext without end\n", "never closed"),
        (b"---\n- a\n- b\n---\ntext\n", "must be a mapping"),
        (b"---\nid: [a, b]\n---\ntext\n", "'id' must be text"),
        (b"ok line\nbad \xff byte\n", "not valid UTF-8 (byte 0xff on line 2)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ],
)
def test_bad_files_raise_one_clear_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ContentError) as info:
        parse_article(raw, "bad.md")
    assert reason in str(info.value)
    assert str(info.value).startswith("bad.md: ")
    assert "\n" not in str(info.value)


def test_yaml_error_names_the_file_line() -> None:
    raw = b"---\nid: ok\ntitle: fine\nbroken: : :\n---\ntext\n"
    with pytest.raises(ContentError, match="on line 4"):
        parse_article(raw, "bad.md")


def test_yaml_aliases_are_refused_before_they_expand() -> None:
    # The repro shape: eight levels of aliases, each nine times the one before.
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    raw = ("---\n" + "\n".join(levels) + "\n---\ntext\n").encode()
    assert len(raw) < 1000
    with pytest.raises(ContentError) as info:
        parse_article(raw, "bomb.md")
    assert "aliases such as *a0 are not allowed" in str(info.value)
    assert "on line 3" in str(info.value)


def test_front_matter_and_titles_are_capped() -> None:
    with pytest.raises(ContentError, match="front matter over 64,000 characters"):
        parse_article(b"---\nnote: " + b"x" * 70_000 + b"\n---\ntext\n", "big.md")
    long_title = parse_article(b"# " + b"word " * 20_000 + b"\n\ntext\n", "t.md").title
    assert len(long_title) == 300 and long_title.endswith("…")


def test_read_article_refuses_files_over_the_size_cap(tmp_path) -> None:  # noqa: ANN001
    from ingest.articles import read_article

    (tmp_path / "big.md").write_bytes(b"text. " * 2000)
    with pytest.raises(ContentError, match=r"larger than max_article_bytes \(10,000 bytes\)"):
        read_article(tmp_path / "big.md", tmp_path, max_bytes=10_000)
    assert read_article(tmp_path / "big.md", tmp_path, max_bytes=20_000).body


# Snippets shaped like the 18F handbook (Jekyll/Eleventy) and an ERB-templated handbook.
TEMPLATED = """---
title: Paid parental leave
---
# <%= currentpage.data.title %>

{% alert "Updated guidance" %}
  Read the [leave policy]({% page "/travel-and-leave/leave/" %}) first.
{% endalert %}

<!-- prettier-ignore -->
Ask in {% slack_channel "parents" %} or see the [Slack guide]({{site.baseurl}}/tools/slack/).
{% comment %}TODO link to
the benefits page{% endcomment %}
- Take up to twelve weeks {% include "note.html" %}

## {{ page.subtitle }}

Use `{{ example }}` in templates; CI writes ${{ secrets.TOKEN }}.

```liquid
{% raw %}{% page "/x/" %}{% endraw %}
```

[leave]: {% page "/travel-and-leave/leave/" %}
[guide]: https://handbook.tts.gsa.gov/tools/slack/ "Slack"
[^1]: A footnote is content.
"""


def test_template_tags_comments_and_link_definitions_are_not_content() -> None:
    article = parse_article(TEMPLATED.encode(), "leave.md")
    body = article.body
    before, code, after = body.split("```liquid")[0], *body.split("```liquid")[1].split("```", 1)
    assert article.title == "Paid parental leave"
    assert body.count("\n") == TEMPLATED.split("---\n", 2)[2].count("\n")  # lines kept
    for gone in ("{% page", "{{site", "<%=", "prettier-ignore", "TODO", "{% include",
                 "{{ page.subtitle", "[leave]:", "[guide]:", "{% alert", "{% endalert"):
        assert gone not in before + after, gone
    assert "Read the leave policy first." in body  # link text kept, tag-only target dropped
    assert "Ask in #parents or see the [Slack guide](/tools/slack/)." in body
    assert "Use `{{ example }}` in templates; CI writes ${{ secrets.TOKEN }}." in body
    assert code.strip() == '{% page "/x/" %}'  # code keeps what {% raw %} encloses
    assert "[^1]: A footnote is content." in body


def test_a_heading_that_was_only_a_tag_falls_back_to_the_title(count_tokens) -> None:  # noqa: ANN001
    from ingest.chunker import chunk_article

    chunks = chunk_article(parse_article(TEMPLATED.encode(), "leave.md"), count_tokens)
    assert chunks and all("<%" not in c.heading and "{{" not in c.heading for c in chunks)
    assert chunks[0].heading_path == ("Paid parental leave",)
    assert chunks[0].anchor == "paid-parental-leave"
    untitled = parse_article(b"# {{ page.title }}\n\n## Real heading\n\ntext\n", "a/b-c.md")
    assert untitled.title == "Real heading"  # first heading with text, not the tag
    only_tag = parse_article(b"# <%= title %>\n\ntext\n", "a/b-c.md")
    assert only_tag.title == "B c"


def test_an_article_of_only_template_tags_is_skipped_with_a_reason() -> None:
    with pytest.raises(ContentError, match="has only headings or markup"):
        parse_article(b'# {{ page.title }}\n\n{% include "toc.html" %}\n<!-- x -->\n', "t.md")


@pytest.mark.parametrize(("markdown", "want"), [
    ("a\n[cgeform]:\n  https://www.gsa.gov/forms \"Form\"\nb\n", "a\n\n\nb\n"),  # next-line URL
    ("[Note]: Danger ahead.\n", "[Note]: Danger ahead.\n"),  # not a definition: kept
    ("Use the `{{ \"{%include%}\" }}` tag.\n", "Use the `{%include%}` tag.\n"),  # as shown
    ("Use `{% raw %}{%include%}{% endraw %}`.\n", "Use `{%include%}`.\n"),
    ("Say {{ 'hello' }} and {{ page.x }}!\n", "Say hello and !\n"),
    ("Stray {% and }} and <!-- never closed\n", "Stray {% and }} and <!-- never closed\n"),
])
def test_markup_edge_cases(markdown: str, want: str) -> None:
    from ingest.markup import strip_non_content

    assert strip_non_content(markdown) == want


def test_links_using_a_definition_become_inline_and_tag_links_keep_their_text() -> None:
    # 18F-handbook shapes: reference links whose definitions sit at the page's end, and a
    # link text broken over two lines whose target was only a tag.
    body = parse_article(b"""# Travel

Now [get reimbursed for your travel][travel-guide-4] or [email][Authorizing  Official].
Open the [Concur][] site, see [w][undefined], and `[code][travel-guide-4]` stays.
- For any local travel choose the **[Local
  voucher]({% page "/travel/faq/#local" %})** option.

[travel-guide-4]: {% page "/travel-and-leave/travel-guide-4/" %}
[authorizing official]: https://example.gov/ao "AO"
[concur]:
  <https://concur.example.gov/>
""", "travel.md").body
    assert "Now get reimbursed for your travel or [email](https://example.gov/ao)." in body
    assert "Open the [Concur](https://concur.example.gov/) site, see [w][undefined]" in body
    assert "`[code][travel-guide-4]` stays" in body  # inline code is left as written
    assert "**Local\n  voucher** option." in body  # the line break is kept: lines still match
    assert "]:" not in body and "{%" not in body


# Shaped like the 18F handbook's office pages, accordions and tables (HTML inside Markdown).
HTML_PAGE = """# Chicago

<style type="text/css">
  td {padding: 8px;}
</style>

<div class="table-wrapper">
  <table class="table-office-metadata">
    <tr>
      <td class="col-key"><strong>Location</strong></td>
      <td class="col-value">230 S. Dearborn St.<br />Chicago, IL</td>
    </tr>
  </table>
</div>

<button
  class="usa-accordion__button"
  aria-expanded="true"
>
  Step 1: Join the speakers' bureau
</button>

| Term | Note |
|---|---|
| Owned<sup>1</sup> | a<br>b |

Write <em>officially</em> to <a href="mailto:x@gsa.gov">the office</a>, not to <your-name>.
See <https://www.gsa.gov>; `<td>` is a cell tag.

```html
<td class="kept">code</td>
```
"""


def test_html_tags_are_not_content_but_their_text_is() -> None:
    body = parse_article(HTML_PAGE.encode(), "chicago.md").body
    prose, code = body.split("```html")
    assert body.count("\n") == HTML_PAGE.count("\n")  # line numbers still point into the file
    for gone in ("<style", "padding", "<div", "<td class", "<strong>", "<br", "aria-expanded",
                 "<button", "</button>", "<sup>", "<em>", "<a href", "mailto"):
        assert gone not in prose, gone
    assert "      Location\n" in prose and "230 S. Dearborn St. Chicago, IL" in prose
    assert "\n  Step 1: Join the speakers' bureau\n" in prose
    assert "| Owned 1 | a b |" in prose  # a table row stays one line
    assert "Write officially to the office, not to <your-name>." in prose  # not HTML: kept
    assert "See <https://www.gsa.gov>; `<td>` is a cell tag." in prose  # autolink, code
    assert '<td class="kept">code</td>' in code


def test_front_matter_titles_show_as_the_page_shows_them() -> None:
    """A title's HTML tags go (its text stays); what is not HTML stays; a title that was only
    tags falls back to the first heading."""
    def title(value: str) -> str:
        raw = f"---\ntitle: \"{value}\"\n---\n\n# First heading\n\nText.\n"
        return parse_article(raw.encode(), "t.md").title

    assert title("Set up to travel <em>before</em> onboarding") == \
        "Set up to travel before onboarding"
    assert title("Name files <your-name>.md") == "Name files <your-name>.md"
    assert title("<span></span>") == title("<em> </em>") == "First heading"


def test_content_shortcodes_print_what_the_page_shows() -> None:
    body = parse_article(b"""# Groups

- {% slack_channel "g-research" "the research guild" %} meets weekly.
- Ask in {% slack_channel "#people-ops" %}.

{% alert "Add a signing key, not an authentication key", "warning" %}
  GitHub shows both.
{% endalert %}
{% alert "", "warning" %}
  No heading.
{% endalert %}
""", "groups.md").body
    assert "- [the research guild](#g-research) meets weekly." in body  # name shown, channel kept
    assert "- Ask in #people-ops." in body
    assert "Add a signing key, not an authentication key\n  GitHub shows both." in body
    assert "{%" not in body and "warning" not in body


def test_headings_keep_underscores_inside_words_and_code_spans() -> None:
    """Emphasis marks go; an underscore inside a word is no emphasis (CommonMark), and a code
    span is shown as written: the Node.js guide's `snake_case_` and `NODE_MODULE_VERSION`
    headings lost their underscores before (benchmarks/ingest_fidelity.py, parser 8)."""
    from ingest.articles import clean_heading

    assert clean_heading("Calls read_csv if the *File* Exists") == \
        "Calls read_csv if the File Exists"
    assert clean_heading("`snake_case_` for private fields") == "snake_case_ for private fields"
    assert clean_heading("Update `NODE_MODULE_VERSION`") == "Update NODE_MODULE_VERSION"
    assert clean_heading("**Bold**, _emphasis_ and __strong__") == "Bold, emphasis and strong"
    assert clean_heading("an `unclosed span") == "an unclosed span"
    body = parse_article(b"# T\n\n## Install `depot_tools`\n\nText.\n", "a.md").body
    assert "depot_tools" in body  # the body keeps the Markdown; chunks read clean_heading
