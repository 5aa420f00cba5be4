//! What a document may cost, decided before any of it is validated or run.
//!
//! async-graphql validates by inlining every fragment spread, so a 1 KB
//! document whose fragments each spread the next one twice takes time
//! exponential in its size before its own complexity limit can refuse it.
//! This check runs first, in one pass over the document: each fragment is
//! summarised once (memoised by name and the page it is spread under) and
//! the walk stops as soon as a limit is passed, so its time is linear in
//! the document. A document it lets through expands to at most
//! [`Limits::max_fields`] fields, which bounds the validation after it.
//!
//! It runs in the HTTP layer before the schema is asked to execute, not as
//! an async-graphql extension: any extension puts every field of every
//! request through its resolve hook. What it knows of the schema it reads
//! from the SDL once ([`CostSchema`]).
//!
//! It is also the one cost model of the schema (async-graphql's own depth
//! and complexity limits are off):
//! - every field costs 1; a page (`first`) multiplies what is asked of
//!   each item on it, not what is asked once of the page (`totalCount`);
//! - work that grows with the data costs what it does: a count over the
//!   database ([`COUNT_COST`]; of one record's rows, [`RECORD_COUNT_COST`]),
//!   a text search ([`SEARCH_COST`]), the CSV of a job's failed rows (one a
//!   request);
//! - depth counts fields nested in fields, except under introspection
//!   (`__schema`, `__type`), whose type references nest deep by design.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, FragmentDefinition, OperationDefinition, OperationType,
    Selection, SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Positioned, ServerError, Value, Variables};

/// A count over the database: `totalCount` of a connection of the query
/// root (`contacts`, `activities`, ...).
pub const COUNT_COST: u64 = 500;
/// A count of one record's rows (`history` of a contact, ...), which an
/// index on the record's id serves.
pub const RECORD_COUNT_COST: u64 = 10;
/// A `contacts` list filtered by a search text.
pub const SEARCH_COST: u64 = 500;
/// A job's whole error report, of which a request may ask one.
pub const ERROR_REPORT_COST: u64 = 500;
/// Items a page holds when its `first` is not given and has no default.
const DEFAULT_PAGE: u64 = 20;
/// No page is counted as larger than this, whatever `first` says (the
/// resolvers refuse larger ones anyway).
const PAGE_CEILING: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fields nested in fields, introspection aside.
    pub max_depth: u32,
    /// The cost of the operation, by the model above.
    pub max_cost: u64,
    /// Fields once every fragment is expanded in place, each counted once
    /// however large its page: what validation has to walk.
    pub max_fields: u64,
    /// Fragment definitions in a document.
    pub max_fragments: usize,
    /// Fragment spreads written in a document.
    pub max_spreads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_cost: 5_000,
            max_fields: 5_000,
            max_fragments: 100,
            max_spreads: 500,
        }
    }
}

/// What pricing needs of the schema: for each object and interface type,
/// its fields, the type each returns, whether that is a list, and whether
/// it is paged by `first` (and its default).
#[derive(Debug, Default)]
pub struct CostSchema {
    query: String,
    mutation: Option<String>,
    types: HashMap<String, HashMap<String, FieldShape>>,
}

#[derive(Debug)]
struct FieldShape {
    type_name: String,
    is_list: bool,
    /// `Some` when the field takes `first`, with its default if it has one.
    page: Option<Option<i64>>,
}

impl CostSchema {
    /// Reads the schema's SDL (what `schema.graphql` holds).
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut schema = CostSchema {
            query: "Query".to_owned(),
            ..CostSchema::default()
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(roots) => {
                    let roots = roots.node;
                    if let Some(query) = roots.query {
                        schema.query = query.node.to_string();
                    }
                    schema.mutation = roots.mutation.map(|m| m.node.to_string());
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    let shapes = fields
                        .into_iter()
                        .map(|field| {
                            let field = field.node;
                            let page = field
                                .arguments
                                .iter()
                                .find(|arg| arg.node.name.node == "first")
                                .map(|arg| {
                                    arg.node.default_value.as_ref().and_then(|value| {
                                        match &value.node {
                                            Value::Number(n) => n.as_i64(),
                                            _ => None,
                                        }
                                    })
                                });
                            let mut base = &field.ty.node.base;
                            let is_list = matches!(base, BaseType::List(_));
                            while let BaseType::List(inner) = base {
                                base = &inner.base;
                            }
                            let type_name = match base {
                                BaseType::Named(name) => name.to_string(),
                                BaseType::List(_) => String::new(),
                            };
                            let shape = FieldShape {
                                type_name,
                                is_list,
                                page,
                            };
                            (field.name.node.to_string(), shape)
                        })
                        .collect();
                    schema.types.insert(ty.name.node.to_string(), shapes);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(schema)
    }

    fn field(&self, type_name: &str, field: &str) -> Option<&FieldShape> {
        self.types.get(type_name)?.get(field)
    }
}

/// What a selection asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Summary {
    cost: u64,
    fields: u64,
    depth: u32,
    error_reports: u64,
}

impl Summary {
    fn add(&mut self, other: Summary) {
        self.cost = self.cost.saturating_add(other.cost);
        self.fields = self.fields.saturating_add(other.fields);
        self.depth = self.depth.max(other.depth);
        self.error_reports = self.error_reports.saturating_add(other.error_reports);
    }
}

/// Why a document is refused; the message tells the client what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("the query is nested {0} fields deep; the limit is {1}")]
    TooDeep(u32, u32),
    #[error(
        "the query costs more than {0} (a field costs 1, each item of a page what is asked of it, a totalCount {COUNT_COST}, a search {SEARCH_COST})"
    )]
    TooCostly(u64),
    #[error("the query expands to more than {0} fields once its fragments are spread")]
    TooManyFields(u64),
    #[error("the document defines more than {0} fragments")]
    TooManyFragments(usize),
    #[error("the document spreads fragments more than {0} times")]
    TooManySpreads(usize),
    #[error("a request may ask for one errorReport")]
    ErrorReports,
}

/// Checks every operation `operation_name` selects in `document` (all of
/// them when it names none).
pub fn check(
    schema: &CostSchema,
    document: &ExecutableDocument,
    variables: &Variables,
    operation_name: Option<&str>,
    limits: &Limits,
) -> Result<(), CostError> {
    if document.fragments.len() > limits.max_fragments {
        return Err(CostError::TooManyFragments(limits.max_fragments));
    }
    let mut walk = Walk {
        schema,
        fragments: &document.fragments,
        variables,
        limits,
        memo: HashMap::new(),
        spreads: 0,
    };
    for (name, operation) in document.operations.iter() {
        if operation_name.is_some_and(|wanted| name.map(Name::as_str) != Some(wanted)) {
            continue;
        }
        walk.operation(&operation.node)?;
    }
    Ok(())
}

struct Walk<'a> {
    schema: &'a CostSchema,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    limits: &'a Limits,
    /// Fragments summarised so far, by name and the page they were spread
    /// under; `None` while one is being walked (a cycle, which validation
    /// reports, counts nothing more).
    memo: HashMap<(&'a str, Option<u64>), Option<Summary>>,
    spreads: usize,
}

/// Where a selection set is walked: the type it selects on, the page size
/// of the connection it belongs to and what counting that connection
/// costs, and whether it is under introspection.
#[derive(Clone, Copy)]
struct Scope<'a> {
    type_name: &'a str,
    page: Option<u64>,
    count_cost: u64,
    introspection: bool,
}

impl<'a> Walk<'a> {
    fn operation(&mut self, operation: &'a OperationDefinition) -> Result<(), CostError> {
        let root = match operation.ty {
            OperationType::Query => Some(self.schema.query.as_str()),
            OperationType::Mutation => self.schema.mutation.as_deref(),
            OperationType::Subscription => None,
        };
        let Some(root) = root else {
            return Ok(());
        };
        let scope = Scope {
            type_name: root,
            page: None,
            count_cost: COUNT_COST,
            introspection: false,
        };
        let summary = self.selection_set(scope, &operation.selection_set.node)?;
        self.within_limits(&summary)?;
        if summary.error_reports > 1 {
            return Err(CostError::ErrorReports);
        }
        Ok(())
    }

    fn within_limits(&self, summary: &Summary) -> Result<(), CostError> {
        if summary.fields > self.limits.max_fields {
            return Err(CostError::TooManyFields(self.limits.max_fields));
        }
        if summary.depth > self.limits.max_depth {
            return Err(CostError::TooDeep(summary.depth, self.limits.max_depth));
        }
        if summary.cost > self.limits.max_cost {
            return Err(CostError::TooCostly(self.limits.max_cost));
        }
        Ok(())
    }

    fn selection_set(
        &mut self,
        scope: Scope<'a>,
        set: &'a SelectionSet,
    ) -> Result<Summary, CostError> {
        let mut total = Summary::default();
        // `totalCount`, `totalCountCapped` and their aliases on one
        // connection share one count (the page keeps it): priced once.
        let mut counted = false;
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => {
                    let mut part = self.field(scope, &field.node)?;
                    if matches!(
                        field.node.name.node.as_str(),
                        "totalCount" | "totalCountCapped"
                    ) {
                        if counted {
                            part.cost = part.cost.saturating_sub(scope.count_cost - 1);
                        }
                        counted = true;
                    }
                    part
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let type_name = inline
                        .type_condition
                        .as_ref()
                        .map_or(scope.type_name, |c| c.node.on.node.as_str());
                    self.selection_set(Scope { type_name, ..scope }, &inline.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.spread(scope, spread.node.fragment_name.node.as_str())?
                }
            };
            total.add(part);
            // Stop as soon as the sum is over: an expansion never shrinks.
            self.within_limits(&total)?;
        }
        Ok(total)
    }

    fn spread(&mut self, scope: Scope<'a>, name: &'a str) -> Result<Summary, CostError> {
        self.spreads += 1;
        if self.spreads > self.limits.max_spreads {
            return Err(CostError::TooManySpreads(self.limits.max_spreads));
        }
        let key = (name, scope.page);
        match self.memo.get(&key) {
            Some(Some(summary)) => return Ok(*summary),
            Some(None) => return Ok(Summary::default()),
            None => {}
        }
        // An unknown fragment is validation's to report.
        let Some(fragment) = self.fragments.get(name) else {
            return Ok(Summary::default());
        };
        self.memo.insert(key, None);
        let fragment = &fragment.node;
        let inner = Scope {
            type_name: fragment.type_condition.node.on.node.as_str(),
            ..scope
        };
        let summary = self.selection_set(inner, &fragment.selection_set.node)?;
        self.memo.insert(key, Some(summary));
        Ok(summary)
    }

    fn field(&mut self, scope: Scope<'a>, field: &'a Field) -> Result<Summary, CostError> {
        let name = field.name.node.as_str();
        let shape = self.schema.field(scope.type_name, name);
        let introspection = scope.introspection || matches!(name, "__schema" | "__type");
        let (child_type, is_list, own_page) = match (name, shape) {
            // The introspection roots and their types are not in the SDL:
            // under them every field costs 1.
            ("__schema" | "__type", _) => ("", false, None),
            (_, Some(shape)) => (
                shape.type_name.as_str(),
                shape.is_list,
                shape.page.map(|default| self.page_size(field, default)),
            ),
            // An unknown field is validation's to report, but what is
            // selected under it is still walked there: it is counted too.
            (_, None) => ("", false, None),
        };
        // A list's items are each asked what its selection asks: the page
        // it is on (its own `first`, or its connection's) multiplies them.
        let multiplier = match (is_list, own_page, scope.page) {
            (true, Some(page), _) | (true, None, Some(page)) => page,
            _ => 1,
        };
        let at_root = scope.type_name == self.schema.query;
        let child_scope = Scope {
            type_name: child_type,
            page: if is_list { None } else { own_page },
            count_cost: if at_root {
                COUNT_COST
            } else {
                RECORD_COUNT_COST
            },
            introspection,
        };
        let children = if field.selection_set.node.items.is_empty() {
            Summary::default()
        } else {
            self.selection_set(child_scope, &field.selection_set.node)?
        };
        let own_cost = match name {
            "totalCount" | "totalCountCapped" => scope.count_cost,
            "errorReport" => ERROR_REPORT_COST,
            "contacts" if self.searches(field) => SEARCH_COST,
            _ => 1,
        };
        Ok(Summary {
            cost: own_cost.saturating_add(children.cost.saturating_mul(multiplier)),
            fields: children.fields.saturating_add(1),
            depth: if introspection {
                children.depth
            } else {
                children.depth.saturating_add(1)
            },
            error_reports: children
                .error_reports
                .saturating_mul(multiplier)
                .saturating_add(u64::from(name == "errorReport")),
        })
    }

    /// The `first` a field is asked with: the argument, its variable, the
    /// argument's default, or [`DEFAULT_PAGE`].
    fn page_size(&self, field: &Field, default: Option<i64>) -> u64 {
        let size = match self.argument(field, "first") {
            Some(Value::Number(n)) => n.as_i64(),
            _ => default,
        };
        size.map_or(DEFAULT_PAGE, |n| {
            u64::try_from(n).unwrap_or(0).min(PAGE_CEILING)
        })
    }

    /// Whether a `contacts` field filters by a search text.
    fn searches(&self, field: &Field) -> bool {
        let Some(Value::Object(filter)) = self.argument(field, "filter") else {
            return false;
        };
        matches!(filter.get("search"), Some(Value::String(text)) if !text.trim().is_empty())
    }

    /// An argument's value, literal or from the variables it names.
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?;
        value
            .node
            .clone()
            .into_const_with(|variable| self.variables.get(&variable).cloned().ok_or(()))
            .ok()
    }
}

/// The document of the exponential-validation attack of issue 15: each of
/// `levels` fragments spreads the next twice, 2^`levels` fields once
/// expanded (about 1 KB at 25 levels). The tests and the bench that show
/// it refused take it from here, so they price the same text.
pub fn doubling_fragments(levels: usize) -> String {
    let mut doc = String::from("query{...F0}");
    for i in 0..levels {
        doc.push_str(&format!(
            " fragment F{i} on Query{{...F{} ...F{}}}",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!(" fragment F{levels} on Query{{me{{id}}}}"));
    doc
}

impl CostError {
    /// The error a refused request answers with: the client's to fix.
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.to_string(), None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "BAD_REQUEST");
        error
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use async_graphql::Variables;
    use serde_json::json;

    use super::*;

    static SCHEMA: LazyLock<CostSchema> =
        LazyLock::new(|| CostSchema::from_sdl(&crate::graphql::sdl()).unwrap());

    /// The message of the cost check's refusal, if it refused.
    async fn refusal(query: &str, variables: serde_json::Value) -> Option<String> {
        refusal_of(query, variables, None)
    }

    fn refusal_of(
        query: &str,
        variables: serde_json::Value,
        operation: Option<&str>,
    ) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        check(
            &SCHEMA,
            &document,
            &variables,
            operation,
            &Limits::default(),
        )
        .err()
        .map(|err| err.to_string())
    }

    #[test]
    fn the_sdl_is_read_whole() {
        let contacts = SCHEMA.field("Query", "contacts").unwrap();
        assert_eq!(contacts.type_name, "ContactConnection");
        assert_eq!((contacts.is_list, contacts.page), (false, Some(None)));
        let errors = SCHEMA.field("ImportJob", "errors").unwrap();
        assert_eq!((errors.is_list, errors.page), (true, Some(Some(20))));
        assert_eq!(SCHEMA.mutation.as_deref(), Some("Mutation"));
    }

    #[tokio::test]
    async fn fragments_spread_twice_a_level_are_refused_without_expanding_them() {
        // 2^60 fields if expanded: the walk must stop long before.
        let message = refusal(&doubling_fragments(60), json!({})).await.unwrap();
        assert!(message.contains("expands to more than"), "{message}");
    }

    #[tokio::test]
    async fn counts_cost_what_they_do_whatever_the_page() {
        let aliases: String = (0..11)
            .map(|i| format!("c{i}: contacts(first: 0) {{ totalCount }} "))
            .collect();
        let message = refusal(&format!("{{ {aliases} }}"), json!({}))
            .await
            .unwrap();
        assert!(message.contains("costs more than"), "{message}");
        let ten: String = (0..9)
            .map(|i| format!("c{i}: contacts(first: 0) {{ totalCount }} "))
            .collect();
        assert_eq!(refusal(&format!("{{ {ten} }}"), json!({})).await, None);
    }

    #[tokio::test]
    async fn a_record_s_own_count_costs_less_than_a_count_of_the_database() {
        let query = "{ contacts(first: 50) { totalCount edges { node { id \
                     history(first: 5) { totalCount edges { node { action } } } } } } }";
        assert_eq!(refusal(query, json!({})).await, None);
    }

    #[tokio::test]
    async fn a_search_costs_more_also_through_variables() {
        let query = "query($f: ContactFilter) { a: contacts(first: 1, filter: $f) { totalCount } \
                     b: contacts(first: 1, filter: $f) { totalCount } \
                     c: contacts(first: 1, filter: $f) { totalCount } \
                     d: contacts(first: 1, filter: $f) { totalCount } \
                     e: contacts(first: 1, filter: $f) { totalCount } \
                     f: contacts(first: 1, filter: $f) { totalCount } }";
        assert_eq!(refusal(query, json!({ "f": { "search": "" } })).await, None);
        let message = refusal(query, json!({ "f": { "search": "ann" } }))
            .await
            .unwrap();
        assert!(message.contains("costs more than"), "{message}");
    }

    #[tokio::test]
    async fn a_page_multiplies_what_each_item_asks() {
        let query = "query($n: Int) { contacts(first: $n) { edges { node { \
                     activities(first: 100) { edges { node { id kind } } } } } } }";
        assert_eq!(refusal(query, json!({ "n": 10 })).await, None);
        let message = refusal(query, json!({ "n": 50 })).await.unwrap();
        assert!(message.contains("costs more than"), "{message}");
    }

    #[tokio::test]
    async fn one_error_report_a_request() {
        let one = "{ importJob(id: \"x\") { errorReport } }";
        assert_eq!(refusal(one, json!({})).await, None);
        let two =
            "{ a: importJob(id: \"x\") { errorReport } b: importJob(id: \"x\") { errorReport } }";
        let message = refusal(two, json!({})).await.unwrap();
        assert!(message.contains("one errorReport"), "{message}");
    }

    /// The least `max_cost` that lets `query` through.
    fn cost_of(query: &str, variables: serde_json::Value) -> u64 {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        let passes = |max_cost: u64| {
            let limits = Limits {
                max_cost,
                ..Limits::default()
            };
            check(&SCHEMA, &document, &variables, None, &limits).is_ok()
        };
        let (mut low, mut high) = (0, 1_000_000);
        while low < high {
            let mid = (low + high) / 2;
            if passes(mid) {
                high = mid
            } else {
                low = mid + 1
            }
        }
        low
    }

    #[test]
    fn a_connection_s_count_is_priced_once() {
        let one = cost_of("{ contacts { totalCount } }", json!({}));
        let both = cost_of("{ contacts { totalCount totalCountCapped } }", json!({}));
        let aliased = cost_of("{ contacts { a: totalCount b: totalCount } }", json!({}));
        assert_eq!(both, one + 1);
        assert_eq!(aliased, one + 1);
        let apart = cost_of(
            "{ a: contacts { totalCount } b: contacts { totalCount } }",
            json!({}),
        );
        assert_eq!(apart, 2 * one, "two connections count twice");
    }

    /// README's figure: the terminal client's list page with a search.
    #[test]
    fn the_terminal_client_s_page_costs_what_the_readme_says() {
        let page = include_str!("../../../tui/graphql/contacts.graphql");
        let variables = json!({ "first": 50, "filter": { "search": "ann" },
            "firstName": true, "lastName": true, "email": true, "mobilePhone": true,
            "company": true, "owner": true });
        let cost = cost_of(page, variables);
        assert!(
            (1_400..=1_600).contains(&cost),
            "README says about 1,500: {cost}"
        );
    }

    #[tokio::test]
    async fn what_the_terminal_client_asks_passes() {
        let list = "query($s: String) { contacts(first: 50, filter: {search: $s}) { totalCount \
                    pageInfo { hasNextPage endCursor } edges { cursor node { id firstName \
                    lastName email mobilePhone company jobTitle timezone source version \
                    updatedAt owner { id name } } } } }";
        assert_eq!(refusal(list, json!({ "s": "ann" })).await, None);
    }

    #[tokio::test]
    async fn depth_counts_fields_but_not_introspection() {
        let nested = "{ contact(id: \"x\") { activities(first: 1) { edges { node { contact { \
                      activities(first: 1) { edges { node { contact { activities(first: 1) { \
                      edges { node { id } } } } } } } } } } } } }";
        let message = refusal(nested, json!({})).await.unwrap();
        assert!(message.contains("nested 13 fields deep"), "{message}");
        let type_ref = format!(
            "{{ __schema {{ types {{ {} name {} }} }} }}",
            "ofType { ".repeat(12),
            "} ".repeat(12)
        );
        assert_eq!(refusal(&type_ref, json!({})).await, None);
    }

    #[tokio::test]
    async fn what_is_under_an_unknown_field_is_counted_too() {
        let doc = doubling_fragments(40).replacen("query{...F0}", "query{nosuch{...F0}}", 1);
        let message = refusal(&doc, json!({})).await.unwrap();
        assert!(message.contains("expands to more than"), "{message}");
    }

    #[tokio::test]
    async fn fragment_and_spread_counts_are_capped() {
        let fragments: String = (0..101)
            .map(|i| format!(" fragment G{i} on Query {{ me {{ id }} }}"))
            .collect();
        let message = refusal(&format!("{{ me {{ id }} }}{fragments}"), json!({}))
            .await
            .unwrap();
        assert!(message.contains("more than 100 fragments"), "{message}");
        let spreads: String = (0..501).map(|_| "...G ").collect();
        let message = refusal(
            &format!("{{ {spreads} }} fragment G on Query {{ me {{ id }} }}"),
            json!({}),
        )
        .await
        .unwrap();
        assert!(message.contains("more than 500 times"), "{message}");
    }

    #[test]
    fn only_the_operation_asked_for_is_priced() {
        let costly: String = (0..11)
            .map(|i| format!("c{i}: contacts(first: 0) {{ totalCount }} "))
            .collect();
        let doc = format!("query Costly {{ {costly} }} query Cheap {{ me {{ id }} }}");
        assert_eq!(refusal_of(&doc, json!({}), Some("Cheap")), None);
        assert!(refusal_of(&doc, json!({}), Some("Costly")).is_some());
        assert!(refusal_of(&doc, json!({}), None).is_some());
    }
}
