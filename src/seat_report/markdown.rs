//! The report in Markdown, for a pull-request comment: a summary table with a text
//! bar per product, then reclaim candidates, expiring pools and time-bound grants,
//! with the holders and the history of each product folded away. Table cells are
//! escaped so a name with `|` or `<` cannot break the table.

use std::fmt::Write;

use super::{ProductUsage, SeatReport};
use crate::time::format_date;

/// The text bar's width, in characters.
const BAR: usize = 10;

/// The comment.
pub(super) fn render(report: &SeatReport) -> String {
    let mut out = String::new();
    let account = if report.account_name.is_empty() {
        report.account.clone()
    } else {
        format!("{} ({})", report.account_name, report.account)
    };
    let _ = writeln!(out, "### Seat usage: {}\n", cell(&account));
    let totals = &report.totals;
    let _ = writeln!(
        out,
        "{} of {} seats used, {} free, {} held by reclaim candidates (`{}`, revision {}, as of {}).\n",
        totals.used,
        totals.seats,
        totals.free,
        totals.reclaimable,
        cell(&report.backend),
        report.revision,
        report.as_of
    );
    if report.products.is_empty() {
        out.push_str("The account has no agreement product and no team pool.\n");
        return out;
    }
    out.push_str("| Product | Agreement or team | Used | Seats | Free | Usage | Reclaim |\n");
    out.push_str("|---|---|--:|--:|--:|---|--:|\n");
    for product in &report.products {
        let seats = product
            .seats
            .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
        let free = match (product.free, product.over) {
            (_, over) if over > 0 => format!("**{over} over**"),
            (Some(free), _) => free.to_string(),
            (None, _) => "unlimited".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {seats} | {free} | `{}` | {} |",
            cell(&product.product),
            cell(&product.owner_label()),
            product.used,
            bar(product),
            product.reclaim.len()
        );
    }
    reclaim(&mut out, report);
    expiring(&mut out, report);
    time_bound(&mut out, report);
    details(&mut out, report);
    out
}

/// `███████░░░`: the share of seats used, in `BAR` characters.
fn bar(product: &ProductUsage) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )] // a share between 0 and 1 times 10
    let filled = (product.share() * BAR as f64).round() as usize;
    "█".repeat(filled) + &"░".repeat(BAR - filled.min(BAR))
}

fn reclaim(out: &mut String, report: &SeatReport) {
    out.push_str("\n#### Reclaim candidates\n\n");
    let rows: Vec<_> = report.reclaim_rows().collect();
    if rows.is_empty() {
        out.push_str("No seat is held by an inactive member or by someone on no project.\n");
        return;
    }
    out.push_str("| Email | Product | Agreement or team | Why |\n|---|---|---|---|\n");
    for (product, candidate) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&candidate.email),
            cell(&product.product),
            cell(&product.owner_label()),
            candidate.reason.describe()
        );
    }
}

fn expiring(out: &mut String, report: &SeatReport) {
    out.push_str("\n#### Expiring pools\n\n");
    if report.expiring.is_empty() {
        out.push_str("No team pool ends within 90 days.\n");
        return;
    }
    out.push_str(
        "| Product | Team | Ends | Days left | Within | Seats held |\n|---|---|---|--:|---|--:|\n",
    );
    for pool in &report.expiring {
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {} | {} days | {} |",
            cell(&pool.product),
            cell(&pool.team_name),
            cell(&pool.team),
            pool.ends,
            pool.days_left,
            pool.within_days,
            pool.used
        );
    }
}

fn time_bound(out: &mut String, report: &SeatReport) {
    out.push_str("\n#### Time-bound grants\n\n");
    if report.time_bound.is_empty() {
        out.push_str("No seat is of a pool with an end date.\n");
        return;
    }
    out.push_str("| Email | Product | Team | Ends | Days left |\n|---|---|---|---|--:|\n");
    for grant in &report.time_bound {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&grant.email),
            cell(&grant.product),
            cell(&grant.team),
            grant.ends,
            grant.days_left
        );
    }
}

fn details(out: &mut String, report: &SeatReport) {
    for product in &report.products {
        let _ = writeln!(
            out,
            "\n<details><summary>{}, {}: {} seats used</summary>\n",
            html(&product.product),
            html(&product.owner_label()),
            product.used_of()
        );
        if let Some(declared) = &product.declared {
            let _ = writeln!(out, "Declared: {}\n", cell(declared));
        }
        if !product.history.is_empty() {
            let trail: Vec<String> = product
                .history
                .iter()
                .map(|p| {
                    let seats = p
                        .seats
                        .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
                    format!(
                        "{} of {seats} (rev {}, {})",
                        p.used,
                        p.revision,
                        format_date(p.at)
                    )
                })
                .collect();
            let _ = writeln!(out, "Seats used over time: {}\n", trail.join(" → "));
        }
        if product.holders.is_empty() {
            out.push_str("Nobody holds a seat.\n");
        } else {
            out.push_str("| Email | Name | Status | Projects | How |");
            let declared = product.declared.is_some();
            out.push_str(if declared { " Declared |\n" } else { "\n" });
            out.push_str("|---|---|---|--:|---|");
            out.push_str(if declared { "---|\n" } else { "\n" });
            for holder in &product.holders {
                let _ = write!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    cell(&holder.email),
                    cell(holder.name.as_deref().unwrap_or("")),
                    holder.status,
                    holder.projects,
                    if holder.inherited {
                        "inherited"
                    } else {
                        "direct"
                    }
                );
                if let Some(at) = &holder.declared {
                    let _ = write!(out, " {} |", cell(at));
                }
                out.push('\n');
            }
        }
        out.push_str("\n</details>\n");
    }
}

/// A table cell: `|` escaped, HTML special characters written as entities, line
/// breaks as spaces.
fn cell(text: &str) -> String {
    html(text).replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn html(text: &str) -> String {
    super::html::escape(text)
}
