//! The axum router. `/graphql` follows the GraphQL-over-HTTP spec: POST and
//! GET, `application/json` and `application/graphql-response+json` answers
//! chosen by `Accept`, 4xx for requests that cannot run, mutations refused
//! over GET. Every request is authenticated by its bearer token first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::ParseRequestError;
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::AppState;
use crate::documents::DocumentCache;
use crate::domain::Principal;
use crate::graphql::{AppSchema, build_schema};
use crate::store::users;
use crate::token_cache::TokenCache;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AppSchema,
    tokens: Arc<TokenCache>,
    documents: Arc<DocumentCache>,
}

pub fn app(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    let tokens = Arc::new(TokenCache::new(state.settings.token_cache_ttl));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .with_state(HttpState {
            app: state,
            schema,
            tokens,
            documents: Arc::new(DocumentCache::default()),
        })
}

async fn healthz(State(state): State<HttpState>) -> Response {
    match state.app.store.db().ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// The media type the client asked to receive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            part.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
}

/// A client that sends no `Accept` gets `application/json`, as the spec
/// asks for compatibility with older clients.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    if headers.get(header::ACCEPT).is_none() {
        return Some(MediaType::Json);
    }
    if accepts(headers, GRAPHQL_RESPONSE_JSON) {
        Some(MediaType::GraphqlResponseJson)
    } else if accepts(headers, JSON) || accepts(headers, "*/*") || accepts(headers, "application/*")
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// An answer for a request that never reached execution.
fn request_error(status: StatusCode, code: &str, message: &str, media: MediaType) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn authenticate(state: &HttpState, headers: &HeaderMap) -> Result<Principal, &'static str> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("an Authorization: Bearer <token> header is required")?;
    if let Some(principal) = state.tokens.get(token) {
        return Ok(principal);
    }
    match users::principal_for_token(state.app.store.db(), token).await {
        Ok(Some(principal)) => {
            state.tokens.insert(token, principal.clone());
            Ok(principal)
        }
        Ok(None) => Err("the token is not valid"),
        Err(err) => {
            tracing::error!(error = %err, "token lookup failed");
            Err("the token could not be checked")
        }
    }
}

async fn graphql_get(
    State(state): State<HttpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if accepts(&headers, "text/html") && !accepts(&headers, GRAPHQL_RESPONSE_JSON) {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(message) => {
            return request_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message, media);
        }
    };
    let mut request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or(""))
    {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &err.to_string(),
                media,
            );
        }
    };
    if is_mutation(&mut request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must be sent with POST",
            media,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, BatchRequest::Single(request), principal, media).await
}

/// Whether the operation the request selects is a mutation. A document
/// that does not parse is left for execution to report.
fn is_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops
                .get(name.as_str())
                .is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => false,
        },
    }
}

async fn graphql_post(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let Some(media) = negotiate(&headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let limits = &state.app.settings;
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(message) => {
            return request_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message, media);
        }
    };
    let parsed = if is_multipart(&headers) {
        parse_multipart(
            &headers,
            body,
            limits.max_upload_bytes,
            limits.max_body_bytes,
        )
        .await
    } else {
        let Some(bytes) = read_limited(body, limits.max_body_bytes).await else {
            return body_too_large(limits.max_body_bytes, media);
        };
        parse_body(&headers, &bytes)
    };
    let batch = match parsed {
        Ok(batch) => batch,
        Err((status, message)) => return request_error(status, "BAD_REQUEST", &message, media),
    };
    if let BatchRequest::Batch(requests) = &batch
        && (requests.is_empty() || requests.len() > limits.max_batch_size)
    {
        let message = format!(
            "a batch must hold between 1 and {} operations",
            limits.max_batch_size
        );
        return request_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message, media);
    }
    execute(&state, batch, principal, media).await
}

/// Bodies up to this size are read to the end even when over the limit, so
/// a client that writes its whole request before reading gets the 413
/// instead of a reset connection. Beyond it the connection is dropped.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// The body if it fits in `max` bytes; `None` when it does not (or breaks).
async fn read_limited(body: Body, max: usize) -> Option<Bytes> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            return None;
        }
        if seen <= max {
            buffer.extend_from_slice(&chunk);
        }
    }
    (seen <= max).then(|| Bytes::from(buffer))
}

fn body_too_large(max: usize, media: MediaType) -> Response {
    request_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BAD_REQUEST",
        &format!("the request body exceeds {max} bytes"),
        media,
    )
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// A GraphQL multipart request (file uploads): streamed, its one file kept
/// in a temporary file, never whole in memory. The whole request may be the
/// file plus an ordinary body's worth of operations and map; reading stops
/// there, since the multipart parser would buffer any other field whole.
async fn parse_multipart(
    headers: &HeaderMap,
    body: Body,
    max_file: usize,
    max_body: usize,
) -> Result<BatchRequest, (StatusCode, String)> {
    use futures_util::TryStreamExt;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let limit = max_file.saturating_add(max_body);
    let over = Arc::new(AtomicBool::new(false));
    let mut seen = 0usize;
    let flag = Arc::clone(&over);
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            seen = seen.saturating_add(chunk.len());
            let result = if seen > limit {
                flag.store(true, Ordering::Relaxed);
                Err(std::io::Error::other("the request is too large"))
            } else {
                Ok(chunk)
            };
            std::future::ready(result)
        });
    let options = MultipartOptions::default()
        .max_file_size(max_file)
        .max_num_files(1);
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the uploaded file exceeds {max_file} bytes"),
        )
    };
    async_graphql::http::receive_batch_body(content_type, stream.into_async_read(), options)
        .await
        .map_err(|err| match err {
            _ if over.load(Ordering::Relaxed) => too_large(),
            ParseRequestError::PayloadTooLarge => too_large(),
            other => (
                StatusCode::BAD_REQUEST,
                format!("the multipart request cannot be read: {other}"),
            ),
        })
}

fn parse_body(headers: &HeaderMap, bytes: &Bytes) -> Result<BatchRequest, (StatusCode, String)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(JSON);
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        JSON => serde_json::from_slice::<BatchRequest>(bytes).map_err(|err| {
            (
                StatusCode::BAD_REQUEST,
                format!("the body is not a GraphQL request in JSON: {err}"),
            )
        }),
        "application/graphql" => {
            let query = std::str::from_utf8(bytes)
                .map_err(|_| (StatusCode::BAD_REQUEST, "the body is not UTF-8".to_owned()))?;
            Ok(BatchRequest::Single(Request::new(query)))
        }
        _ => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {content_type:?} is not supported; send application/json"),
        )),
    }
}

async fn execute(
    state: &HttpState,
    batch: BatchRequest,
    principal: Principal,
    media: MediaType,
) -> Response {
    let batch = match batch {
        BatchRequest::Single(mut request) => {
            state.documents.prepare(&mut request);
            BatchRequest::Single(request)
        }
        BatchRequest::Batch(mut requests) => {
            for request in &mut requests {
                state.documents.prepare(request);
            }
            BatchRequest::Batch(requests)
        }
    };
    let response = state.schema.execute_batch(batch.data(principal)).await;
    let (status, body) = render(response, media);
    let mut http = (status, body.to_string()).into_response();
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    http
}

/// A response whose errors all lack a path never started executing: the
/// document did not parse or validate. It carries no `data`, and with the
/// GraphQL response media type it is a 400. Errors of ours always carry a
/// code; one without is async-graphql refusing the document or an argument
/// value, which is the client's to fix: BAD_REQUEST. Errors of ours always carry a
/// code; one without is async-graphql refusing the request or an argument
/// value, so it is the client's: BAD_REQUEST.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn render_one(mut response: async_graphql::Response) -> (bool, Value) {
    let request_error = is_request_error(&response);
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "BAD_REQUEST");
        }
    }
    let mut value = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    if request_error && let Some(object) = value.as_object_mut() {
        object.remove("data");
    }
    (request_error, value)
}

fn render(response: BatchResponse, media: MediaType) -> (StatusCode, Value) {
    match response {
        BatchResponse::Single(one) => {
            let (request_error, value) = render_one(one);
            let status = if request_error && media == MediaType::GraphqlResponseJson {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, value)
        }
        BatchResponse::Batch(many) => {
            let values: Vec<Value> = many.into_iter().map(|r| render_one(r).1).collect();
            (StatusCode::OK, Value::Array(values))
        }
    }
}
