//! One-time set-up of a database and its roles with an administrative connection.
//! Used by the embedded cluster, by tests and by operators (`tessera db bootstrap`).

use sqlx::{Connection, PgConnection};

use super::{RoleNames, quote_ident};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("database error during bootstrap: {0}")]
    Db(#[from] sqlx::Error),
    #[error("invalid database name {0:?}")]
    InvalidName(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Creates (idempotently) the three roles and the database, owned by the migrator.
/// `passwords` are (migrator, app); `None` leaves authentication to the cluster's rules.
pub async fn bootstrap_database(
    admin: &mut PgConnection,
    database: &str,
    roles: &RoleNames,
    passwords: Option<(&str, &str)>,
) -> Result<(), BootstrapError> {
    if !valid_name(database) {
        return Err(BootstrapError::InvalidName(database.to_owned()));
    }
    let (mig_pw, app_pw) = match passwords {
        Some((m, a)) => (
            format!(" PASSWORD {}", sql_literal(m)),
            format!(" PASSWORD {}", sql_literal(a)),
        ),
        None => (String::new(), String::new()),
    };
    let role_sql = [
        (
            &roles.migrator,
            format!("LOGIN CREATEROLE NOBYPASSRLS NOSUPERUSER{mig_pw}"),
        ),
        // NOINHERIT: the app role holds every tenant role, but gains a tenant's privileges
        // only after SET ROLE inside that tenant's transaction.
        (
            &roles.app,
            format!("LOGIN NOINHERIT NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE{app_pw}"),
        ),
        (
            &roles.tenant_group,
            "NOLOGIN NOINHERIT NOBYPASSRLS NOSUPERUSER".to_owned(),
        ),
    ];
    for (name, attrs) in role_sql {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(name.as_str())
                .fetch_one(&mut *admin)
                .await?;
        let verb = if exists { "ALTER" } else { "CREATE" };
        sqlx::raw_sql(&format!("{verb} ROLE {} {attrs}", quote_ident(name)))
            .execute(&mut *admin)
            .await?;
    }
    // The migrator creates tenant roles and hands them to the app role and the group.
    sqlx::raw_sql(&format!(
        "GRANT {} TO {} WITH ADMIN OPTION",
        quote_ident(&roles.tenant_group),
        quote_ident(&roles.migrator)
    ))
    .execute(&mut *admin)
    .await?;

    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut *admin)
            .await?;
    if !exists {
        sqlx::raw_sql(&format!(
            "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0",
            quote_ident(database),
            quote_ident(&roles.migrator)
        ))
        .execute(&mut *admin)
        .await?;
    }
    sqlx::raw_sql(&format!(
        "REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT ON DATABASE {db} TO {app}",
        db = quote_ident(database),
        app = quote_ident(&roles.app)
    ))
    .execute(&mut *admin)
    .await?;
    Ok(())
}

/// Drops a database and every role of the prefix (tenant roles included). Tests use it to
/// clean up; it refuses nothing, so it is never reachable from the server.
pub async fn drop_database(
    admin: &mut PgConnection,
    database: &str,
    roles: &RoleNames,
) -> Result<(), BootstrapError> {
    if !valid_name(database) {
        return Err(BootstrapError::InvalidName(database.to_owned()));
    }
    sqlx::raw_sql(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(database)
    ))
    .execute(&mut *admin)
    .await?;
    let tenant_roles: Vec<String> =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1")
            .bind(roles.tenant_role_pattern())
            .fetch_all(&mut *admin)
            .await?;
    for name in tenant_roles
        .iter()
        .chain([&roles.app, &roles.tenant_group, &roles.migrator])
    {
        sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {}", quote_ident(name)))
            .execute(&mut *admin)
            .await?;
    }
    Ok(())
}

/// Opens an administrative connection (used by CLI `db bootstrap` and tests).
pub async fn admin_connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(url).await
}
