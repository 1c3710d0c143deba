//! `sys.version` (PROTOCOL §3.12): the server's semver.

use eventodb_store::Store;

use super::args::Args;
use super::Ctx;
use crate::error::ApiError;

pub(crate) async fn call<S: Store>(_ctx: &Ctx<'_, S>, _args: Args<'_>) -> Result<String, ApiError> {
    Ok(format!("\"{}\"", crate::VERSION))
}
