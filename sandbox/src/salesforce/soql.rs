//! A SOQL subset on `GET /query?q=`: `SELECT f, … | COUNT() FROM T [WHERE …]
//! [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]`.
//!
//! Conditions are `=`, `!=`/`<>`, `<`, `<=`, `>`, `>=`, `[NOT] LIKE`, `[NOT] IN (…)`,
//! combined with `AND`/`OR`/`NOT` and parentheses (mixing AND and OR needs parentheses,
//! as in SOQL). Literals are quoted strings, numbers, `true`/`false`/`null`, and unquoted
//! dates and datetimes. Results page through a snapshot of matching ids kept in the store.

use std::cmp::Ordering;
use std::fmt::Write as _;

use axum::http::HeaderMap;

use super::*;
use crate::state::QueryCursor;

/// Default and largest page size; `Sforce-Query-Options: batchSize=N` picks within
/// `BATCH_MIN..=BATCH_MAX`.
const BATCH_MAX: usize = 2000;
const BATCH_MIN: usize = 200;
/// Largest OFFSET Salesforce accepts.
const OFFSET_MAX: usize = 2000;

/// A query failure: error code, character offset into the query, and detail text.
struct QueryError {
    code: &'static str,
    at: usize,
    detail: String,
}

type Parsed<T> = Result<T, QueryError>;

fn malformed(at: usize, detail: impl Into<String>) -> QueryError {
    QueryError {
        code: "MALFORMED_QUERY",
        at,
        detail: detail.into(),
    }
}

/// Salesforce's query error body: the offending line, a caret and `ERROR at Row:R:Column:C`.
fn query_error(query: &str, e: &QueryError) -> Reply {
    let before = query.get(..e.at).unwrap_or(query);
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = query[line_start..].lines().next().unwrap_or("");
    let mut message = String::new();
    let _ = write!(
        message,
        "\n{line}\n{}^\nERROR at Row:{row}:Column:{column}\n{}",
        " ".repeat(column - 1),
        e.detail
    );
    bad_request(e.code, &message, None)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    /// Unquoted literal starting with a digit or `-`: number, date or datetime.
    Literal(String),
    Op(&'static str),
    Comma,
    Open,
    Close,
}

fn tokenize(query: &str) -> Parsed<Vec<(usize, Token)>> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = query.char_indices().collect();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '=' => Token::Op("="),
            '!' if next == Some('=') => {
                i += 1;
                Token::Op("!=")
            }
            '<' if next == Some('>') => {
                i += 1;
                Token::Op("!=")
            }
            '<' if next == Some('=') => {
                i += 1;
                Token::Op("<=")
            }
            '>' if next == Some('=') => {
                i += 1;
                Token::Op(">=")
            }
            '<' => Token::Op("<"),
            '>' => Token::Op(">"),
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i).map(|(_, c)| *c) {
                        None => {
                            return Err(malformed(
                                at,
                                "unexpected end of query: unterminated string literal",
                            ));
                        }
                        Some('\'') => break,
                        Some('\\') => {
                            let escaped = chars.get(i + 1).map(|(_, c)| *c);
                            text.push(match escaped {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some(other) => other,
                                None => {
                                    return Err(malformed(
                                        at,
                                        "unexpected end of query: unterminated string literal",
                                    ));
                                }
                            });
                            i += 2;
                            continue;
                        }
                        Some(other) => text.push(other),
                    }
                    i += 1;
                }
                Token::Str(text)
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let mut text = String::from(c);
                while let Some(&(_, n)) = chars.get(i + 1) {
                    if n.is_ascii_alphanumeric() || matches!(n, '.' | ':' | '-' | '+') {
                        text.push(n);
                        i += 1;
                    } else {
                        break;
                    }
                }
                Token::Literal(text)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut text = String::from(c);
                while let Some(&(_, n)) = chars.get(i + 1) {
                    if n.is_alphanumeric() || matches!(n, '_' | '.') {
                        text.push(n);
                        i += 1;
                    } else {
                        break;
                    }
                }
                Token::Word(text)
            }
            other => return Err(malformed(at, format!("unexpected token: '{other}'"))),
        };
        tokens.push((at, token));
        i += 1;
    }
    Ok(tokens)
}

/// A literal value of a condition.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

/// How a field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Text => "string",
            FieldType::Number => "double",
            FieldType::Bool => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "dateTime",
        }
    }
}

/// A field's value in one record.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

/// The comparison type of a canonical field name.
fn field_type(sobject: &SObject, name: &str) -> FieldType {
    match name {
        "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => FieldType::DateTime,
        "IsDeleted" => FieldType::Bool,
        _ => match sobject.field(name).map(|f| f.kind) {
            Some(Kind::Int | Kind::Double) => FieldType::Number,
            Some(Kind::Bool) => FieldType::Bool,
            Some(Kind::Date) => FieldType::Date,
            _ => FieldType::Text,
        },
    }
}

/// The value of a canonical field in a record, without rendering the whole record.
fn cell(record: &StoredRecord, name: &str, ty: FieldType) -> Cell {
    match name {
        "Id" => return Cell::Text(record.id.to_lowercase()),
        "CreatedDate" => return Cell::DateTime(record.created_at),
        "LastModifiedDate" | "SystemModstamp" => return Cell::DateTime(record.updated_at),
        "IsDeleted" => return Cell::Bool(false),
        "CreatedById" | "LastModifiedById" => return Cell::Text(api_user_id().to_lowercase()),
        _ => {}
    }
    match (record.fields.get(name), ty) {
        (None | Some(Value::Null), _) => Cell::Null,
        (Some(Value::String(s)), _) if s.is_empty() => Cell::Null,
        (Some(Value::String(s)), FieldType::Date) => {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or(Cell::Null, Cell::Date)
        }
        (Some(Value::String(s)), _) => Cell::Text(s.to_lowercase()),
        (Some(Value::Number(n)), _) => n.as_f64().map_or(Cell::Null, Cell::Number),
        (Some(Value::Bool(b)), _) => Cell::Bool(*b),
        (Some(_), _) => Cell::Null,
    }
}

/// Orders two non-null cells of the same type.
fn order(a: &Cell, b: &Cell) -> Option<Ordering> {
    match (a, b) {
        (Cell::Text(x), Cell::Text(y)) => Some(x.cmp(y)),
        (Cell::Number(x), Cell::Number(y)) => x.partial_cmp(y),
        (Cell::Bool(x), Cell::Bool(y)) => Some(x.cmp(y)),
        (Cell::Date(x), Cell::Date(y)) => Some(x.cmp(y)),
        (Cell::DateTime(x), Cell::DateTime(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// A literal as a cell of the field's type (strings lower-cased: SOQL text comparisons
/// ignore case).
fn literal_cell(literal: &Literal) -> Cell {
    match literal {
        Literal::Null => Cell::Null,
        Literal::Bool(b) => Cell::Bool(*b),
        Literal::Number(n) => Cell::Number(*n),
        Literal::Str(s) => Cell::Text(s.to_lowercase()),
        Literal::Date(d) => Cell::Date(*d),
        Literal::DateTime(t) => Cell::DateTime(*t),
    }
}

#[derive(Debug)]
enum Condition {
    Compare {
        field: &'static str,
        ty: FieldType,
        op: &'static str,
        value: Cell,
    },
    Like {
        field: &'static str,
        pattern: String,
        negated: bool,
    },
    In {
        field: &'static str,
        ty: FieldType,
        values: Vec<Cell>,
        negated: bool,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

/// SQL LIKE with `%` and `_`, on lower-cased text. Greedy matching that backtracks only to
/// the last `%`, so a request's pattern cannot make it exponential.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '_' || c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((star_pi, star_ti)) => {
                    pi = star_pi + 1;
                    ti = star_ti + 1;
                    star = Some((star_pi, star_ti + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

impl Condition {
    fn matches(&self, record: &StoredRecord) -> bool {
        match self {
            Condition::Compare {
                field,
                ty,
                op,
                value,
            } => {
                let actual = cell(record, field, *ty);
                match (op, &actual, value) {
                    (&"=", _, Cell::Null) => actual == Cell::Null,
                    (&"!=", _, Cell::Null) => actual != Cell::Null,
                    (&"!=", Cell::Null, _) => true,
                    (_, Cell::Null, _) | (_, _, Cell::Null) => false,
                    (op, a, b) => {
                        let Some(ordering) = order(a, b) else {
                            return false;
                        };
                        match *op {
                            "=" => ordering.is_eq(),
                            "!=" => ordering.is_ne(),
                            "<" => ordering.is_lt(),
                            "<=" => ordering.is_le(),
                            ">" => ordering.is_gt(),
                            _ => ordering.is_ge(),
                        }
                    }
                }
            }
            Condition::Like {
                field,
                pattern,
                negated,
            } => {
                let matched = match cell(record, field, FieldType::Text) {
                    Cell::Text(text) => like(&text, pattern),
                    _ => false,
                };
                matched != *negated
            }
            Condition::In {
                field,
                ty,
                values,
                negated,
            } => {
                let actual = cell(record, field, *ty);
                let found = values.iter().any(|v| {
                    if *v == Cell::Null {
                        actual == Cell::Null
                    } else {
                        order(&actual, v).is_some_and(Ordering::is_eq)
                    }
                });
                found != *negated
            }
            Condition::And(all) => all.iter().all(|c| c.matches(record)),
            Condition::Or(any) => any.iter().any(|c| c.matches(record)),
            Condition::Not(inner) => !inner.matches(record),
        }
    }
}

struct OrderBy {
    field: &'static str,
    ty: FieldType,
    descending: bool,
    nulls_first: bool,
}

/// A parsed query.
struct Soql {
    sobject: &'static SObject,
    /// Selected canonical field names; empty for `COUNT()`.
    fields: Vec<&'static str>,
    count: bool,
    condition: Option<Condition>,
    order: Vec<OrderBy>,
    limit: Option<usize>,
    offset: usize,
}

struct Parser {
    /// The sObjects queries may name, with their custom fields.
    schema: Vec<&'static SObject>,
    tokens: Vec<(usize, Token)>,
    pos: usize,
    /// Length of the query, the position reported at its end.
    end: usize,
}

fn is_keyword(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.pos + ahead).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn next(&mut self) -> Option<(usize, Token)> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn unexpected(&self) -> QueryError {
        match self.tokens.get(self.pos) {
            None => malformed(self.end, "unexpected token: <EOF>"),
            Some((at, token)) => {
                let shown = match token {
                    Token::Word(w) | Token::Literal(w) => w.clone(),
                    Token::Str(s) => format!("'{s}'"),
                    Token::Op(op) => (*op).to_owned(),
                    Token::Comma => ",".into(),
                    Token::Open => "(".into(),
                    Token::Close => ")".into(),
                };
                malformed(*at, format!("unexpected token: '{shown}'"))
            }
        }
    }

    fn keyword(&mut self, keyword: &str) -> Parsed<()> {
        if is_keyword(self.peek(), keyword) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn accept(&mut self, keyword: &str) -> bool {
        let found = is_keyword(self.peek(), keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn word(&mut self) -> Parsed<(usize, String)> {
        match self.next() {
            Some((at, Token::Word(w))) => Ok((at, w)),
            _ => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }

    /// A field name of the queried sObject, as its canonical name.
    fn field(&self, sobject: &SObject, at: usize, name: &str) -> Parsed<&'static str> {
        sobject
            .field(name)
            .map(|f| f.name)
            .or_else(|| system_field(name))
            .ok_or_else(|| QueryError {
                code: "INVALID_FIELD",
                at,
                detail: format!(
                    "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    sobject.name
                ),
            })
    }

    fn integer(&mut self) -> Parsed<usize> {
        match self.next() {
            Some((_, Token::Literal(text))) if text.bytes().all(|b| b.is_ascii_digit()) => text
                .parse()
                .map_err(|_| malformed(self.at(), format!("unexpected token: '{text}'"))),
            _ => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }

    fn parse(&mut self) -> Parsed<Soql> {
        self.keyword("SELECT")?;
        let mut selected = Vec::new();
        let mut count = false;
        if is_keyword(self.peek(), "COUNT") && self.peek_at(1) == Some(&Token::Open) {
            self.pos += 2;
            if self.next().map(|(_, t)| t) != Some(Token::Close) {
                self.pos -= 1;
                return Err(self.unexpected());
            }
            count = true;
        } else {
            loop {
                selected.push(self.word()?);
                if self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.keyword("FROM")?;
        let (object_at, object_name) = self.word()?;
        let sobject = describe::find(&self.schema, &object_name).ok_or_else(|| QueryError {
            code: "INVALID_TYPE",
            at: object_at,
            detail: format!(
                "sObject type '{object_name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        })?;
        let mut fields = Vec::new();
        for (at, name) in &selected {
            let field = self.field(sobject, *at, name)?;
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        let condition = if self.accept("WHERE") {
            Some(self.expression(sobject)?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.accept("ORDER") {
            self.keyword("BY")?;
            loop {
                let (at, name) = self.word()?;
                let field = self.field(sobject, at, &name)?;
                let descending = if self.accept("DESC") {
                    true
                } else {
                    self.accept("ASC");
                    false
                };
                let nulls_first = if self.accept("NULLS") {
                    if self.accept("FIRST") {
                        true
                    } else {
                        self.keyword("LAST")?;
                        false
                    }
                } else {
                    !descending
                };
                order.push(OrderBy {
                    field,
                    ty: field_type(sobject, field),
                    descending,
                    nulls_first,
                });
                if self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        let limit = if self.accept("LIMIT") {
            Some(self.integer()?)
        } else {
            None
        };
        let offset = if self.accept("OFFSET") {
            let at = self.at();
            let offset = self.integer()?;
            if offset > OFFSET_MAX {
                return Err(QueryError {
                    code: "NUMBER_OUTSIDE_VALID_RANGE",
                    at,
                    detail: format!("Maximum SOQL offset allowed is {OFFSET_MAX}"),
                });
            }
            offset
        } else {
            0
        };
        if self.peek().is_some() {
            return Err(self.unexpected());
        }
        Ok(Soql {
            sobject,
            fields,
            count,
            condition,
            order,
            limit,
            offset,
        })
    }

    /// `term ((AND|OR) term)*`; one connective per level, as SOQL requires.
    fn expression(&mut self, sobject: &'static SObject) -> Parsed<Condition> {
        let first = self.term(sobject)?;
        let mut terms = vec![first];
        let mut connective: Option<bool> = None;
        loop {
            let is_and = if is_keyword(self.peek(), "AND") {
                true
            } else if is_keyword(self.peek(), "OR") {
                false
            } else {
                break;
            };
            if connective.is_some_and(|c| c != is_and) {
                return Err(self.unexpected());
            }
            connective = Some(is_and);
            self.pos += 1;
            terms.push(self.term(sobject)?);
        }
        Ok(match (connective, terms.len()) {
            (_, 1) => terms.pop().unwrap_or(Condition::And(Vec::new())),
            (Some(false), _) => Condition::Or(terms),
            _ => Condition::And(terms),
        })
    }

    fn term(&mut self, sobject: &'static SObject) -> Parsed<Condition> {
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.expression(sobject)?;
            if self.next().map(|(_, t)| t) != Some(Token::Close) {
                self.pos -= 1;
                return Err(self.unexpected());
            }
            return Ok(inner);
        }
        if self.accept("NOT") {
            return Ok(Condition::Not(Box::new(self.term(sobject)?)));
        }
        let (at, name) = self.word()?;
        let field = self.field(sobject, at, &name)?;
        let ty = field_type(sobject, field);
        let negated = self.accept("NOT");
        if self.accept("LIKE") {
            let value_at = self.at();
            return match self.next() {
                Some((_, Token::Str(pattern))) if ty == FieldType::Text => Ok(Condition::Like {
                    field,
                    pattern: pattern.to_lowercase(),
                    negated,
                }),
                Some(_) => Err(QueryError {
                    code: "INVALID_FIELD",
                    at: value_at,
                    detail: format!("invalid operator on {} field: {field}", ty.name()),
                }),
                None => Err(self.unexpected()),
            };
        }
        if self.accept("IN") {
            if self.next().map(|(_, t)| t) != Some(Token::Open) {
                self.pos -= 1;
                return Err(self.unexpected());
            }
            let mut values = Vec::new();
            loop {
                let literal = id_literal(sobject, field, self.literal(field, ty)?);
                values.push(literal_cell(&literal));
                match self.next().map(|(_, t)| t) {
                    Some(Token::Comma) => continue,
                    Some(Token::Close) => break,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected());
                    }
                }
            }
            return Ok(Condition::In {
                field,
                ty,
                values,
                negated,
            });
        }
        if negated {
            return Err(self.unexpected());
        }
        let op = match self.next() {
            Some((_, Token::Op(op))) => op,
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        let literal = id_literal(sobject, field, self.literal(field, ty)?);
        if literal == Literal::Null && !matches!(op, "=" | "!=") {
            return Err(malformed(
                self.at(),
                format!("invalid operator on null: {op}"),
            ));
        }
        Ok(Condition::Compare {
            field,
            ty,
            op,
            value: literal_cell(&literal),
        })
    }

    /// A literal that must fit the field's type, as Salesforce checks at parse time.
    fn literal(&mut self, field: &str, ty: FieldType) -> Parsed<Literal> {
        let at = self.at();
        let Some((_, token)) = self.next() else {
            return Err(self.unexpected());
        };
        let mismatch = |quoted: bool| QueryError {
            code: "INVALID_FIELD",
            at,
            detail: if ty == FieldType::Text {
                format!(
                    "value of filter criterion for field '{field}' must be of type string and should be enclosed in quotes"
                )
            } else if quoted {
                format!(
                    "value of filter criterion for field '{field}' must be of type {} and should not be enclosed in quotes",
                    ty.name()
                )
            } else {
                format!(
                    "value of filter criterion for field '{field}' must be of type {}",
                    ty.name()
                )
            },
        };
        let literal = match token {
            Token::Word(w) if w.eq_ignore_ascii_case("null") => return Ok(Literal::Null),
            Token::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Token::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Token::Str(s) => Literal::Str(s),
            Token::Literal(text) => {
                if let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
                    Literal::Date(date)
                } else if let Ok(time) = DateTime::parse_from_rfc3339(&text) {
                    Literal::DateTime(time.with_timezone(&Utc))
                } else if let Ok(number) = text.parse::<f64>() {
                    Literal::Number(number)
                } else {
                    return Err(malformed(at, format!("unexpected token: '{text}'")));
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        let fits = matches!(
            (ty, &literal),
            (FieldType::Text, Literal::Str(_))
                | (FieldType::Number, Literal::Number(_))
                | (FieldType::Bool, Literal::Bool(_))
                | (FieldType::Date, Literal::Date(_))
                | (FieldType::DateTime, Literal::DateTime(_))
        );
        if fits {
            Ok(literal)
        } else {
            Err(mismatch(matches!(literal, Literal::Str(_))))
        }
    }
}

/// Id and lookup comparisons accept 15-character ids, as Salesforce does: they are
/// compared in their 18-character form.
fn id_literal(sobject: &SObject, field: &str, literal: Literal) -> Literal {
    let is_id = field == "Id"
        || matches!(
            sobject.field(field).map(|f| f.kind),
            Some(Kind::Reference(_))
        );
    match literal {
        Literal::Str(s) if is_id => Literal::Str(canonical_id(&s).unwrap_or(s)),
        other => other,
    }
}

fn parse(query: &str, schema: Vec<&'static SObject>) -> Parsed<Soql> {
    let tokens = tokenize(query)?;
    let mut parser = Parser {
        schema,
        tokens,
        pos: 0,
        end: query.len(),
    };
    parser.parse()
}

/// The page size a request asks for through `Sforce-Query-Options: batchSize=N`.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|part| part.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .map_or(BATCH_MAX, |n| n.clamp(BATCH_MIN, BATCH_MAX))
}

/// A query locator id: `01g` key prefix plus a base-62 counter, 18 characters.
fn new_locator(store: &mut Store) -> String {
    new_id("01g", store.next_sequence())
}

/// Renders one page of a cursor and keeps the cursor when more pages follow.
fn page(
    store: &mut Store,
    version: &str,
    locator: String,
    cursor: QueryCursor,
    offset: usize,
) -> Reply {
    let sobject = sobject_by_name(cursor.object).unwrap_or(&CONTACT);
    let sobject = describe::with_custom(store, sobject);
    let end = offset
        .saturating_add(cursor.batch_size)
        .min(cursor.ids.len());
    let records: Vec<Value> = cursor
        .ids
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| store.get(sobject.name, id))
        .map(|r| render(sobject, r, version, Some(&cursor.fields)))
        .collect();
    let done = end >= cursor.ids.len();
    let mut body = json!({"totalSize": cursor.ids.len(), "done": done});
    if !done {
        body["nextRecordsUrl"] = format!("/services/data/{version}/query/{locator}-{end}").into();
    }
    body["records"] = Value::Array(records);
    store.query_cursors.insert(locator, cursor);
    reply(StatusCode::OK, body)
}

/// `GET /services/data/{version}/query?q=SELECT …`
pub(super) async fn query(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Reply {
    let (Ok(Path(version)), Ok(Query(params))) = (path, params) else {
        return not_found();
    };
    if !valid_version(&version) {
        return not_found();
    }
    let Some(text) = params
        .iter()
        .rev()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
    else {
        return bad_request(
            "MALFORMED_QUERY",
            "A query string has to be specified",
            None,
        );
    };
    let schema = state.with_store(|store| describe::schema(store));
    let parsed = match parse(text, schema) {
        Ok(parsed) => parsed,
        Err(e) => return query_error(text, &e),
    };
    let batch = batch_size(&headers);
    state.with_store(|store| {
        let records = store.all(parsed.sobject.name);
        let mut matched: Vec<&StoredRecord> = records
            .iter()
            .filter(|r| parsed.condition.as_ref().is_none_or(|c| c.matches(r)))
            .collect();
        if !parsed.order.is_empty() {
            let mut keyed: Vec<(Vec<Cell>, &StoredRecord)> = matched
                .into_iter()
                .map(|r| {
                    let keys = parsed
                        .order
                        .iter()
                        .map(|o| cell(r, o.field, o.ty))
                        .collect();
                    (keys, r)
                })
                .collect();
            keyed.sort_by(|(a, _), (b, _)| {
                parsed
                    .order
                    .iter()
                    .zip(a.iter().zip(b))
                    .map(|(o, (x, y))| match (x, y) {
                        (Cell::Null, Cell::Null) => Ordering::Equal,
                        (Cell::Null, _) if o.nulls_first => Ordering::Less,
                        (Cell::Null, _) => Ordering::Greater,
                        (_, Cell::Null) if o.nulls_first => Ordering::Greater,
                        (_, Cell::Null) => Ordering::Less,
                        _ => {
                            let ordering = order(x, y).unwrap_or(Ordering::Equal);
                            if o.descending {
                                ordering.reverse()
                            } else {
                                ordering
                            }
                        }
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
            matched = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let ids: Vec<String> = matched
            .into_iter()
            .skip(parsed.offset)
            .take(parsed.limit.unwrap_or(usize::MAX))
            .map(|r| r.id.clone())
            .collect();
        if parsed.count {
            return reply(
                StatusCode::OK,
                json!({"totalSize": ids.len(), "done": true, "records": []}),
            );
        }
        let locator = new_locator(store);
        let cursor = QueryCursor {
            object: parsed.sobject.name,
            fields: parsed.fields,
            ids,
            batch_size: batch,
        };
        page(store, &version, locator, cursor, 0)
    })
}

/// `GET /services/data/{version}/query/{locator}-{offset}`: the next page of a query.
pub(super) async fn more(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((version, locator))) = path else {
        return not_found();
    };
    if !valid_version(&version) {
        return not_found();
    }
    let invalid = || bad_request("INVALID_QUERY_LOCATOR", "invalid query locator", None);
    let Some((id, offset)) = locator
        .rsplit_once('-')
        .and_then(|(id, offset)| Some((id.to_owned(), offset.parse::<usize>().ok()?)))
    else {
        return invalid();
    };
    state.with_store(|store| {
        let Some(cursor) = store.query_cursors.get(&id).cloned() else {
            return invalid();
        };
        if offset >= cursor.ids.len() && !cursor.ids.is_empty() {
            return invalid();
        }
        page(store, &version, id, cursor, offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("acme corp", "ac%"));
        assert!(like("acme", "a_me"));
        assert!(!like("acme", "b%"));
        assert!(like("", "%"));
        assert!(like("abcabd", "%ab_"));
        assert!(!like("abc", "%ab"));
        assert!(!like(&"a".repeat(200), &format!("{}b", "%a".repeat(30))));
    }

    #[test]
    fn parses_the_subset() {
        let q = parse("SELECT Id, name FROM Account WHERE (Name LIKE 'A%' OR Name = 'B') AND CreatedDate > 2025-01-01T00:00:00Z ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 2", SOBJECTS.to_vec())
            .ok()
            .expect("parses");
        assert_eq!(q.fields, ["Id", "Name"]);
        assert_eq!((q.limit, q.offset), (Some(5), 2));
        assert!(
            parse(
                "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
                SOBJECTS.to_vec()
            )
            .is_err()
        );
        assert!(parse("SELECT FROM Account", SOBJECTS.to_vec()).is_err());
        let e = parse("SELECT Foo FROM Contact", SOBJECTS.to_vec())
            .err()
            .expect("fails");
        assert_eq!((e.code, e.at), ("INVALID_FIELD", 7));
        let e = parse("SELECT Id FROM Foo", SOBJECTS.to_vec())
            .err()
            .expect("fails");
        assert_eq!(e.code, "INVALID_TYPE");
        let e = parse(
            "SELECT Id FROM Opportunity WHERE Amount = '5'",
            SOBJECTS.to_vec(),
        )
        .err()
        .expect("fails");
        assert_eq!(e.code, "INVALID_FIELD");
    }
}
