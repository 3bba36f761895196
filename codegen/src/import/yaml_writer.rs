//! Writes a [`Node`] tree back as YAML, deterministically: the same tree always gives
//! the same bytes, so an imported OpenAPI document is stable under re-import and
//! diffs well.
//!
//! Block style throughout, except that a mapping or list holding only scalars is
//! written on one line in flow style when it fits (`{ type: string, format: uuid }`),
//! as hand-written OpenAPI documents do. Scalars are left plain only when YAML 1.2
//! (and the 1.1 parsers still around) read them back as the same string; anything
//! else is double-quoted.

use crate::parse::yaml::{Node, Value};

/// Flow collections longer than this are written in block style.
const FLOW_WIDTH: usize = 88;

/// The YAML text of `node`, ending with a newline.
pub fn render(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => write_entries(&mut out, entries, 0),
        Value::Seq(items) if !items.is_empty() => write_items(&mut out, items, 0),
        _ => {
            out.push_str(&inline(node).unwrap_or_else(|| flow(node)));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_entries(out: &mut String, entries: &[(Node, Node)], indent: usize) {
    for (key, value) in entries {
        pad(out, indent);
        out.push_str(&key_text(key));
        out.push(':');
        write_after_indicator(out, value, indent);
    }
}

fn write_items(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match &item.value {
            // A mapping starts on the dash's line; its other keys align with the first.
            Value::Map(entries) if !entries.is_empty() && inline(item).is_none() => {
                out.push(' ');
                let mut first = String::new();
                write_entries(&mut first, entries, indent + 2);
                out.push_str(&first[indent + 2..]);
            }
            _ => write_after_indicator(out, item, indent),
        }
    }
}

/// Writes what follows `key:` or `-` at `indent`: a scalar or flow collection on the
/// same line, a literal block, or a nested block collection on the next lines.
fn write_after_indicator(out: &mut String, value: &Node, indent: usize) {
    if let Some(text) = inline(value) {
        out.push(' ');
        out.push_str(&text);
        out.push('\n');
        return;
    }
    match &value.value {
        Value::Str(text) => {
            // `inline` declined: a multi-line string fit for a literal block.
            let chomp = if text.ends_with('\n') { "" } else { "-" };
            out.push_str(&format!(" |{chomp}\n"));
            for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
                if !line.is_empty() {
                    pad(out, indent + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        Value::Map(entries) => {
            out.push('\n');
            write_entries(out, entries, indent + 2);
        }
        Value::Seq(items) => {
            out.push('\n');
            write_items(out, items, indent + 2);
        }
        _ => {
            out.push(' ');
            out.push_str(&flow(value));
            out.push('\n');
        }
    }
}

/// The one-line form of `node` when it has one: scalars (but not strings that read
/// better as literal blocks), empty collections, and short collections of scalars.
fn inline(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(text) if literal_block_fits(text) => None,
        Value::Map(entries) if entries.is_empty() => Some("{}".into()),
        Value::Seq(items) if items.is_empty() => Some("[]".into()),
        Value::Map(_) | Value::Seq(_) => {
            if depth(node) > 2 {
                return None;
            }
            let text = flow(node);
            (text.len() <= FLOW_WIDTH).then_some(text)
        }
        _ => Some(scalar(node, false)),
    }
}

/// Nesting depth: 0 for a scalar, 1 for a collection of scalars, and so on.
fn depth(node: &Node) -> usize {
    match &node.value {
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        Value::Seq(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Flow style, for collections of scalars (nested collections are written too, so
/// the function is total).
fn flow(node: &Node) -> String {
    match &node.value {
        Value::Map(entries) if entries.is_empty() => "{}".into(),
        Value::Seq(items) if items.is_empty() => "[]".into(),
        Value::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k, true), flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => scalar(node, true),
    }
}

fn key_text(key: &Node) -> String {
    match &key.value {
        Value::Map(_) | Value::Seq(_) => format!("? {}", flow(key)),
        _ => scalar(key, false),
    }
}

fn scalar(node: &Node, in_flow: bool) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(flag) => flag.to_string(),
        Value::Int(number) => number.to_string(),
        Value::Float(number) => float(*number),
        Value::Str(text) => string(text, in_flow),
        Value::Map(_) | Value::Seq(_) => flow(node),
    }
}

fn float(number: f64) -> String {
    if number.is_nan() {
        ".nan".into()
    } else if number.is_infinite() {
        if number > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        // Debug keeps a fraction or exponent (`1.0`, `1e-7`), so it reads back as a float.
        format!("{number:?}")
    }
}

/// A string that YAML reads back unchanged: plain when safe, else double-quoted.
pub fn string(text: &str, in_flow: bool) -> String {
    if plain_is_safe(text, in_flow) {
        text.to_string()
    } else {
        double_quoted(text)
    }
}

fn plain_is_safe(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text.trim() != text
        || text
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.starts_with("<<")
        || (in_flow && text.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    // Words YAML 1.1 parsers read as booleans or null, and anything number-like.
    const RESERVED: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
    ];
    if RESERVED.contains(&text.to_ascii_lowercase().as_str()) {
        return false;
    }
    let number_like = text
        .chars()
        .all(|c| c.is_ascii_hexdigit() || "xXoO._+-".contains(c))
        && (first.is_ascii_digit() || "+-.".contains(first));
    let special_float = matches!(
        text.to_ascii_lowercase().trim_start_matches(['+', '-']),
        ".inf" | ".nan" | "inf" | "nan" | "infinity"
    );
    !(number_like || special_float)
}

fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Multi-line text reads best as a literal block, which keeps every character only
/// when no line starts or ends with whitespace and there are no control characters.
fn literal_block_fits(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\n'])
        && body.chars().all(|c| {
            c == '\n' || (!c.is_control() && !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
        })
        && body
            .split('\n')
            .all(|line| line.trim_end() == line && !line.starts_with('\t'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Sources;
    use crate::parse::yaml::{self, Loc};

    fn parse(text: &str) -> Node {
        let mut sources = Sources::default();
        let file = sources.add("t.yaml".into(), "t.yaml".into(), text.to_string());
        yaml::parse(&sources, file).expect("parses")
    }

    fn strip(node: &Node) -> Node {
        let value = match &node.value {
            Value::Seq(items) => Value::Seq(items.iter().map(strip).collect()),
            Value::Map(entries) => {
                Value::Map(entries.iter().map(|(k, v)| (strip(k), strip(v))).collect())
            }
            other => other.clone(),
        };
        Node {
            value,
            loc: Loc::default(),
        }
    }

    fn round_trips(text: &str) -> String {
        let node = parse(text);
        let written = render(&node);
        assert_eq!(strip(&parse(&written)), strip(&node), "{written}");
        assert_eq!(render(&parse(&written)), written, "not stable");
        written
    }

    #[test]
    fn awkward_scalars_read_back_unchanged() {
        round_trips(
            r##"
a: "200"
b: "true"
c: "yes"
d: ""
e: " lead"
f: "a: b"
g: "#hash"
h: "- dash"
i: "1e3"
j: "0x1F"
k: "line\nnext"
l: "tab\there"
m: "trailing "
n: ".inf"
o: "~"
p: "null"
q: "{x}"
r: "[0].message"
s: "quote \" and \\ backslash"
t: 1.5
u: 1.0
v: -3
w: null
x: false
y: "multi\nline\n"
z: "ünïcödé"
"key with: colon": 1
"404": { description: Not found }
"##,
        );
    }

    #[test]
    fn nested_documents_read_back_unchanged() {
        let written = round_trips(
            r##"
paths:
  /people/{id}:
    get:
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
        - name: q
          in: query
          schema:
            type: [string, "null"]
            enum: ["a,b", "c"]
      responses:
        "200":
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Person" }
list_of_lists: [[1, 2], [3]]
empty: { a: {}, b: [] }
"##,
        );
        assert!(
            written.contains("schema: { $ref: \"#/components/schemas/Person\" }"),
            "{written}"
        );
        assert!(written.contains("- { name: id, in: path, required: true"));
    }
}
