"""The app's own Markdown renderer and SVG chart, run in Chromium on inputs chosen to break them: hostile
HTML and links never become live elements, and the chart shades exactly the drawdown and takes extra
series (the way baselines join a run's curve)."""

from __future__ import annotations

import pytest

from tests.support.spa import expect, needs_chromium, no_page_errors

pytestmark = [needs_chromium, pytest.mark.database_independent]

RENDER = """async (text) => {
  const { renderMarkdown } = await import('/app/lib/markdown.js');
  const box = document.createElement('div');
  box.append(renderMarkdown(text));
  return box.innerHTML;
}"""
LIVE_PARTS = """async (text) => {
  const { renderMarkdown } = await import('/app/lib/markdown.js');
  const box = document.createElement('div');
  box.append(renderMarkdown(text));
  document.body.append(box);
  const elements = [...box.querySelectorAll('*')];
  return {
    tags: [...new Set(elements.map((el) => el.tagName.toLowerCase()))].sort(),
    attributes: [...new Set(elements.flatMap((el) => [...el.attributes].map((a) => a.name)))].sort(),
    hrefs: [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    text: box.textContent,
  };
}"""


@pytest.fixture
async def app_page(server_url, browser):
    page = await browser.new_page()
    await page.goto(f"{server_url}/app/signin")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    yield page
    no_page_errors(browser)


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("Plain *and* **strong** `x<y`", "<p>Plain <em>and</em> <strong>strong</strong> <code>x&lt;y</code></p>"),
        ("# Title\n\ntext", "<h3>Title</h3><p>text</p>"),
        ("line one\nline two", "<p>line one<br>line two</p>"),
        ("- a\n- b\n  - b1\n1. c", "<ul><li>a</li><li>b<ul><li>b1</li></ul></li></ul><ol><li>c</li></ol>"),
        ("> quoted **bit**", "<blockquote><p>quoted <strong>bit</strong></p></blockquote>"),
        ("```js\nif (a < b) {}\n```", '<pre><code class="language-js">if (a &lt; b) {}</code></pre>'),
        (
            "| A | B |\n|---|--:|\n| 1 | *2* |",
            '<div class="table-scroll"><table><thead><tr><th scope="col">A</th><th scope="col">B</th></tr></thead>'
            "<tbody><tr><td>1</td><td><em>2</em></td></tr></tbody></table></div>",
        ),
        (
            "[site](https://example.com/a?b=1&c=2)",
            '<p><a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">'
            "site</a></p>",
        ),
        ("snake_case_name and foo__bar__baz", "<p>snake_case_name and foo__bar__baz</p>"),
        ("---", "<hr>"),
    ],
)
async def test_markdown_renders_its_subset(app_page, markdown, html):
    assert await app_page.evaluate(RENDER, markdown) == html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>window.__xss = 1</script>",
        '<img src="x" onerror="window.__xss = 1">',
        "<svg onload=window.__xss=1>",
        '<a href="javascript:window.__xss=1">x</a>',
        "[click](javascript:window.__xss=1)",
        "[click](JaVaScRiPt:window.__xss=1)",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox)",
        "[click](/relative/path)",
        '**<iframe src="https://example.com"></iframe>**',
        "`<script>window.__xss = 1</script>`",
        "| <b onmouseover=x> | y |\n|---|---|\n| <script>z</script> | w |",
        "```\n</code></pre><script>window.__xss=1</script>\n```",
        "> <style>body { display: none }</style>",
    ],
)
async def test_html_and_unsafe_links_in_markdown_stay_text(app_page, hostile):
    parts = await app_page.evaluate(LIVE_PARTS, hostile)
    assert set(parts["tags"]) <= {"p", "strong", "em", "code", "pre", "a", "blockquote", "div", "table", "thead",
                                  "tbody", "tr", "th", "td", "span", "br"}  # fmt: skip
    assert not [name for name in parts["attributes"] if name.startswith("on") or name in ("style", "src")]
    assert all(href.startswith(("http://", "https://")) for href in parts["hrefs"])
    assert parts["hrefs"] == []  # none of these links is http(s): each stays text
    await app_page.wait_for_timeout(50)
    assert await app_page.evaluate("window.__xss") is None


CHART = """async () => {
  const { lineChart } = await import('/app/lib/chart.js');
  const day = (i) => Date.UTC(2025, 0, 2 + i);
  const values = [100, 110, 120, 90, 95, 130, 135];
  const equity = { id: 'equity', name: 'Portfolio value', points: values.map((v, i) => ({ t: day(i), v })) };
  const chart = lineChart({
    title: 'Test chart',
    series: [equity],
    markers: [{ t: day(1), v: 110, kind: 'buy', text: 'Buy 1' }, { t: day(5), v: 130, kind: 'sell', text: 'Sell 1' }],
  });
  const frame = document.createElement('div');
  frame.style.width = '700px';
  frame.append(chart.element);
  document.body.append(frame);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const svg = frame.querySelector('svg');
  const area = frame.querySelector('path.drawdown').getBBox();
  const line = frame.querySelector('path.series-line').getAttribute('d');
  const legend = () => [...frame.querySelectorAll('.chart-legend li')].map((li) => li.textContent);
  const result = {
    drawdown: [area.x, area.width, area.height],
    points: line.split(/[ML]/).filter(Boolean).map((p) => p.split(',').map(Number)),
    markers: [...svg.querySelectorAll('.marker')].map((m) => [m.getAttribute('class'), m.textContent]),
    legend: legend(),
    label: svg.getAttribute('aria-label'),
  };
  const flat = values.map((v, i) => ({ t: day(i), v: 100 + i }));
  chart.update({ series: [equity, { id: 'qqq', name: 'QQQ', className: 'baseline', points: flat }] });
  const lines = [...frame.querySelectorAll('path.series-line')].map((p) => p.dataset.series);
  result.afterBaseline = { lines, legend: legend() };
  chart.update({ series: [{ ...equity, points: flat }] });
  result.drawdownsOfARisingLine = frame.querySelectorAll('path.drawdown').length;
  return result;
}"""


async def test_the_chart_shades_only_the_drawdown_marks_trades_and_takes_more_series(app_page):
    result = await app_page.evaluate(CHART)
    xs = [x for x, _ in result["points"]]
    drawdown_x, drawdown_width, drawdown_height = result["drawdown"]
    # The value falls below its running peak after the third point and is back above it at the sixth.
    assert drawdown_height > 0
    assert xs[2] - 1 <= drawdown_x and drawdown_x + drawdown_width <= xs[5] + 1
    assert result["markers"] == [["marker buy", "Buy 1"], ["marker sell", "Sell 1"]]
    assert result["legend"] == ["Portfolio value"]
    assert result["label"].startswith("Test chart. 7 values of Portfolio value, from 100 to 135.")
    assert result["afterBaseline"] == {"lines": ["equity", "qqq"], "legend": ["Portfolio value", "QQQ"]}
    assert result["drawdownsOfARisingLine"] == 0
