//! Provider-side paths in mappings: `properties.firstname`, `values.name[0].first_name`,
//! `[0].errorCode`, or `$` for the whole record.

pub use crate::ir::Seg;

/// Parses a path; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Seg>, String> {
    let text = text.trim();
    if text == "$" {
        return Ok(Vec::new());
    }
    if text.is_empty() {
        return Err("the path is empty (use `$` for the whole record)".into());
    }
    let mut segs = Vec::new();
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or("`[` is not closed")?;
            let index = after[..close]
                .parse::<usize>()
                .map_err(|_| format!("`[{}]` is not an array index", &after[..close]))?;
            segs.push(Seg::Index(index));
            rest = &after[close + 1..];
        } else {
            if !first {
                rest = rest
                    .strip_prefix('.')
                    .ok_or_else(|| format!("expected `.` or `[` before `{rest}`"))?;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err("a path step is empty (two dots in a row?)".into());
            }
            segs.push(Seg::Key(key.to_string()));
            rest = &rest[end..];
        }
        first = false;
    }
    Ok(segs)
}

pub fn display(segs: &[Seg]) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    if out.is_empty() { "$".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse("values.name[0].first_name").unwrap(),
            vec![
                Seg::Key("values".into()),
                Seg::Key("name".into()),
                Seg::Index(0),
                Seg::Key("first_name".into())
            ]
        );
        assert_eq!(
            parse("[0].errorCode").unwrap(),
            vec![Seg::Index(0), Seg::Key("errorCode".into())]
        );
        assert_eq!(parse("$").unwrap(), vec![]);
        assert!(parse("a..b").is_err());
        assert!(parse("a[x]").is_err());
        assert_eq!(display(&parse("a.b[2]").unwrap()), "a.b[2]");
    }
}
