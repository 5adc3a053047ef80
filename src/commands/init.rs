//! `accord init [DIR]`: a small valid configuration to start from, with the schema
//! line an editor needs to check each file as it is typed.

use std::path::{Path, PathBuf};

use super::Finished;
use crate::cli::InitArgs;
use crate::config::schema::SCHEMA_ID;
use crate::error::{Error, Result, exit};

/// The file `init` writes.
pub const FILE: &str = "accord.yaml";

/// Writes `DIR/accord.yaml` (never over an existing file without `--force`) and says
/// what to do next.
///
/// # Errors
/// The file exists (without `--force`), or the directory cannot be written.
pub fn run(args: &InitArgs) -> Result<Finished> {
    let path = args.dir.join(FILE);
    if path.exists() && !args.force {
        return Err(Error::Refusal(format!(
            "{} already exists: nothing was written; use --force to overwrite it",
            path.display()
        )));
    }
    std::fs::create_dir_all(&args.dir).map_err(|source| Error::Io {
        action: "cannot create",
        path: args.dir.clone(),
        source,
    })?;
    let text = configuration(&schema_reference(&args.dir), args);
    std::fs::write(&path, text).map_err(|source| Error::Io {
        action: "cannot write",
        path: path.clone(),
        source,
    })?;
    println!(
        "wrote {}\nnext: edit it, then `accord validate {}` and `accord plan {}`",
        path.display(),
        args.dir.display(),
        args.dir.display()
    );
    Ok(Finished::with(exit::OK))
}

/// Where the schema line points: the repository's own schema when `dir` is inside a
/// checkout that has one (a relative path, so it works offline and follows the
/// checkout's version), the published schema otherwise.
pub(crate) fn schema_reference(dir: &Path) -> String {
    let Ok(absolute) = std::path::absolute(dir) else {
        return SCHEMA_ID.to_owned();
    };
    let mut up = PathBuf::new();
    for ancestor in absolute.ancestors() {
        if ancestor.join("schemas/accord.schema.json").is_file() {
            return up.join("schemas/accord.schema.json").display().to_string();
        }
        up.push("..");
    }
    SCHEMA_ID.to_owned()
}

fn configuration(schema: &str, args: &InitArgs) -> String {
    // Quoted as JSON strings (valid YAML), so a name with `:` or `,` stays one value.
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let (id, name, admin) = (
        quote(&args.account_id),
        quote(&args.account_name),
        quote(&args.admin),
    );
    format!(
        "# yaml-language-server: $schema={schema}
#
# An accord configuration: the account as code. Split it over as many *.yaml files
# as you like (lists merge across files). `accord validate` checks it, `accord plan`
# shows what would change in the live account, `accord apply` makes the change.

account: {{ id: {id}, name: {name} }}   # the id must match the backend's account

settings:
  prune: false          # true: remove live members this configuration does not declare
  max_removals: 5       # R13: refuse a plan that removes more members than this
  protected: [{admin}]  # R12: never removed, deactivated or changed

companies:
  - {{ name: {name}, trade: Architecture }}

roles:
  - {{ name: BIM Manager, default_access: [account_admin] }}
  - {{ name: Architect }}

members:
  - {{ email: {admin}, company: {name}, role: BIM Manager }}   # R10: an admin remains

# agreements:   # classic subscriptions: contract number, seats per product, who holds them
# teams:        # named-user subscriptions (`accord teams` lists them on the vendor)
# projects:     # projects and their members
"
    )
}
