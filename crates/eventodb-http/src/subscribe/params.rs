//! `GET /subscribe` query parameters (PROTOCOL §5.1 with §0's aliases).
//!
//! Violations are answered with a short plain-text `400`, not JSON, as EventoDB does.

use eventodb_protocol::ConsumerGroup;

/// What a subscription listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One stream; positions are stream positions.
    Stream(String),
    /// One category, optionally one consumer-group member; positions are global.
    Category(String, Option<ConsumerGroup>),
    /// The whole namespace; positions are global; no catch-up.
    All,
}

/// A parsed subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) target: Target,
    /// First position of interest (stream position for streams, global otherwise).
    pub(crate) position: i64,
}

/// Parses the query string; `Err` holds the plain-text reason.
pub(crate) fn parse(query: Option<&str>) -> Result<Params, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let int = |key: &str| -> Result<Option<i64>, String> {
        match get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{key} must be an integer")),
        }
    };
    let stream = get("stream").filter(|s| !s.is_empty());
    let category = get("category").filter(|s| !s.is_empty());
    let all = get("all") == Some("true");
    let position = int("position")?.unwrap_or(0);
    let member = match int("consumer")? {
        Some(m) => Some(m),
        None => int("consumerGroupMember")?,
    };
    let size = match int("size")? {
        Some(s) => Some(s),
        None => int("consumerGroupSize")?,
    };

    let target = match (stream, category, all) {
        (None, None, false) => return Err("one of stream, category or all=true is required".into()),
        (_, _, true) if stream.is_some() || category.is_some() => {
            return Err("all=true cannot be combined with stream or category".into())
        }
        (Some(_), Some(_), _) => return Err("stream and category cannot be combined".into()),
        (None, None, true) => Target::All,
        (Some(s), None, _) => Target::Stream(s.to_owned()),
        (None, Some(c), _) => Target::Category(c.to_owned(), group(member, size)?),
    };
    Ok(Params { target, position })
}

/// The consumer group: active iff `size > 0`; `consumer` defaults to 0.
fn group(member: Option<i64>, size: Option<i64>) -> Result<Option<ConsumerGroup>, String> {
    match (member, size) {
        (None | Some(0), None | Some(0)) => Ok(None),
        (Some(_), None | Some(0)) => Err("consumer requires size".into()),
        (m, Some(size)) => {
            let member = m.unwrap_or(0);
            ConsumerGroup::new(member, size).map(Some).ok_or_else(|| {
                format!("consumer group needs size > 0 and 0 <= consumer < size (got consumer {member}, size {size})")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> Params {
        parse(Some(q)).unwrap()
    }

    #[test]
    fn kinds() {
        assert_eq!(ok("stream=cart-1").target, Target::Stream("cart-1".into()));
        assert_eq!(ok("stream=a%2Bb").target, Target::Stream("a+b".into()));
        assert_eq!(ok("category=cart&position=5").position, 5);
        assert_eq!(ok("all=true&consumer=7").target, Target::All);
        assert_eq!(
            ok("category=c&consumer=1&size=3").target,
            Target::Category("c".into(), ConsumerGroup::new(1, 3))
        );
        assert_eq!(
            ok("category=c&consumerGroupMember=1&consumerGroupSize=2").target,
            Target::Category("c".into(), ConsumerGroup::new(1, 2))
        );
        assert_eq!(
            ok("category=c&size=2").target,
            Target::Category("c".into(), ConsumerGroup::new(0, 2))
        );
    }

    #[test]
    fn refusals() {
        for q in [
            "",
            "all=yes",
            "all=true&stream=s",
            "stream=s&category=c",
            "stream=s&position=x",
            "category=c&consumer=x&size=2",
            "category=c&consumer=1",
            "category=c&consumer=2&size=2",
            "category=c&consumer=-1&size=2",
            "category=c&size=-2",
        ] {
            assert!(parse(Some(q)).is_err(), "{q}");
        }
    }
}
