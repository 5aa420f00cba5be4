use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub file_name: String,
    pub dry_run: bool,
    /// JSON: `[[header, field], ...]`, the caller's explicit mapping.
    pub mapping: String,
    pub region: String,
    pub status: String,
    /// JSON: the file's delimiter and header row, once read.
    pub layout: Option<String>,
    pub bytes_total: i64,
    pub bytes_done: i64,
    pub next_line: i64,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// Failed rows counted in `failed` but not kept in `import_job_errors`.
    pub errors_omitted: i64,
    pub error: Option<String>,
    pub attempts: i32,
    pub claimed_until: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
