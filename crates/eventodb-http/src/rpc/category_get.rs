//! `category.get` (PROTOCOL §3.5): read a category (or everything) by global position.

use eventodb_protocol::ConsumerGroup;
use eventodb_store::{CategoryRead, Store};

use super::args::{integer, Args};
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(ctx: &Ctx<'_, S>, args: Args<'_>) -> Result<String, ApiError> {
    let category = args.string(0, "categoryName")?;
    let options = args.options(1)?;
    let start = match options.integer("globalPosition")? {
        Some(g) => g,
        None => options.integer("position")?.unwrap_or(1),
    };
    let limit = options.batch_size()?;
    let correlation = options.string("correlation")?.filter(|c| !c.is_empty());
    let consumer_group = consumer_group(&options)?;
    // A name with '-' can never equal a category; checks above still apply.
    if limit == Some(0) || category.contains('-') {
        return Ok("[]".into());
    }
    let read = CategoryRead {
        category,
        start: start.max(1),
        limit,
        correlation,
        consumer_group,
    };
    ctx.app
        .store
        .read_category_page(&ctx.caller.namespace, read)
        .await
        .map_err(Into::into)
}

fn consumer_group(options: &super::args::Object<'_>) -> Result<Option<ConsumerGroup>, ApiError> {
    let Some(raw) = options.raw("consumerGroup") else {
        return Ok(None);
    };
    if !raw.get().starts_with('{') {
        return Err(ApiError::invalid("options.consumerGroup must be an object"));
    }
    let group: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(raw.get())
            .map_err(|_| ApiError::invalid("options.consumerGroup must be an object"))?;
    let number = |key: &str| -> Result<Option<i64>, ApiError> {
        match group.get(key) {
            None => Ok(None),
            Some(v) => integer(v).map(Some).ok_or_else(|| {
                ApiError::invalid(format!("options.consumerGroup.{key} must be a number"))
            }),
        }
    };
    match (number("member")?, number("size")?) {
        (None, None) => Ok(None),
        (Some(member), Some(size)) => ConsumerGroup::new(member, size).map(Some).ok_or_else(|| {
            ApiError::invalid(format!(
                "options.consumerGroup needs size > 0 and 0 <= member < size (got member {member}, size {size})"
            ))
        }),
        _ => Err(ApiError::invalid(
            "options.consumerGroup needs both member and size",
        )),
    }
}
