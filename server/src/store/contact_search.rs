//! A search's matches as SQL conditions, one per rank of
//! `domain::search`, on either backend's trigram index (migration 9).
//!
//! "Name or company contains the text" is the part an index must carry.
//! PostgreSQL's planner weighs its `pg_trgm` indexes against walking the
//! list's order index and chooses well from its statistics. SQLite's has no
//! such statistics for FTS5, so the choice is made here: the FTS index is
//! asked once for up to `FEW_MATCHES` contacts; when it has no more, those
//! ids are the condition (a short list to sort), and when it has more, the
//! matches are dense and walking the order index while testing each row
//! finds a page after a few hundred rows.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, FromQueryResult, Statement,
};

use super::StoreError;
use super::entities::contact;
use crate::domain::search::{Rank, Search};

/// Above this many contacts whose name or company contains the text,
/// SQLite walks the order index instead of sorting the matches.
const FEW_MATCHES: usize = 2_000;

/// What stands above every character in a byte-wise comparison: a prefix
/// `p` is the range `p <= value < p + PAST_EVERY_CHAR`.
const PAST_EVERY_CHAR: char = char::MAX;

/// A search made ready for one request's queries (a page and its count
/// share it, so the index is asked once).
#[derive(Debug, Clone)]
pub struct PreparedSearch {
    search: Search,
    inside: Inside,
}

/// How "name or company contains the text" is asked on this backend.
#[derive(Debug, Clone)]
enum Inside {
    /// The text is too short to search inside.
    Nothing,
    /// SQLite, few matches: all of them.
    Ids(Vec<i64>),
    /// LIKE on the columns searched: PostgreSQL (its trigram indexes serve
    /// it), or SQLite with dense matches of an ASCII text, where LIKE's
    /// ASCII-only case folding agrees with the index's.
    Like(String),
    /// SQLite, dense matches of a text beyond ASCII: the index's own
    /// folding, with this FTS query (columns and phrase).
    Fts(String),
}

#[derive(FromQueryResult)]
struct Rowid {
    rowid: i64,
}

impl PreparedSearch {
    /// The search this was made ready for.
    pub fn search(&self) -> &Search {
        &self.search
    }

    pub async fn prepare(db: &impl ConnectionTrait, search: Search) -> Result<Self, StoreError> {
        let inside = match search.substring() {
            None => Inside::Nothing,
            Some(text) => match db.get_database_backend() {
                DatabaseBackend::Sqlite => sqlite_inside(db, &search, text).await?,
                _ => Inside::Like(text.to_owned()),
            },
        };
        Ok(Self { search, inside })
    }

    /// Every contact the search finds, whatever its rank. Each part is a
    /// range or a list an index answers, so SQLite can join their rows
    /// (its "multi-index OR") instead of testing every row.
    pub fn matches(&self) -> Condition {
        // Never empty: an empty OR would match every row.
        let mut any = Condition::any().add(Expr::cust("1 = 0"));
        if let Some(prefix) = self.name_prefix() {
            any = any.add(prefix);
        }
        if let Some(exact) = self.exact_identity() {
            any = any.add(exact);
        }
        if let Some(inside) = self.inside() {
            any = any.add(inside);
        }
        if let Some(prefix) = self.search.email_prefix() {
            any = any.add(prefix_range(contact::Column::Email, prefix));
        }
        for prefix in self.search.phone_prefixes() {
            any = any.add(prefix_range(contact::Column::MobilePhone, prefix));
        }
        any
    }

    /// The contacts of one rank, in parts to be asked apart (none when the
    /// rank is empty for this search); each leaves out the ranks above.
    /// The rest come in two parts, text inside names and companies, and
    /// email and phone beginnings, so that walking the name index tests
    /// only what that index holds (on SQLite it holds the company too, and
    /// a row is read from the table only once it matches).
    pub fn ranked(&self, rank: Rank) -> Vec<Condition> {
        let parts: Vec<Condition> = match rank {
            Rank::ExactIdentity => return self.exact_identity().into_iter().collect(),
            Rank::NamePrefix => self.name_prefix().into_iter().collect(),
            Rank::Other => {
                let mut beginnings = Condition::any();
                let mut any_beginning = false;
                if let Some(prefix) = self.search.email_prefix() {
                    beginnings = beginnings.add(prefix_range(contact::Column::Email, prefix));
                    any_beginning = true;
                }
                for prefix in self.search.phone_prefixes() {
                    beginnings = beginnings.add(prefix_range(contact::Column::MobilePhone, prefix));
                    any_beginning = true;
                }
                self.inside()
                    .into_iter()
                    .chain(any_beginning.then_some(beginnings))
                    .map(|part| match self.name_prefix() {
                        Some(prefix) => Condition::all().add(part).add(prefix.not()),
                        None => part,
                    })
                    .collect()
            }
        };
        parts
            .into_iter()
            .map(|part| match self.exact_identity() {
                Some(exact) => Condition::all().add(part).add(exact.not()),
                None => part,
            })
            .collect()
    }

    /// Null-safe, so that its negation keeps contacts without an email or
    /// phone (`NOT (NULL = 'x')` is NULL, which no WHERE keeps).
    fn exact_identity(&self) -> Option<Condition> {
        let mut any = Condition::any();
        let mut some = false;
        for (column, value) in [
            (contact::Column::Email, self.search.exact_email()),
            (contact::Column::MobilePhone, self.search.exact_phone()),
        ] {
            if let Some(value) = value {
                some = true;
                any = any.add(
                    Condition::all()
                        .add(column.is_not_null())
                        .add(column.eq(value)),
                );
            }
        }
        some.then_some(any)
    }

    fn name_prefix(&self) -> Option<Condition> {
        self.search
            .names()
            .then(|| prefix_range(contact::Column::SortName, self.search.text()))
    }

    fn inside(&self) -> Option<Condition> {
        match &self.inside {
            Inside::Nothing => None,
            Inside::Ids(ids) if ids.is_empty() => None,
            Inside::Ids(ids) => Some(Condition::all().add(contact::Column::Id.is_in(ids.clone()))),
            Inside::Like(text) => {
                let mut any = Condition::any();
                if self.search.names() {
                    any = any.add(contact::Column::SortName.like(contains_pattern(text)));
                }
                if self.search.companies() {
                    any = any.add(lower_company().like(contains_pattern(text)));
                }
                Some(any)
            }
            Inside::Fts(query) => Some(Condition::all().add(Expr::cust_with_values(
                "\"contacts\".\"id\" IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?)",
                [query.clone()],
            ))),
        }
    }
}

async fn sqlite_inside(
    db: &impl ConnectionTrait,
    search: &Search,
    text: &str,
) -> Result<Inside, StoreError> {
    let query = fts_query(search, text);
    let rows = Rowid::find_by_statement(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?",
        [query.clone().into(), ((FEW_MATCHES + 1) as i64).into()],
    ))
    .all(db)
    .await?;
    if rows.len() <= FEW_MATCHES {
        return Ok(Inside::Ids(rows.into_iter().map(|r| r.rowid).collect()));
    }
    Ok(if text.is_ascii() {
        Inside::Like(text.to_owned())
    } else {
        Inside::Fts(query)
    })
}

/// The text as one FTS5 phrase in the columns searched: with the trigram
/// tokenizer, a phrase of three or more characters matches wherever it
/// occurs inside a value.
fn fts_query(search: &Search, text: &str) -> String {
    let columns = match (search.names(), search.companies()) {
        (true, false) => "sort_name",
        (false, true) => "company",
        _ => "sort_name company",
    };
    format!("{{{columns}}} : \"{}\"", text.replace('"', "\"\""))
}

fn lower_company() -> SimpleExpr {
    Func::lower(Expr::col((contact::Entity, contact::Column::Company))).into()
}

fn prefix_range(column: contact::Column, prefix: &str) -> Condition {
    Condition::all()
        .add(column.gte(prefix))
        .add(column.lt(format!("{prefix}{PAST_EVERY_CHAR}")))
}

/// `%term%` with LIKE's own wildcards escaped, so a search for "50%" means it.
fn contains_pattern(term: &str) -> LikeExpr {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}
