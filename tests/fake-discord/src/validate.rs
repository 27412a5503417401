//! Discord's input rules the fake enforces, so a test fails the way
//! production would: message limits, modal shape, command definitions.

use serde_json::{Map, Value};

use super::model::Attachment;

/// Why a body was refused.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// 400, code 50035 "Invalid Form Body", with the offending field.
    Form(String),
    /// 400, code 50006 "Cannot send an empty message".
    EmptyMessage,
}

fn form(detail: impl Into<String>) -> Invalid {
    Invalid::Form(detail.into())
}

pub(crate) fn char_len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Length rules shared by create and edit: content ≤ 2000, ≤ 10 embeds,
/// ≤ 6000 embed characters, ≤ 5 component rows, valid nonce.
pub(crate) fn message_limits(body: &Map<String, Value>) -> Result<(), Invalid> {
    if let Some(content) = body.get("content") {
        if !content.is_null() && !content.is_string() {
            return Err(form("content: must be a string"));
        }
        let n = char_len(Some(content));
        if n > 2000 {
            return Err(form(format!("content: Must be 2000 or fewer in length (got {n})")));
        }
    }
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        if embeds.len() > 10 {
            return Err(form(format!("embeds: Must be 10 or fewer in length (got {})", embeds.len())));
        }
        let mut total = 0;
        for (i, embed) in embeds.iter().enumerate() {
            let limits = [("title", 256), ("description", 4096)];
            for (field, max) in limits {
                let n = char_len(embed.get(field));
                if n > max {
                    return Err(form(format!("embeds.{i}.{field}: Must be {max} or fewer in length")));
                }
                total += n;
            }
            total += char_len(embed.pointer("/footer/text")) + char_len(embed.pointer("/author/name"));
            let fields = embed.get("fields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            if fields.len() > 25 {
                return Err(form(format!("embeds.{i}.fields: Must be 25 or fewer in length")));
            }
            for (j, f) in fields.iter().enumerate() {
                let (name, value) = (char_len(f.get("name")), char_len(f.get("value")));
                if name > 256 || value > 1024 {
                    return Err(form(format!("embeds.{i}.fields.{j}: name ≤ 256, value ≤ 1024")));
                }
                total += name + value;
            }
        }
        if total > 6000 {
            return Err(form(format!("embeds: Embed size exceeds maximum size of 6000 (got {total})")));
        }
    }
    if body.get("components").and_then(Value::as_array).is_some_and(|rows| rows.len() > 5) {
        return Err(form("components: Must be 5 or fewer in length"));
    }
    if let Some(rows) = body.get("components").and_then(Value::as_array) {
        buttons(rows)?;
    }
    match body.get("nonce") {
        None | Some(Value::Null) | Some(Value::Number(_)) => {}
        Some(Value::String(s)) if s.chars().count() <= 25 => {}
        Some(_) => return Err(form("nonce: must be an integer or a string of at most 25 characters")),
    }
    Ok(())
}

/// Buttons in action rows: at most 5 per row, a `custom_id` of 1–100
/// characters unique in the message (link buttons, style 5, have a `url`
/// instead), a label of at most 80.
fn buttons(rows: &[Value]) -> Result<(), Invalid> {
    let mut seen = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let items = row.get("components").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        if items.len() > 5 {
            return Err(form(format!("components.{i}.components: Must be 5 or fewer in length")));
        }
        for (j, item) in items.iter().enumerate().filter(|(_, c)| c.get("type").and_then(Value::as_u64) == Some(2)) {
            let at = format!("components.{i}.components.{j}");
            if char_len(item.get("label")) > 80 {
                return Err(form(format!("{at}.label: Must be 80 or fewer in length")));
            }
            if item.get("style").and_then(Value::as_u64) == Some(5) {
                continue;
            }
            let id = item.get("custom_id").and_then(Value::as_str).unwrap_or_default();
            if id.is_empty() || id.chars().count() > 100 {
                return Err(form(format!("{at}.custom_id: Must be between 1 and 100 in length")));
            }
            if seen.contains(&id) {
                return Err(form(format!("{at}.custom_id: Component custom id cannot be duplicated")));
            }
            seen.push(id);
        }
    }
    Ok(())
}

/// Create rules: the limits, and the message must not be empty.
pub(crate) fn message_create(body: &Map<String, Value>, files: &[Attachment]) -> Result<(), Invalid> {
    message_limits(body)?;
    let non_empty_array = |key: &str| body.get(key).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let has_content = char_len(body.get("content")) > 0;
    if !(has_content
        || non_empty_array("embeds")
        || non_empty_array("components")
        || non_empty_array("sticker_ids")
        || body.get("poll").is_some_and(|p| !p.is_null())
        || !files.is_empty())
    {
        return Err(Invalid::EmptyMessage);
    }
    Ok(())
}

/// A non-empty string or array.
pub(crate) fn non_empty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    }
}

/// Discord's basic command rules: names 1–32 lower-case characters for chat
/// input, descriptions 1–100, at most 25 options/choices, required options
/// before optional ones.
pub(crate) fn command(cmd: &Value) -> Result<(), String> {
    let kind = cmd.get("type").and_then(Value::as_u64).unwrap_or(1);
    named(cmd, kind == 1, "")?;
    if kind == 1 {
        command_options(cmd.get("options"), "options")?;
    }
    Ok(())
}

fn named(item: &Value, chat_input: bool, at: &str) -> Result<(), String> {
    let name = item.get("name").and_then(Value::as_str).ok_or(format!("{at}name: required"))?;
    let n = name.chars().count();
    if n == 0 || n > 32 {
        return Err(format!("{at}name: must be 1-32 characters ({name:?})"));
    }
    if chat_input && (name.chars().any(char::is_uppercase) || name.contains(' ')) {
        return Err(format!("{at}name: must be lower case without spaces ({name:?})"));
    }
    if chat_input {
        let d = char_len(item.get("description"));
        if d == 0 || d > 100 {
            return Err(format!("{at}description: must be 1-100 characters (got {d})"));
        }
    }
    Ok(())
}

fn command_options(options: Option<&Value>, at: &str) -> Result<(), String> {
    let Some(options) = options.and_then(Value::as_array) else {
        return Ok(());
    };
    if options.len() > 25 {
        return Err(format!("{at}: must be 25 or fewer in length"));
    }
    let mut seen_optional = false;
    for (i, opt) in options.iter().enumerate() {
        let here = format!("{at}.{i}.");
        named(opt, true, &here)?;
        let kind = opt.get("type").and_then(Value::as_u64).unwrap_or(0);
        if kind == 1 || kind == 2 {
            command_options(opt.get("options"), &format!("{here}options"))?;
            continue;
        }
        let required = opt.get("required").and_then(Value::as_bool).unwrap_or(false);
        if required && seen_optional {
            return Err(format!("{here}required: required options must be placed before non-required options"));
        }
        seen_optional |= !required;
        if opt.get("choices").and_then(Value::as_array).is_some_and(|c| c.len() > 25) {
            return Err(format!("{here}choices: must be 25 or fewer in length"));
        }
    }
    Ok(())
}

/// A modal: custom_id 1–100, title 1–45, 1–5 rows of one text input each.
pub(crate) fn modal(data: &Map<String, Value>) -> Result<(), Invalid> {
    let custom_id = char_len(data.get("custom_id"));
    if custom_id == 0 || custom_id > 100 {
        return Err(form("data.custom_id: must be 1-100 characters"));
    }
    let title = char_len(data.get("title"));
    if title == 0 || title > 45 {
        return Err(form(format!("data.title: must be 1-45 characters (got {title})")));
    }
    let rows = data.get("components").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if rows.is_empty() || rows.len() > 5 {
        return Err(form("data.components: must have 1-5 rows"));
    }
    for (i, row) in rows.iter().enumerate() {
        let inputs = row.get("components").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (j, input) in inputs.iter().enumerate() {
            let at = format!("data.components.{i}.components.{j}");
            if input.get("type").and_then(Value::as_u64) != Some(4) {
                return Err(form(format!("{at}.type: only text inputs (4) are supported")));
            }
            let id = char_len(input.get("custom_id"));
            if id == 0 || id > 100 {
                return Err(form(format!("{at}.custom_id: must be 1-100 characters")));
            }
            let label = char_len(input.get("label"));
            if label == 0 || label > 45 {
                return Err(form(format!("{at}.label: must be 1-45 characters")));
            }
            let min = input.get("min_length").and_then(Value::as_u64);
            let max = input.get("max_length").and_then(Value::as_u64);
            if min.is_some_and(|m| m > 4000) || max.is_some_and(|m| m == 0 || m > 4000) {
                return Err(form(format!("{at}: min_length 0-4000, max_length 1-4000")));
            }
            if char_len(input.get("value")) > 4000 {
                return Err(form(format!("{at}.value: must be 4000 or fewer in length")));
            }
        }
    }
    Ok(())
}
