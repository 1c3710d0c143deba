//! Structure derived from a stream name (PROTOCOL §1.2): category, id and cardinal id.
//!
//! A stream name is any non-empty string. Nothing is declared; everything is derived from the
//! first `-` (category/id split) and the first `+` inside the id (compound ids).

/// The category: the part before the first `-`, or the whole name when there is none.
pub fn category(stream_name: &str) -> &str {
    match stream_name.find('-') {
        Some(i) => &stream_name[..i],
        None => stream_name,
    }
}

/// The id: the part after the first `-`; `None` when the name has no `-`. May be empty.
pub fn id(stream_name: &str) -> Option<&str> {
    stream_name.find('-').map(|i| &stream_name[i + 1..])
}

/// The cardinal id: the id up to its first `+`; `None` when the name has no id.
pub fn cardinal_id(stream_name: &str) -> Option<&str> {
    id(stream_name).map(|id| match id.find('+') {
        Some(i) => &id[..i],
        None => id,
    })
}

/// True when the name has no `-`, so it names a category as well as a stream.
pub fn is_category(stream_name: &str) -> bool {
    !stream_name.contains('-')
}

#[cfg(test)]
mod tests;
