//! Turning a row's text cells into the JSON object the command center's Node reader produces
//! (SPEC §1): columns in table order, NUMERIC/BIGINT as strings, other numbers as JSON numbers
//! formatted as JavaScript would, dates as `YYYY-MM-DDTHH:MM:SS.sssZ`, NULL as null.

/// How a column's text is written into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A JSON string, escaped: text, NUMERIC, BIGINT, UUID, dates (already formatted by SQL).
    String,
    /// An integer that fits a JavaScript number: written raw.
    Integer,
    /// A float: re-formatted the way JavaScript prints numbers; NaN and infinities become null.
    Float,
    Bool,
    /// JSON text from the database, minified.
    Json,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub sql_type: String,
    pub kind: ColumnKind,
    /// `"name":`, escaped once.
    pub json_key: String,
}

impl Column {
    pub fn new(name: &str, sql_type: &str, kind: ColumnKind) -> Self {
        let mut json_key = String::with_capacity(name.len() + 3);
        push_json_string(&mut json_key, name);
        json_key.push(':');
        Column { name: name.to_string(), sql_type: sql_type.to_string(), kind, json_key }
    }
}

/// Appends `{"col":value,…}` for one row; `cells` are in column order.
pub fn push_row<'a>(out: &mut String, columns: &[Column], cells: impl Iterator<Item = Option<&'a str>>) {
    out.push('{');
    for (i, (column, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&column.json_key);
        match cell {
            None => out.push_str("null"),
            Some(v) => push_value(out, column.kind, v),
        }
    }
    out.push('}');
}

fn push_value(out: &mut String, kind: ColumnKind, v: &str) {
    match kind {
        ColumnKind::String => push_json_string(out, v),
        ColumnKind::Integer => {
            if is_integer(v) {
                out.push_str(v)
            } else {
                out.push_str("null")
            }
        }
        ColumnKind::Float => match v.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => push_js_number(out, f),
            _ => out.push_str("null"),
        },
        ColumnKind::Bool => out.push_str(if matches!(v, "t" | "true" | "1" | "TRUE") { "true" } else { "false" }),
        ColumnKind::Json => push_minified_json(out, v),
    }
}

fn is_integer(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON string escaped exactly as `JSON.stringify` does.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// ECMAScript Number::toString for finite doubles: shortest round-trip digits, exponent form
/// only below 1e-6 or from 1e21 up.
pub fn push_js_number(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde±x".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1; // position of the decimal point relative to the digits
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

/// JSON text with insignificant whitespace removed, key order kept (as `JSON.parse` then
/// `JSON.stringify` would leave it).
pub fn push_minified_json(out: &mut String, json: &str) {
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(f: f64) -> String {
        let mut s = String::new();
        push_js_number(&mut s, f);
        s
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        assert_eq!(js(1.5), "1.5");
        assert_eq!(js(0.1), "0.1");
        assert_eq!(js(100.0), "100");
        assert_eq!(js(-2.25), "-2.25");
        assert_eq!(js(1e20), "100000000000000000000");
        assert_eq!(js(1e21), "1e+21");
        assert_eq!(js(1.5e22), "1.5e+22");
        assert_eq!(js(0.000001), "0.000001");
        assert_eq!(js(1e-7), "1e-7");
        assert_eq!(js(1.25e-8), "1.25e-8");
        assert_eq!(js(123456.789), "123456.789");
    }

    #[test]
    fn strings_are_escaped_as_json_stringify_does() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\nd\te\u{1}f/é\u{2028}");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\te\\u0001f/é\u{2028}\"");
    }

    #[test]
    fn json_is_minified_without_reordering() {
        let mut s = String::new();
        push_minified_json(&mut s, "{\"b\": 1, \"a\": [1, 2, {\"x y\": \" s \\\" \"}]}");
        assert_eq!(s, "{\"b\":1,\"a\":[1,2,{\"x y\":\" s \\\" \"}]}");
    }

    #[test]
    fn a_row_keeps_column_order_and_nulls() {
        let cols = [
            Column::new("practice_uid", "int4", ColumnKind::Integer),
            Column::new("measure", "text", ColumnKind::String),
            Column::new("measure_value", "numeric", ColumnKind::String),
            Column::new("ok", "bool", ColumnKind::Bool),
            Column::new("ratio", "float8", ColumnKind::Float),
        ];
        let mut s = String::new();
        push_row(&mut s, &cols, [Some("114"), Some("Charges"), Some("12.50"), None, Some("NaN")].into_iter());
        assert_eq!(s, r#"{"practice_uid":114,"measure":"Charges","measure_value":"12.50","ok":null,"ratio":null}"#);
    }
}
