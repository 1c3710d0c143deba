//! Decoding positional RPC arguments (PROTOCOL §2.2, §2.11) from borrowed raw JSON.

use std::collections::HashMap;

use eventodb_protocol::limits::{DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE};
use serde_json::value::RawValue;

use crate::error::ApiError;

/// The arguments after the method name.
pub(crate) struct Args<'a> {
    raw: &'a [&'a RawValue],
}

impl<'a> Args<'a> {
    pub(crate) fn new(raw: &'a [&'a RawValue]) -> Self {
        Self { raw }
    }

    fn get(&self, index: usize) -> Option<&'a RawValue> {
        self.raw.get(index).copied()
    }

    /// True when an argument is present at `index` (even `null`).
    pub(crate) fn has(&self, index: usize) -> bool {
        self.raw.len() > index
    }

    /// A required string argument.
    pub(crate) fn string(&self, index: usize, name: &str) -> Result<String, ApiError> {
        let raw = self
            .get(index)
            .ok_or_else(|| ApiError::invalid(format!("{name} is required")))?;
        let s = serde_json::from_str::<String>(raw.get())
            .map_err(|_| ApiError::invalid(format!("{name} must be a string")))?;
        refuse_nul(&s, name)?;
        Ok(s)
    }

    /// A required, non-empty string argument.
    pub(crate) fn non_empty_string(&self, index: usize, name: &str) -> Result<String, ApiError> {
        let s = self.string(index, name)?;
        if s.is_empty() {
            return Err(ApiError::invalid(format!("{name} must not be empty")));
        }
        Ok(s)
    }

    /// A required object argument.
    pub(crate) fn object(&self, index: usize, name: &str) -> Result<Object<'a>, ApiError> {
        let raw = self
            .get(index)
            .ok_or_else(|| ApiError::invalid(format!("{name} is required")))?;
        Object::parse(raw, name)
    }

    /// An optional options object; absent or `null` is an empty object.
    pub(crate) fn options(&self, index: usize) -> Result<Object<'a>, ApiError> {
        match self.get(index) {
            None => Ok(Object::empty("options")),
            Some(raw) if raw.get() == "null" => Ok(Object::empty("options")),
            Some(raw) => Object::parse(raw, "options"),
        }
    }
}

/// A JSON object argument whose values stay raw until asked for.
pub(crate) struct Object<'a> {
    name: &'static str,
    fields: HashMap<String, &'a RawValue>,
}

impl<'a> Object<'a> {
    fn empty(name: &'static str) -> Self {
        Self {
            name,
            fields: HashMap::new(),
        }
    }

    fn parse(raw: &'a RawValue, name: &str) -> Result<Self, ApiError> {
        let not_object = || ApiError::invalid(format!("{name} must be an object"));
        if !raw.get().starts_with('{') {
            return Err(not_object());
        }
        let fields = serde_json::from_str::<HashMap<String, &'a RawValue>>(raw.get())
            .map_err(|_| not_object())?;
        Ok(Self {
            name: static_name(name),
            fields,
        })
    }

    /// The raw value of a key, `null` included: a `null` where a string or an integer is
    /// expected is a type error (PROTOCOL §2.11), not an absent value.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.get(key).copied()
    }

    /// An optional string value.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        let Some(raw) = self.raw(key) else {
            return Ok(None);
        };
        let s = serde_json::from_str::<String>(raw.get())
            .map_err(|_| ApiError::invalid(format!("{}.{key} must be a string", self.name)))?;
        refuse_nul(&s, &format!("{}.{key}", self.name))?;
        Ok(Some(s))
    }

    /// An optional integer value: any JSON number, fractions truncated toward zero.
    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.raw(key) else {
            return Ok(None);
        };
        integer(raw)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{}.{key} must be an integer", self.name)))
    }

    /// The `batchSize` option: default 1000; -1 unlimited (`None`); 0..=10000 as given.
    pub(crate) fn batch_size(&self) -> Result<Option<u64>, ApiError> {
        match self.integer("batchSize")? {
            None => Ok(Some(DEFAULT_BATCH_SIZE as u64)),
            Some(-1) => Ok(None),
            Some(n) if (0..=MAX_BATCH_SIZE).contains(&n) => Ok(Some(n as u64)),
            Some(n) if n > MAX_BATCH_SIZE => Err(ApiError::invalid(format!(
                "options.batchSize must not exceed {MAX_BATCH_SIZE} (got {n})"
            ))),
            Some(n) => Err(ApiError::invalid(format!(
                "options.batchSize must be -1 (unlimited) or between 0 and {MAX_BATCH_SIZE} (got {n})"
            ))),
        }
    }
}

/// Strings with NUL characters are refused: PostgreSQL cannot store them, and both backends
/// must accept the same input.
fn refuse_nul(s: &str, name: &str) -> Result<(), ApiError> {
    if s.contains('\0') {
        return Err(ApiError::invalid(format!(
            "{name} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// A JSON number as an integer, truncating fractions toward zero like Go.
pub(crate) fn integer(raw: &RawValue) -> Option<i64> {
    let number: serde_json::Number = serde_json::from_str(raw.get()).ok()?;
    if let Some(i) = number.as_i64() {
        return Some(i);
    }
    // Out-of-range values saturate; fractions truncate toward zero.
    number.as_f64().map(|f| f.trunc() as i64)
}

fn static_name(name: &str) -> &'static str {
    match name {
        "message" => "message",
        "consumerGroup" => "options.consumerGroup",
        "options.metadata" => "options.metadata",
        _ => "options",
    }
}
