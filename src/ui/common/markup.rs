//! Read-only markup written as text: figures, facts and tables that never change in place (a
//! refresh draws them anew) and hold nothing to click or type into. A typed view compiles its
//! own build, hydrate and rebuild code for every element tuple it has; a section written here is
//! one plain function whose text the page places with `inner_html`, on the server and in the
//! browser alike (BENCHMARKS.md, "Read-only sections as text"). Tag and attribute names are
//! the caller's literals; every text and attribute value is escaped here.

use crate::format::html_escape;

/// A fragment of HTML being written, element by element.
#[derive(Default)]
pub struct Markup(String);

impl Markup {
    pub fn new() -> Self {
        Self::default()
    }

    /// `<tag name="value" …>`; attributes with an empty name are left out, so a caller can
    /// write an optional one as `(if cond { "name" } else { "" }, value)`.
    pub fn open(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        for (name, value) in attrs.iter().filter(|(name, _)| !name.is_empty()) {
            self.0.push(' ');
            self.0.push_str(name);
            self.0.push_str("=\"");
            self.0.push_str(&html_escape(value));
            self.0.push('"');
        }
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &'static str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.0.push_str(&html_escape(text));
        self
    }

    /// `<tag …>text</tag>`.
    pub fn el(&mut self, tag: &'static str, attrs: &[(&'static str, &str)], text: &str) -> &mut Self {
        self.open(tag, attrs).text(text).close(tag)
    }

    /// `<tag …>`, what `inside` writes, `</tag>`.
    pub fn wrap(
        &mut self,
        tag: &'static str,
        attrs: &[(&'static str, &str)],
        inside: impl FnOnce(&mut Markup),
    ) -> &mut Self {
        self.open(tag, attrs);
        inside(self);
        self.close(tag)
    }

    /// A table body's row of cells, each `(class, text)`.
    pub fn row(&mut self, cells: &[(&'static str, &str)]) -> &mut Self {
        self.wrap("tr", &[], |m| {
            for (class, text) in cells {
                m.el("td", &[(if class.is_empty() { "" } else { "class" }, class)], text);
            }
        })
    }

    /// One figure of a `dl.stats`: its term, its value (with a test id unless empty) and an
    /// optional muted line under it.
    pub fn stat(&mut self, term: &str, testid: &str, value: &str, note: Option<&str>) -> &mut Self {
        self.wrap("div", &[], |m| {
            m.el("dt", &[], term);
            m.el("dd", &[(if testid.is_empty() { "" } else { "data-testid" }, testid)], value);
            if let Some(note) = note {
                m.el("dd", &[("class", "muted small")], note);
            }
        })
    }

    /// A bar as the stylesheet draws it (`class` is `bar`, `bar warn`, `bar danger`), with its
    /// value for assistive technology.
    pub fn meter(&mut self, class: &'static str, label: &str, percent: f64) -> &mut Self {
        let now = format!("{percent:.0}");
        let width = format!("width: {:.1}%", percent.clamp(0.0, 100.0));
        let attrs = [
            ("class", class),
            ("role", "progressbar"),
            ("aria-label", label),
            ("aria-valuemin", "0"),
            ("aria-valuemax", "100"),
            ("aria-valuenow", now.as_str()),
        ];
        self.wrap("div", &attrs, |m| {
            m.el("span", &[("style", &width)], "");
        })
    }

    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attribute_values_are_escaped_and_elements_nest() {
        let mut m = Markup::new();
        m.wrap("dl", &[("class", "stats"), ("data-key", r#"a"b<c>"#)], |m| {
            m.el("dt", &[], "Keys & <values>");
            m.el("dd", &[("", "left out"), ("class", "num")], "1,234");
        });
        m.wrap("table", &[], |m| {
            m.row(&[("mono", "<script>"), ("", "plain")]);
        });
        m.meter("bar warn", "Memory used", 123.4);
        assert_eq!(
            m.finish(),
            concat!(
                r#"<dl class="stats" data-key="a&quot;b&lt;c&gt;"><dt>Keys &amp; &lt;values&gt;</dt>"#,
                r#"<dd class="num">1,234</dd></dl>"#,
                r#"<table><tr><td class="mono">&lt;script&gt;</td><td>plain</td></tr></table>"#,
                r#"<div class="bar warn" role="progressbar" aria-label="Memory used" aria-valuemin="0" "#,
                r#"aria-valuemax="100" aria-valuenow="123"><span style="width: 100.0%"></span></div>"#
            )
        );
    }
}
